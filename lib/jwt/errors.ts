import createError from '@fastify/error'
import type { JwtErrorCode } from '../types/index.js'

/*
 * JWT errors. All are 401s in Fastify's error format with a stable code and
 * a WWW-Authenticate header as RFC 6750 §3 describes: a request without a
 * token gets only the realm; a refused token gets error="invalid_token" and a
 * description. Descriptions are ours, never the token or the JWT library's
 * text, so nothing a client sent is echoed back.
 */

const specs = {
  FST_LOGIN_JWT_NO_TOKEN: ['Request does not contain an access token', undefined],
  FST_LOGIN_JWT_MALFORMED: ['Authorization header must be "<scheme> <token>"', 'invalid_token'],
  // RFC 6750 §3.1: a request without our scheme carries no token for us, so no error code.
  FST_LOGIN_JWT_WRONG_SCHEME: ['Authorization header must use the Bearer scheme', undefined],
  FST_LOGIN_JWT_INVALID: ['Invalid token', 'invalid_token'],
  FST_LOGIN_JWT_EXPIRED: ['Token has expired', 'invalid_token'],
  FST_LOGIN_JWT_NOT_YET_VALID: ['Token is not valid yet', 'invalid_token'],
  FST_LOGIN_JWT_UNKNOWN_KEY: ['Token was signed with an unknown key', 'invalid_token'],
  FST_LOGIN_JWT_WRONG_TYPE: ['Wrong token type for this route', 'invalid_token'],
  FST_LOGIN_JWT_REVOKED: ['Token has been revoked', 'invalid_token'],
  FST_LOGIN_JWT_USER_NOT_FOUND: ['User does not exist or is inactive', 'invalid_token'],
  FST_LOGIN_JWT_CSRF: ['CSRF double submit tokens do not match', 'invalid_token'],
  // RFC 9470: the token is valid but the route needs a recent authentication.
  FST_LOGIN_JWT_FRESH_REQUIRED: ['Fresh token required', 'insufficient_user_authentication'],
  FST_LOGIN_JWT_BAD_CREDENTIALS: ['Invalid credentials', undefined]
} as const satisfies Record<JwtErrorCode, readonly [string, string | undefined]>

/** The token endpoint's body is not JSON. */
export const UnsupportedMediaTypeError = createError('FST_LOGIN_JWT_UNSUPPORTED_MEDIA_TYPE', 'The token endpoint takes application/json', 415)
/** The token endpoint's body is not an object with the two string fields. */
export const BadCredentialsBodyError = createError('FST_LOGIN_JWT_BAD_REQUEST', 'Body must be a JSON object with the string fields %s and %s', 400)

export type { JwtErrorCode }

const classes = Object.fromEntries(
  Object.keys(specs).map((code) => [code, createError(code, '%s', 401)])
) as Record<JwtErrorCode, ReturnType<typeof createError>>

/** The default message of each code (overridable with the `jwt.messages` option). */
export const defaultJwtMessages: Record<JwtErrorCode, string> = Object.fromEntries(
  Object.entries(specs).map(([code, [message]]) => [code, message])
) as Record<JwtErrorCode, string>

function quoted (value: string): string {
  return `"${value.replace(/["\\]/g, '')}"`
}

/** Builds the error for `code`, with its WWW-Authenticate header. */
export function jwtError (code: JwtErrorCode, scheme: string, realm: string, messages: Record<JwtErrorCode, string>): Error {
  const message = messages[code]
  const err = new classes[code](message) as Error & { headers?: Record<string, string> }
  const oauthError = specs[code][1]
  let challenge = `${scheme} realm=${quoted(realm)}`
  if (oauthError !== undefined) challenge += `, error=${quoted(oauthError)}, error_description=${quoted(message)}`
  err.headers = { 'www-authenticate': challenge }
  return err
}
