import { createHmac, hash, randomBytes } from 'node:crypto'
import type { FastifyBaseLogger, FastifyError, FastifyRequest } from 'fastify'
import type { LoginEventMap, LoginEventName, SessionEndedEvent } from '../types/index.js'

/*
 * The security log: logins, logouts, ended sessions and refusals, at debug
 * level through the request's logger (so each line carries Fastify's reqId),
 * written from two places: every event the plugin emits (events.ts calls
 * logEvent, listeners or not), and every refusal thrown as one of our errors
 * (the onError hook below). A line holds user ids, reasons and error codes,
 * never a credential: no token, cookie, password or session id. Where a
 * line needs to name a session or an account it carries a reference (a
 * hash prefix) instead. A session's is the SHA-256 of its public id, which
 * can be computed to find its lines; an account's is keyed (see below).
 */

/** The id of an event's user, or undefined for an anonymous value (or an id rule that throws for it). */
export type UserIdOf = (user: unknown) => string | undefined

/** `getUserId` made safe for anything an event may carry. */
export function userIdReader (getUserId: (user: never) => string): UserIdOf {
  return (user) => {
    if (user === null || typeof user !== 'object') return undefined
    try {
      const id = getUserId(user as never)
      return typeof id === 'string' && id !== '' ? id : undefined
    } catch {
      return undefined
    }
  }
}

/** A short reference to `value`: the first 12 hex digits of its SHA-256. */
export function reference (value: string): string {
  return hash('sha256', value, 'hex').slice(0, 12)
}

// What is typed as a username is sometimes the password. A plain hash of it (48 bits of an unsalted SHA-256)
// would let anyone who reads the log test password guesses offline, fast; an HMAC under a key that lives only
// in this process's memory cannot be tested without the key. The price: an account's reference is the same on
// every line of one process run, not across processes or restarts, and cannot be computed from a username.
const ACCOUNT_KEY = randomBytes(32)

/** The reference of a username as the throttle counts it (NFKC, lower case, trimmed): keyed, so a password typed as the name stays out of the log. */
export function accountReference (username: string): string {
  const account = username.slice(0, 1024).normalize('NFKC').toLowerCase().trim()
  return createHmac('sha256', ACCOUNT_KEY).update(account).digest('hex').slice(0, 12)
}

// Refusals already logged from their event, so that the error thrown after it is not logged twice.
const refusalLogged = new WeakSet<FastifyRequest>()

const MESSAGES: Record<LoginEventName, string> = {
  userLoggedIn: 'fastify-login: user logged in',
  userLoggedOut: 'fastify-login: user logged out',
  userLoadedFromCookie: 'fastify-login: user logged in from the remember-me cookie',
  userLoadedFromRequest: 'fastify-login: user loaded from the request',
  userLoginConfirmed: 'fastify-login: login confirmed',
  userUnauthorized: 'fastify-login: request refused',
  userNeedsRefresh: 'fastify-login: request refused',
  sessionProtected: 'fastify-login: session protection acted',
  tokenRefreshed: 'fastify-login: access token refreshed',
  sessionEnded: 'fastify-login: session ended',
  rememberTokenReused: 'fastify-login: request refused',
  refreshTokenReused: 'fastify-login: request refused',
  loginFailed: 'fastify-login: login failed',
  loginThrottled: 'fastify-login: request refused'
}

const REFUSAL_REASONS: Partial<Record<LoginEventName, string>> = {
  userUnauthorized: 'unauthorized',
  userNeedsRefresh: 'not fresh',
  rememberTokenReused: 'remember-me token reused',
  refreshTokenReused: 'refresh token reused',
  loginThrottled: 'throttled'
}

function isEnabled (log: FastifyBaseLogger): boolean {
  // pino's isLevelEnabled spares building the fields; a logger without it decides for itself.
  const check = (log as { isLevelEnabled?: (level: string) => boolean }).isLevelEnabled
  return typeof check !== 'function' || check.call(log, 'debug')
}

/** The fields of event `name`: who, how, why; never the request or the user object. */
function fieldsOf<K extends LoginEventName> (name: K, payload: LoginEventMap[K], userIdOf: UserIdOf): Record<string, unknown> {
  const fields: Record<string, unknown> = { event: name, via: payload.via }
  const reason = REFUSAL_REASONS[name]
  if (reason !== undefined) fields.reason = reason
  if ('userId' in payload) fields.userId = payload.userId
  else if ('user' in payload) fields.userId = userIdOf(payload.user)
  if ('username' in payload) fields.accountRef = accountReference(payload.username as string)
  if (name === 'loginThrottled') {
    const throttled = payload as LoginEventMap['loginThrottled']
    fields.limit = throttled.limit
    fields.retryAfter = throttled.retryAfter
  }
  if (name === 'sessionEnded') {
    const ended = payload as SessionEndedEvent
    fields.reason = ended.reason
    if (ended.session !== null) fields.sessionRef = reference(ended.session.id)
  }
  return fields
}

/** Logs event `name` at debug level, on `log` (the request's logger, or the app's when there is no request). */
export function logEvent<K extends LoginEventName> (name: K, payload: LoginEventMap[K], log: FastifyBaseLogger, userIdOf: UserIdOf): void {
  if (!isEnabled(log)) return
  const request = (payload as { request: FastifyRequest | null }).request
  if (request !== null && REFUSAL_REASONS[name] !== undefined) refusalLogged.add(request)
  log.debug(fieldsOf(name, payload, userIdOf), MESSAGES[name])
}

/** Logs a refusal that no event reports (a remember-me cookie that does not open, a session gone from the store). */
export function logRefusal (request: FastifyRequest, reason: string, fields: Record<string, unknown> = {}): void {
  if (!isEnabled(request.log)) return
  request.log.debug({ ...fields, reason }, 'fastify-login: login refused')
}

const ERROR_REASONS: Record<string, string> = {
  FST_LOGIN_UNAUTHORIZED: 'unauthorized',
  FST_LOGIN_FRESH_REQUIRED: 'not fresh',
  FST_LOGIN_THROTTLED: 'throttled',
  FST_LOGIN_STORE_UNAVAILABLE: 'store unavailable',
  FST_LOGIN_JWT_NO_TOKEN: 'no token',
  FST_LOGIN_JWT_MALFORMED: 'malformed authorization header',
  FST_LOGIN_JWT_WRONG_SCHEME: 'wrong authorization scheme',
  FST_LOGIN_JWT_INVALID: 'token invalid',
  FST_LOGIN_JWT_EXPIRED: 'token expired',
  FST_LOGIN_JWT_NOT_YET_VALID: 'token not yet valid',
  FST_LOGIN_JWT_UNKNOWN_KEY: 'token signed with an unknown key',
  FST_LOGIN_JWT_WRONG_TYPE: 'wrong token type',
  FST_LOGIN_JWT_REVOKED: 'token revoked',
  FST_LOGIN_JWT_USER_NOT_FOUND: 'token user not found or inactive',
  FST_LOGIN_JWT_CSRF: 'csrf check failed',
  FST_LOGIN_JWT_FRESH_REQUIRED: 'not fresh',
  FST_LOGIN_JWT_BAD_CREDENTIALS: 'bad credentials'
}

/**
 * The onError hook: a refusal the plugin threw (a JWT guard, a verify guard,
 * the token endpoint, a throttle, a failing store) is logged with its reason
 * and code, unless its event already logged it. Errors the app's
 * composition swallowed (@fastify/auth trying the next guard) never get here.
 */
export function logThrownRefusal (request: FastifyRequest, error: FastifyError): void {
  const code = error.code
  const reason = typeof code === 'string' ? ERROR_REASONS[code] : undefined
  if (reason === undefined || refusalLogged.has(request) || !isEnabled(request.log)) return
  request.log.debug({ reason, code, statusCode: error.statusCode }, 'fastify-login: request refused')
}
