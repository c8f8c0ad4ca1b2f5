import type { FastifyReply } from 'fastify'
import { INVALID } from './bodies.js'

/*
 * The OAuth 2.0 grants of the form-encoded requests (RFC 6749): the
 * resource owner password grant at the token endpoint (§4.3.2) and the
 * refresh grant at the refresh endpoint (§6). Their refusals are the RFC's
 * (§5.2): a 400 with `error` and `error_description`, never cached. JSON
 * requests keep the plugin's own errors (401s with WWW-Authenticate, codes
 * of the errors table): existing clients read those.
 *
 * `scope` and `client_id` / `client_secret` (Swagger UI and most OAuth
 * libraries send them, often empty) are ignored: the plugin has no scopes
 * and its clients are public clients (§2.1), so no scope is echoed either.
 */

export type OAuthError = 'invalid_request' | 'invalid_grant' | 'unsupported_grant_type'

/** A refusal of a grant request: the §5.2 error and our own description (nothing the client sent is echoed). */
export class GrantRefusal {
  readonly error: OAuthError
  readonly description: string
  constructor (code: OAuthError, description: string) {
    this.error = code
    this.description = description
  }
}

// The token endpoint's limit for credentials (lib/jwt/routes.ts), and a bound for a refresh token well over its 8 KB cap.
export const MAX_FIELD_LENGTH = 1024
export const MAX_TOKEN_LENGTH = 8192

/** Sends the §5.2 error response. */
export function sendOAuthError (reply: FastifyReply, refusal: GrantRefusal): FastifyReply {
  return reply.code(400).header('cache-control', 'no-store').header('pragma', 'no-cache')
    .send({ error: refusal.error, error_description: refusal.description })
}

function refusal (error: OAuthError, description: string): GrantRefusal {
  return new GrantRefusal(error, description)
}

/** The parameters of a form body, or the refusal of a body that is none (a repeated parameter, §3.2). */
function paramsOf (body: unknown, grant: string): Record<string, unknown> | GrantRefusal {
  if (body === INVALID) return refusal('invalid_request', 'A parameter was included more than once')
  const params = Object(body) as Record<string, unknown>
  const given = params.grant_type
  if (given === undefined || given === '') return refusal('invalid_request', 'grant_type is required')
  if (given !== grant) return refusal('unsupported_grant_type', `This endpoint takes grant_type=${grant}`)
  return params
}

function isRefusal (value: object): value is GrantRefusal {
  return value instanceof GrantRefusal
}

function textParam (value: unknown, max: number): value is string {
  return typeof value === 'string' && value !== '' && value.length <= max
}

/** RFC 6749 §4.3.2: `grant_type=password`, `username`, `password` (the OAuth names, whatever `usernameField` says). */
export function passwordGrant (body: unknown, refreshPath: string | false): { username: string, password: string } | GrantRefusal {
  const b = body as Record<string, unknown> | undefined
  if (b !== INVALID && b?.grant_type === 'refresh_token' && refreshPath !== false) {
    return refusal('unsupported_grant_type', `Refresh tokens are exchanged at ${refreshPath}`)
  }
  const params = paramsOf(body, 'password')
  if (isRefusal(params)) return params
  const { username, password } = params
  if (!textParam(username, MAX_FIELD_LENGTH) || !textParam(password, MAX_FIELD_LENGTH)) {
    return refusal('invalid_request', `username and password are required (at most ${MAX_FIELD_LENGTH} characters each)`)
  }
  return { username, password }
}

/** RFC 6749 §6: `grant_type=refresh_token` and `refresh_token`. */
export function refreshGrant (body: unknown): { token: string } | GrantRefusal {
  const params = paramsOf(body, 'refresh_token')
  if (isRefusal(params)) return params
  const token = params.refresh_token
  if (!textParam(token, MAX_TOKEN_LENGTH)) return refusal('invalid_request', 'refresh_token is required')
  return { token }
}

/** The §5.2 answer to one of our JWT refusals (a 401 of the errors table): the grant is invalid. */
export function invalidGrant (err: unknown): GrantRefusal | undefined {
  const e = Object(err) as { statusCode?: unknown, code?: unknown, message?: unknown }
  // Anything else (a store that failed: 503) keeps its own answer.
  if (e.statusCode !== 401 || !String(e.code).startsWith('FST_LOGIN_JWT_')) return undefined
  return refusal('invalid_grant', String(e.message))
}
