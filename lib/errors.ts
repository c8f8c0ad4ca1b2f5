import createFastifyError, { type FastifyErrorConstructor } from '@fastify/error'
import type { JwtErrorCode } from './types/index.js'

/*
 * Every error of the plugin, one exported class per code (the layout of
 * fastify's own lib/errors.js): code, message template and status. Request-time
 * errors carry a 4xx `statusCode`, so Fastify (or @fastify/auth) answers them
 * in its usual error format; registration-time errors have none and stop
 * `fastify.ready()`. `%s` templates take the text given to the constructor,
 * so apps can replace it (see `messages` and `jwt.messages`).
 *
 * `err instanceof JwtExpiredError` is true for every error of that code, also
 * across copies of the package (two installed versions of it):
 * @fastify/error checks the code, not the constructor.
 */

/**
 * @fastify/error's `createError`, with the constructor's arguments typed
 * `unknown` instead of its default `any` (the published declarations hold no `any`).
 */
type Args = [unknown?, unknown?, unknown?]
function createError<C extends string, SC extends number> (code: C, message: string, statusCode: SC): FastifyErrorConstructor<{ code: C, statusCode: SC }, Args>
function createError<C extends string> (code: C, message: string): FastifyErrorConstructor<{ code: C }, Args>
function createError (code: string, message: string, statusCode?: number): FastifyErrorConstructor<{ code: string }, Args> {
  return createFastifyError<Args>(code, message, statusCode)
}

/** The route needs a logged-in user and the request has none. */
export const UnauthorizedError = createError('FST_LOGIN_UNAUTHORIZED', '%s', 401)

/** The route needs a fresh login and the current one was restored or went stale. */
export const FreshLoginRequiredError = createError('FST_LOGIN_FRESH_REQUIRED', '%s', 401)

/** A plugin option is missing or wrong; raised while the plugin registers. */
export const InvalidOptionError = createError('FST_LOGIN_INVALID_OPTION', 'fastify-login: %s')

/** `reply.login()` was given something the id rule cannot turn into an id. */
export const InvalidUserError = createError('FST_LOGIN_INVALID_USER', 'fastify-login: %s', 500)

/** A request reached the plugin's code without the session it relies on. */
export const NoSessionError = createError('FST_LOGIN_NO_SESSION', 'fastify-login: request.%s is missing; is @fastify/secure-session registered in this scope?', 500)

/** Session-only API (`reply.login()`, `logout()`, `confirmLogin()`) called in an app registered with `session: false`. */
export const SessionsDisabledError = createError('FST_LOGIN_SESSIONS_DISABLED', 'fastify-login: this needs a session, but the plugin was registered with `session: false`', 500)

/** A guard imported from 'fastify-login' ran on a route that does not see the plugin. */
export const NotRegisteredError = createError('FST_LOGIN_NOT_REGISTERED', 'fastify-login: %s guards a route in a scope where the plugin is not registered; register fastify-login in this scope or a parent of it', 500)

/**
 * fastify-login was registered a second time: on the same instance, or in a
 * scope under one that has it. Raised while the plugin registers, instead of
 * Fastify's FST_ERR_DEC_ALREADY_PRESENT about one of its decorators.
 */
export const AlreadyRegisteredError = createError('FST_LOGIN_ALREADY_REGISTERED', 'fastify-login: %s')

/** A JWT guard is used, but the plugin was registered without the `jwt` option. */
export const JwtDisabledError = createError('FST_LOGIN_JWT_DISABLED', 'fastify-login: %s needs the `jwt` option, and the plugin was registered without it', 500)

/**
 * The server-side store (Redis, a database) failed or did not answer in
 * time: the request is refused with a 503 and `Retry-After`, never let
 * through as a login and never as a crash. The store's own error is `cause`.
 * Stores may throw it themselves (RedisStore does while disconnected).
 */
export const StoreUnavailableError = createError('FST_LOGIN_STORE_UNAVAILABLE', 'fastify-login: the session store is unavailable (%s); try again shortly', 503)

/**
 * Too many failed logins for this account or from this address
 * (`loginThrottle`): a 429 with `Retry-After`, the same whether or not the
 * account exists.
 */
export const LoginThrottledError = createError('FST_LOGIN_THROTTLED', '%s', 429)

/*
 * The JWT refusals: 401s with a WWW-Authenticate challenge (lib/jwt/challenge.ts).
 * The message is the code's text of `jwt.messages`; the defaults are in
 * `jwtRefusals` below.
 */

/** No token in any configured location. */
export const JwtNoTokenError = createError('FST_LOGIN_JWT_NO_TOKEN', '%s', 401)
/** An Authorization header with our scheme that is not `<scheme> <token>`. */
export const JwtMalformedError = createError('FST_LOGIN_JWT_MALFORMED', '%s', 401)
/** Only an Authorization header of another scheme, and no token elsewhere. */
export const JwtWrongSchemeError = createError('FST_LOGIN_JWT_WRONG_SCHEME', '%s', 401)
/** Bad signature or algorithm, garbage, oversized, wrong `iss` / `aud`, missing claims. */
export const JwtInvalidError = createError('FST_LOGIN_JWT_INVALID', '%s', 401)
/** Past `exp` (+ leeway). */
export const JwtExpiredError = createError('FST_LOGIN_JWT_EXPIRED', '%s', 401)
/** Before `nbf` (− leeway), or `iat` in the future. */
export const JwtNotYetValidError = createError('FST_LOGIN_JWT_NOT_YET_VALID', '%s', 401)
/** A `kid` no configured key has. */
export const JwtUnknownKeyError = createError('FST_LOGIN_JWT_UNKNOWN_KEY', '%s', 401)
/** A refresh token where an access token is needed, or the reverse. */
export const JwtWrongTypeError = createError('FST_LOGIN_JWT_WRONG_TYPE', '%s', 401)
/** Revoked, or issued before the user's cut-off. */
export const JwtRevokedError = createError('FST_LOGIN_JWT_REVOKED', '%s', 401)
/** The token's user no longer exists or is inactive. */
export const JwtUserNotFoundError = createError('FST_LOGIN_JWT_USER_NOT_FOUND', '%s', 401)
/** A cookie token without the matching CSRF header. */
export const JwtCsrfError = createError('FST_LOGIN_JWT_CSRF', '%s', 401)
/** The route needs a fresh token (from the token endpoint, not a refresh). */
export const JwtFreshRequiredError = createError('FST_LOGIN_JWT_FRESH_REQUIRED', '%s', 401)
/** The token endpoint refused the credentials. */
export const JwtBadCredentialsError = createError('FST_LOGIN_JWT_BAD_CREDENTIALS', '%s', 401)

/** The token endpoint's body is not JSON. */
export const JwtUnsupportedMediaTypeError = createError('FST_LOGIN_JWT_UNSUPPORTED_MEDIA_TYPE', 'The token endpoint takes application/json', 415)
/** The token endpoint's body is not an object with the two string fields. */
export const JwtBadRequestError = createError('FST_LOGIN_JWT_BAD_REQUEST', 'Body must be a JSON object with the string fields %s and %s', 400)

/** A JWT refusal: its class, default message and the RFC 6750 `error` of its challenge (none: the realm only). */
interface JwtRefusal<C extends JwtErrorCode> {
  Class: FastifyErrorConstructor<{ code: C, statusCode: 401 }>
  message: string
  challengeError?: 'invalid_token' | 'insufficient_user_authentication'
}

/*
 * Descriptions are ours, never the token or the JWT library's text, so
 * nothing a client sent is echoed back. The type makes each key the code of
 * its class and takes every JwtErrorCode, no more: the union in types/jwt.ts
 * and this table cannot drift.
 */
export const jwtRefusals: { readonly [C in JwtErrorCode]: JwtRefusal<C> } = {
  FST_LOGIN_JWT_NO_TOKEN: { Class: JwtNoTokenError, message: 'Request does not contain an access token' },
  FST_LOGIN_JWT_MALFORMED: { Class: JwtMalformedError, message: 'Authorization header must be "<scheme> <token>"', challengeError: 'invalid_token' },
  // RFC 6750 §3.1: a request without our scheme carries no token for us, so no error code.
  FST_LOGIN_JWT_WRONG_SCHEME: { Class: JwtWrongSchemeError, message: 'Authorization header must use the Bearer scheme' },
  FST_LOGIN_JWT_INVALID: { Class: JwtInvalidError, message: 'Invalid token', challengeError: 'invalid_token' },
  FST_LOGIN_JWT_EXPIRED: { Class: JwtExpiredError, message: 'Token has expired', challengeError: 'invalid_token' },
  FST_LOGIN_JWT_NOT_YET_VALID: { Class: JwtNotYetValidError, message: 'Token is not valid yet', challengeError: 'invalid_token' },
  FST_LOGIN_JWT_UNKNOWN_KEY: { Class: JwtUnknownKeyError, message: 'Token was signed with an unknown key', challengeError: 'invalid_token' },
  FST_LOGIN_JWT_WRONG_TYPE: { Class: JwtWrongTypeError, message: 'Wrong token type for this route', challengeError: 'invalid_token' },
  FST_LOGIN_JWT_REVOKED: { Class: JwtRevokedError, message: 'Token has been revoked', challengeError: 'invalid_token' },
  FST_LOGIN_JWT_USER_NOT_FOUND: { Class: JwtUserNotFoundError, message: 'User does not exist or is inactive', challengeError: 'invalid_token' },
  FST_LOGIN_JWT_CSRF: { Class: JwtCsrfError, message: 'CSRF double submit tokens do not match', challengeError: 'invalid_token' },
  // RFC 9470: the token is valid but the route needs a recent authentication.
  FST_LOGIN_JWT_FRESH_REQUIRED: { Class: JwtFreshRequiredError, message: 'Fresh token required', challengeError: 'insufficient_user_authentication' },
  FST_LOGIN_JWT_BAD_CREDENTIALS: { Class: JwtBadCredentialsError, message: 'Invalid credentials' }
}

/** The default message of each code (overridable with the `jwt.messages` option). */
export const defaultJwtMessages: Record<JwtErrorCode, string> = Object.fromEntries(
  Object.entries(jwtRefusals).map(([code, { message }]) => [code, message])
) as Record<JwtErrorCode, string>
