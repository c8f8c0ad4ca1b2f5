import type { FastifyRequest } from 'fastify'
import { DURATION_MAX, durationOption } from './internal/duration.js'
import { createLoginEvents } from './internal/events.js'
import { userIdReader } from './internal/debug-log.js'
import { boolOption, fail, onlyKnownKeys, optionalFunction, optionalString } from './internal/option-checks.js'
import { rememberSettings, type RememberSettings } from './remember/options.js'
import { lifetimeSettings, type LifetimeSettings } from './session/lifetime.js'
import { keepSessionKeysOption } from './session/keep-keys.js'
import { sessionCookie } from './session/options.js'
import { throttleSettings, type ThrottleSettings } from './throttle/options.js'
import { userCacheOption, type UserCache } from './user/cache.js'
import type {
  AnonymousUser,
  FastifyLoginOptions,
  LoginEvents,
  LoginMessage,
  LoginUser,
  SessionOptions,
  SessionProtection,
  UnauthorizedHandler
} from './types/index.js'

export type { RememberSettings } from './remember/options.js'

/** Plugin options after validation and defaults: what the rest of the code reads. */
export interface Settings {
  loadUser: ((id: string, request: FastifyRequest) => unknown) | undefined
  loadUserFromRequest: ((request: FastifyRequest) => unknown) | undefined
  getUserId: (user: LoginUser) => string
  isUserActive: (user: LoginUser) => boolean
  anonymousUser: (request: FastifyRequest) => AnonymousUser
  /** False when `session: false`: JWT-only, no cookie session. */
  sessionEnabled: boolean
  sessionName: string
  /** The session cookie's name, for the test helper and the Cache-Control rule. */
  sessionCookieName: string
  remember: RememberSettings | null
  sessionProtection: SessionProtection
  keepSessionKeys: string[]
  autoLoadUser: boolean
  /** The app's public origin (`https://app.example`), when given. */
  origin: string | undefined
  /** The host of `origin` (`app.example:8443`), parsed once: absolute `next` values must name it. */
  originHost: string | undefined
  loginUrl: string | undefined
  refreshUrl: string | undefined
  useSessionForNext: boolean
  nextParam: string
  unauthorized: UnauthorizedHandler | undefined
  needsRefresh: UnauthorizedHandler | undefined
  loginMessage: LoginMessage | false
  loginMessageCategory: string
  refreshMessage: LoginMessage | false
  refreshMessageCategory: string
  events: LoginEvents
  /** Where sessions live and how long: store, timeouts, freshness, clock, authVersion. */
  lifetime: LifetimeSettings
  /** How long the session cookie itself lasts unchanged (`session.expiry`), in ms: a record's lifetime when no timeout is on. */
  cookieExpiryMs: number
  /** Login throttling (`loginThrottle`); null when turned off. Its counters live in `lifetime.stateStore`. */
  throttle: ThrottleSettings | null
  /** `loadUser` results kept in this process (`userCache`); null when off. */
  userCache: UserCache | null
}

export const DEFAULT_LOGIN_MESSAGE = 'Please log in to access this page.'
export const DEFAULT_REFRESH_MESSAGE = 'Please reauthenticate to access this page.'

// Fastify hands its own register options to the plugin too, but ignores them
// for a fastify-plugin plugin: a `prefix` would look applied and not be.
const FASTIFY_REGISTER_KEYS = ['prefix', 'logLevel', 'logSerializers'] as const
const TOP_LEVEL_KEYS = [
  'loadUser', 'loadUserFromRequest', 'getUserId', 'isUserActive', 'anonymousUser', 'session', 'sessionName',
  'sessionCookieName', 'rememberMe', 'sessionProtection', 'keepSessionKeys', 'autoLoadUser', 'origin', 'loginUrl',
  'refreshUrl', 'useSessionForNext', 'nextParam', 'unauthorized', 'needsRefresh', 'loginMessage',
  'loginMessageCategory', 'refreshMessage', 'refreshMessageCategory', 'jwt', 'store', 'idleTimeout',
  'absoluteTimeout', 'touchInterval', 'freshFor', 'clock', 'authVersion', 'loginThrottle', 'userCache',
  // Read by the plugin body (internal/registration.ts): it depends on the instance.
  'decorateIsAuthenticated'
] as const

function messageOption (value: unknown, name: string, fallback: string): LoginMessage | false {
  if (value === undefined) return fallback
  if (value === false || typeof value === 'function' || typeof value === 'string') return value as LoginMessage | false
  fail(`${name} must be a string, a function or false`)
}

/**
 * The app's public origin: `https://host[:port]`, nothing after it. Used to
 * build `next` for a login page on another origin, where the Host header
 * (which the client controls) must not decide what the link points to.
 */
function originOption (value: unknown): string | undefined {
  if (value === undefined) return undefined
  const text = typeof value === 'string' ? value : ''
  const url = URL.canParse(text) ? new URL(text) : undefined
  if (url === undefined || !/^https?:$/.test(url.protocol) || url.username !== '' || url.password !== '' ||
    url.search !== '' || url.hash !== '' || url.pathname !== '/' || /[?#]/.test(text)) {
    fail("origin must be the app's public origin, like 'https://app.example' (scheme, host and port, no path)")
  }
  return url.origin
}

/**
 * A login or refresh page URL: a path (not `//host`) or an http(s) URL. It
 * ends up in a Location header, so control characters and spaces are refused
 * here rather than failing every redirect later; non-ASCII characters are
 * percent-encoded. An absolute URL needs `origin` (see originOption).
 */
export function redirectUrlOption (value: unknown, name: string, origin: string | undefined): string {
  if (typeof value !== 'string' || value === '') fail(`${name} must be a non-empty string`)
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0020\u007f\\]/.test(value)) fail(`${name} must not contain spaces, control characters or backslashes`)
  if (!(value.startsWith('/') && !value.startsWith('//')) && !/^https?:\/\/[^/]/i.test(value)) {
    fail(`${name} must be a path starting with / or an http(s) URL`)
  }
  if (!value.startsWith('/')) {
    if (!URL.canParse(value)) fail(`${name} is not a valid URL`)
    if (origin === undefined) fail(`${name} is a full URL: give the \`origin\` option (the app's public origin, like 'https://app.example'), so that \`next\` is not built from the Host header`)
  }
  return value.replace(/[^\u0020-\u007e]+/g, encodeURIComponent)
}

function sessionCookieNameOf (options: FastifyLoginOptions): string {
  if (options.session === false) return 'session'
  if (options.session !== undefined) {
    if (options.sessionCookieName !== undefined) fail('sessionCookieName is only for a session the app registers itself; with `session`, set session.cookieName')
    return sessionCookie(options.session).name
  }
  // The app registered @fastify/secure-session itself: its cookie name, for the test helper.
  return optionalString(options.sessionCookieName, 'sessionCookieName') ?? 'session'
}

/** Validates the options; throws FST_LOGIN_INVALID_OPTION on the first problem. */
export function buildSettings (options: FastifyLoginOptions): Settings {
  if (options === null || typeof options !== 'object') fail('options must be an object')
  for (const key of FASTIFY_REGISTER_KEYS) {
    if (key in options) fail(`${key} does not apply: fastify-login adds its hooks and routes to the scope it is registered in; register it inside a scope that has the ${key} (for the JWT endpoints, jwt.authPath and friends set their paths)`)
  }
  onlyKnownKeys(options, TOP_LEVEL_KEYS, '')
  const loadUser = optionalFunction(options.loadUser, 'loadUser')
  const loadUserFromRequest = optionalFunction(options.loadUserFromRequest, 'loadUserFromRequest')
  if (loadUser === undefined && loadUserFromRequest === undefined && options.jwt?.loadUserFromClaims === undefined) {
    fail('give loadUser(id, request) or loadUserFromRequest(request): without a loader no user can be loaded')
  }
  if (options.rememberMe !== false && options.rememberMe !== undefined && loadUser === undefined) {
    fail('rememberMe needs loadUser')
  }
  if (options.rememberMe !== false && options.rememberMe !== undefined && options.session === false) {
    fail('rememberMe needs a session (session is false)')
  }
  const protection = options.sessionProtection ?? 'basic'
  if (protection !== 'basic' && protection !== 'strong' && protection !== false) {
    fail("sessionProtection must be 'basic', 'strong' or false")
  }
  const keep = keepSessionKeysOption(options.keepSessionKeys)
  const anonymousUser = optionalFunction(options.anonymousUser, 'anonymousUser') ?? (() => null as AnonymousUser)
  const origin = originOption(options.origin)
  const lifetime = lifetimeSettings(options)
  const useSessionForNext = boolOption(options.useSessionForNext, 'useSessionForNext', false)
  const getUserId = optionalFunction(options.getUserId, 'getUserId') ?? ((user: LoginUser) => String((user as { id?: unknown }).id ?? ''))
  if (useSessionForNext && options.session === false) fail('useSessionForNext needs a session (session is false)')

  return {
    loadUser: loadUser as Settings['loadUser'],
    loadUserFromRequest: loadUserFromRequest as Settings['loadUserFromRequest'],
    getUserId,
    isUserActive: optionalFunction(options.isUserActive, 'isUserActive') ?? ((user) => (user as { isActive?: unknown }).isActive !== false),
    anonymousUser,
    sessionEnabled: options.session !== false,
    sessionName: optionalString(options.sessionName, 'sessionName') ?? 'session',
    sessionCookieName: sessionCookieNameOf(options),
    // Remember-me is on by default only when a user loader can restore logins from it.
    remember: (loadUser === undefined || options.session === false) && options.rememberMe === undefined
      ? null
      // (rememberMe with `session: false` was refused above)
      : rememberSettings(options.rememberMe, options.session as SessionOptions | undefined, protection === 'strong', lifetime.clock),
    sessionProtection: protection,
    // The `next` stored for the login page must survive the rotation that the login does.
    keepSessionKeys: useSessionForNext ? [...keep, 'next'] : keep,
    autoLoadUser: boolOption(options.autoLoadUser, 'autoLoadUser', true),
    origin,
    originHost: origin === undefined ? undefined : new URL(origin).host,
    loginUrl: options.loginUrl === undefined ? undefined : redirectUrlOption(options.loginUrl, 'loginUrl', origin),
    refreshUrl: options.refreshUrl === undefined ? undefined : redirectUrlOption(options.refreshUrl, 'refreshUrl', origin),
    useSessionForNext,
    nextParam: optionalString(options.nextParam, 'nextParam') ?? 'next',
    unauthorized: optionalFunction(options.unauthorized, 'unauthorized'),
    needsRefresh: optionalFunction(options.needsRefresh, 'needsRefresh'),
    loginMessage: messageOption(options.loginMessage, 'loginMessage', DEFAULT_LOGIN_MESSAGE),
    loginMessageCategory: optionalString(options.loginMessageCategory, 'loginMessageCategory') ?? 'message',
    refreshMessage: messageOption(options.refreshMessage, 'refreshMessage', DEFAULT_REFRESH_MESSAGE),
    refreshMessageCategory: optionalString(options.refreshMessageCategory, 'refreshMessageCategory') ?? 'message',
    events: createLoginEvents(userIdReader(getUserId)),
    lifetime,
    cookieExpiryMs: durationOption(typeof options.session === 'object' ? options.session.expiry : undefined, 'session.expiry', 86400, DURATION_MAX.cookie) * 1000,
    throttle: throttleSettings(options.loginThrottle),
    userCache: userCacheOption(options.userCache, lifetime.clock)
  }
}
