import { EventEmitter } from 'node:events'
import type { CookieSerializeOptions } from '@fastify/cookie'
import type { FastifyRequest } from 'fastify'
import { parseDuration } from './duration.js'
import { InvalidOptionError } from './errors.js'
import { deriveRememberKey } from './remember-token.js'
import type {
  AnonymousUser,
  FastifyLoginOptions,
  LoginMessage,
  LoginUser,
  RememberMeOptions,
  SessionOptions,
  SessionProtection,
  UnauthorizedHandler
} from './types.js'

/** Remember-me settings after validation. */
export interface RememberSettings {
  cookieName: string
  duration: number
  refreshEachRequest: boolean
  keys: Buffer[]
  cookie: CookieSerializeOptions
}

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
  /** The session cookie's name, for the test helper. */
  sessionCookieName: string
  remember: RememberSettings | null
  sessionProtection: SessionProtection
  keepSessionKeys: string[]
  autoLoadUser: boolean
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
  events: EventEmitter
}

export const DEFAULT_LOGIN_MESSAGE = 'Please log in to access this page.'
export const DEFAULT_REFRESH_MESSAGE = 'Please reauthenticate to access this page.'
const DEFAULT_REMEMBER_SECONDS = 365 * 86400
const MIN_SECRET_BYTES = 32
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

function fail (message: string): never {
  throw new InvalidOptionError(message)
}

function optionalFunction<T> (value: T | undefined, name: string): T | undefined {
  if (value !== undefined && typeof value !== 'function') fail(`${name} must be a function`)
  return value
}

function optionalString (value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string' || value === '') fail(`${name} must be a non-empty string`)
  return value
}

function boolOption (value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') fail(`${name} must be a boolean`)
  return value
}

function messageOption (value: unknown, name: string, fallback: string): LoginMessage | false {
  if (value === undefined) return fallback
  if (value === false || typeof value === 'function' || typeof value === 'string') return value as LoginMessage | false
  fail(`${name} must be a string, a function or false`)
}

/**
 * A login or refresh page URL: a path (not `//host`) or an http(s) URL. It
 * ends up in a Location header, so control characters and spaces are refused
 * here rather than failing every redirect later; non-ASCII characters are
 * percent-encoded.
 */
export function redirectUrlOption (value: unknown, name: string): string {
  if (typeof value !== 'string' || value === '') fail(`${name} must be a non-empty string`)
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0020\u007f\\]/.test(value)) fail(`${name} must not contain spaces, control characters or backslashes`)
  if (!(value.startsWith('/') && !value.startsWith('//')) && !/^https?:\/\/[^/]/i.test(value)) {
    fail(`${name} must be a path starting with / or an http(s) URL`)
  }
  if (!value.startsWith('/') && !URL.canParse(value)) fail(`${name} is not a valid URL`)
  return value.replace(/[^\u0020-\u007e]+/g, encodeURIComponent)
}

function urlOption (value: unknown, name: string): string | undefined {
  return value === undefined ? undefined : redirectUrlOption(value, name)
}

function cookieNameOption (value: unknown, name: string, fallback: string): string {
  const cookieName = optionalString(value, name) ?? fallback
  if (!COOKIE_NAME.test(cookieName)) fail(`${name} is not a valid cookie name`)
  return cookieName
}

/** Validated duration in seconds; `name` goes into the error message. */
export function durationOption (value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback
  const seconds = parseDuration(value)
  if (seconds === undefined) fail(`${name} must be a positive whole number of seconds or a string like '30d', at most 100 years`)
  return seconds
}

function secretBytes (value: unknown, name: string): Buffer {
  const bytes = Buffer.isBuffer(value) ? value : typeof value === 'string' ? Buffer.from(value) : fail(`${name} must be a string or a Buffer`)
  if (bytes.length < MIN_SECRET_BYTES) fail(`${name} must be at least ${MIN_SECRET_BYTES} bytes`)
  return bytes
}

/**
 * The secret material of the session options, used to derive the remember
 * cookie's key when the app gives none: every session key (so rotating the
 * session keys rotates the remember keys too), or the secret plus salt.
 */
function sessionSecrets (session: SessionOptions): Buffer[] {
  if (session === null || typeof session !== 'object' || Array.isArray(session)) fail('session must be an object, or false')
  if (session.key !== undefined) {
    const keys = Array.isArray(session.key) ? session.key : [session.key]
    if (keys.length === 0) fail('session.key must not be an empty array')
    return keys.map((key, i) => {
      const bytes = typeof key === 'string' ? Buffer.from(key, 'base64') : Buffer.isBuffer(key) ? key : fail(`session.key[${i}] must be a string or a Buffer`)
      if (bytes.length !== 32) fail('session.key must be 32 bytes (a Buffer, or 44 characters of base64); `npx @fastify/secure-session > key` makes one')
      return bytes
    })
  }
  if (session.secret !== undefined) {
    // Without a salt, secure-session would stretch every app's secret with
    // the same built-in salt; a salt of the app's own is required instead.
    const salt = typeof session.salt === 'string' || Buffer.isBuffer(session.salt) ? Buffer.from(session.salt) : undefined
    if (salt?.length !== 16) fail('session.salt (16 bytes) is required with session.secret')
    return [Buffer.concat([secretBytes(session.secret, 'session.secret'), salt])]
  }
  fail('session needs a key (32 bytes) or a secret (32+ bytes)')
}

function rememberSettings (options: RememberMeOptions | false | undefined, session: SessionOptions | undefined): RememberSettings | null {
  if (options === false) return null
  if (options !== undefined && (options === null || typeof options !== 'object' || Array.isArray(options))) fail('rememberMe must be an object or false')
  const remember = options ?? {}

  let material: Buffer[]
  if (remember.key !== undefined) {
    const keys = Array.isArray(remember.key) ? remember.key : [remember.key]
    if (keys.length === 0) fail('rememberMe.key must not be an empty array')
    material = keys.map((key, i) => secretBytes(key, `rememberMe.key[${i}]`))
  } else if (session !== undefined) {
    material = sessionSecrets(session)
  } else {
    fail('rememberMe.key is required when the app registers @fastify/secure-session itself (or set rememberMe: false)')
  }

  const sameSite = remember.sameSite ?? 'lax'
  if (!['lax', 'strict', 'none'].includes(sameSite)) fail("rememberMe.sameSite must be 'lax', 'strict' or 'none'")
  const secure = boolOption(remember.secure, 'rememberMe.secure', true)
  if (sameSite === 'none' && !secure) fail("rememberMe.sameSite 'none' needs rememberMe.secure")

  return {
    cookieName: cookieNameOption(remember.cookieName, 'rememberMe.cookieName', 'remember_token'),
    duration: durationOption(remember.duration, 'rememberMe.duration', DEFAULT_REMEMBER_SECONDS),
    refreshEachRequest: boolOption(remember.refreshEachRequest, 'rememberMe.refreshEachRequest', false),
    keys: material.map(deriveRememberKey),
    cookie: {
      path: optionalString(remember.path, 'rememberMe.path') ?? '/',
      domain: optionalString(remember.domain, 'rememberMe.domain'),
      secure,
      httpOnly: true,
      sameSite
    }
  }
}

/** Validates the options; throws FST_LOGIN_INVALID_OPTION on the first problem. */
export function buildSettings (options: FastifyLoginOptions): Settings {
  if (options === null || typeof options !== 'object') fail('options must be an object')
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
  const keep = options.keepSessionKeys ?? []
  if (!Array.isArray(keep) || !keep.every((key) => typeof key === 'string')) fail('keepSessionKeys must be an array of strings')
  const anonymousUser = optionalFunction(options.anonymousUser, 'anonymousUser') ?? (() => null as AnonymousUser)

  return {
    loadUser: loadUser as Settings['loadUser'],
    loadUserFromRequest: loadUserFromRequest as Settings['loadUserFromRequest'],
    getUserId: optionalFunction(options.getUserId, 'getUserId') ?? ((user) => String((user as { id?: unknown }).id ?? '')),
    isUserActive: optionalFunction(options.isUserActive, 'isUserActive') ?? ((user) => (user as { isActive?: unknown }).isActive !== false),
    anonymousUser,
    sessionEnabled: options.session !== false,
    sessionName: optionalString(options.sessionName, 'sessionName') ?? 'session',
    sessionCookieName: (options.session === false ? undefined : options.session?.cookieName) ?? optionalString(options.sessionCookieName, 'sessionCookieName') ?? 'session',
    // Remember-me is on by default only when a user loader can restore logins from it.
    remember: (loadUser === undefined || options.session === false) && options.rememberMe === undefined
      ? null
      // (rememberMe with `session: false` was refused above)
      : rememberSettings(options.rememberMe, options.session as SessionOptions | undefined),
    sessionProtection: protection,
    keepSessionKeys: keep,
    autoLoadUser: boolOption(options.autoLoadUser, 'autoLoadUser', true),
    loginUrl: urlOption(options.loginUrl, 'loginUrl'),
    refreshUrl: urlOption(options.refreshUrl, 'refreshUrl'),
    useSessionForNext: boolOption(options.useSessionForNext, 'useSessionForNext', false),
    nextParam: optionalString(options.nextParam, 'nextParam') ?? 'next',
    unauthorized: optionalFunction(options.unauthorized, 'unauthorized'),
    needsRefresh: optionalFunction(options.needsRefresh, 'needsRefresh'),
    loginMessage: messageOption(options.loginMessage, 'loginMessage', DEFAULT_LOGIN_MESSAGE),
    loginMessageCategory: optionalString(options.loginMessageCategory, 'loginMessageCategory') ?? 'message',
    refreshMessage: messageOption(options.refreshMessage, 'refreshMessage', DEFAULT_REFRESH_MESSAGE),
    refreshMessageCategory: optionalString(options.refreshMessageCategory, 'refreshMessageCategory') ?? 'message',
    events: new EventEmitter()
  }
}

/** The options to give @fastify/secure-session, with this plugin's secure cookie defaults. */
export function secureSessionOptions (session: SessionOptions, sessionName: string): Record<string, unknown> {
  sessionSecrets(session) // validates key / secret early, with our error messages
  if (session.cookie !== undefined && (session.cookie === null || typeof session.cookie !== 'object' || Array.isArray(session.cookie))) {
    fail('session.cookie must be an object of cookie attributes')
  }
  const expiry = durationOption(session.expiry, 'session.expiry', 86400)
  const base = session.key !== undefined ? { key: session.key } : { secret: session.secret, salt: session.salt }
  return {
    ...base,
    sessionName,
    cookieName: cookieNameOption(session.cookieName, 'session.cookieName', 'session'),
    expiry,
    cookie: { path: '/', httpOnly: true, sameSite: 'lax', secure: true, ...session.cookie }
  }
}
