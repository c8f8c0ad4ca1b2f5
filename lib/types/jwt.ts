import type { FastifyContextConfig, FastifyReply, FastifyRequest, RouteShorthandOptions } from 'fastify'
import type { Duration, LoginUser, MaybePromise } from './user.js'

/** The stable codes of the JWT errors (see the README's JWT errors table). */
export type JwtErrorCode =
  | 'FST_LOGIN_JWT_NO_TOKEN'
  | 'FST_LOGIN_JWT_MALFORMED'
  | 'FST_LOGIN_JWT_WRONG_SCHEME'
  | 'FST_LOGIN_JWT_INVALID'
  | 'FST_LOGIN_JWT_EXPIRED'
  | 'FST_LOGIN_JWT_NOT_YET_VALID'
  | 'FST_LOGIN_JWT_UNKNOWN_KEY'
  | 'FST_LOGIN_JWT_WRONG_TYPE'
  | 'FST_LOGIN_JWT_REVOKED'
  | 'FST_LOGIN_JWT_USER_NOT_FOUND'
  | 'FST_LOGIN_JWT_CSRF'
  | 'FST_LOGIN_JWT_FRESH_REQUIRED'
  | 'FST_LOGIN_JWT_BAD_CREDENTIALS'

/** Signature algorithms accepted for JWTs. `none` is never accepted. */
export type JwtAlgorithm =
  | 'HS256' | 'HS384' | 'HS512'
  | 'RS256' | 'RS384' | 'RS512'
  | 'PS256' | 'PS384' | 'PS512'
  | 'ES256' | 'ES384' | 'ES512'
  | 'EdDSA'

/** Where guards look for a token, in this order. */
export type JwtLocation = 'headers' | 'cookies' | 'query'

/** One signing or verification key. The first key of `keys` signs new tokens. */
export interface JwtKeyOptions {
  /** Key id, written in the token header and used to pick the key when verifying. Required with several keys. */
  kid?: string
  /** Default `'HS256'` with `secret`; required with a key pair. */
  algorithm?: JwtAlgorithm
  /** Shared secret for HS256/384/512: at least 32/48/64 bytes. */
  secret?: string | Buffer
  /** PEM private key (only the signing key needs one). */
  privateKey?: string | Buffer
  /** PEM public key, for RS*, PS*, ES*, EdDSA. */
  publicKey?: string | Buffer
}

/** The claims of a token issued by this plugin. */
export interface JwtClaims {
  /** The user id (same rule as sessions). */
  sub: string
  iat: number
  nbf: number
  exp: number
  jti: string
  type: 'access' | 'refresh'
  /** Access tokens: made by a real authentication (not a refresh). */
  fresh: boolean
  /** With cookie locations: the double-submit CSRF value. */
  csrf?: string
  /**
   * The refresh-token family (the API session) the token belongs to: tokens
   * from the token and refresh endpoints and from `createRefreshToken()`.
   * Such a token is refused once its family has ended (logout, reuse of a
   * spent refresh token, `loginSessions.revoke()`, logout everywhere).
   */
  fam?: string
  iss?: string
  aud?: string | string[]
  [claim: string]: unknown
}

/** Cookie names and attributes for the `cookies` token location. */
export interface JwtCookieOptions {
  /** Default `'access_token_cookie'`. */
  accessCookieName?: string
  /** Default `'refresh_token_cookie'`. */
  refreshCookieName?: string
  /** Default `'csrf_access_token'` (readable by scripts, by design). */
  accessCsrfCookieName?: string
  /** Default `'csrf_refresh_token'`. */
  refreshCsrfCookieName?: string
  /** Check the CSRF double submit on POST, PUT, PATCH and DELETE. Default true. */
  csrf?: boolean
  /** Default `'x-csrf-token'`. */
  csrfHeader?: string
  /** Default true. */
  secure?: boolean
  /** Default `'lax'`. */
  sameSite?: 'lax' | 'strict' | 'none'
  /** Default `'/'`. */
  path?: string
  domain?: string
}

/** The token response of the token and refresh endpoints (OAuth 2.0 shape). */
export interface JwtTokenResponse {
  access_token: string
  token_type: string
  /** Seconds until the access token expires. */
  expires_in: number
  /** The family's new refresh token: the refresh endpoint spends the one it was given and answers its successor. */
  refresh_token: string
  [field: string]: unknown
}

/** The documentation an app adds to one of the plugin's endpoints (for @fastify/swagger); the request validation stays the plugin's. */
export interface JwtEndpointSchema {
  tags?: string[]
  summary?: string
  description?: string
  operationId?: string
  deprecated?: boolean
  hide?: boolean
  externalDocs?: { url: string, description?: string }
  /** OpenAPI security requirements; by default the plugin documents its own. */
  security?: Array<Record<string, string[]>>
  /** Response schemas by status (`200`, `4xx`, `default`); one the plugin also gives is replaced. */
  response?: Record<string, Record<string, unknown>>
  /** OpenAPI extensions. */
  [extension: `x-${string}`]: unknown
}

/**
 * What an app adds to one of the plugin's endpoints (`jwt.routes`). Hooks
 * run after the plugin's own of the same name (its guard, its body checks):
 * they cannot let a request skip them.
 */
export type JwtEndpointOptions = Pick<RouteShorthandOptions,
  'onRequest' | 'preParsing' | 'preValidation' | 'preHandler' | 'preSerialization' | 'onSend' | 'onResponse' | 'onError' | 'onTimeout' | 'onRequestAbort' | 'logLevel'> & {
  /** Route config (e.g. `rateLimit` for @fastify/rate-limit); `autoLoadUser` is the plugin's (false). */
    config?: Omit<FastifyContextConfig, 'autoLoadUser'> & Record<string, unknown> & { autoLoadUser?: never }
    schema?: JwtEndpointSchema
  }

/** Route options of the token, refresh, logout and revoke endpoints. */
export interface JwtRoutesOptions {
  auth?: JwtEndpointOptions
  refresh?: JwtEndpointOptions
  logout?: JwtEndpointOptions
  revoke?: JwtEndpointOptions
}

/** The `jwt` plugin options. */
export interface JwtOptions {
  /** Shortcut for a single key: see {@link JwtKeyOptions}. */
  secret?: string | Buffer
  privateKey?: string | Buffer
  publicKey?: string | Buffer
  algorithm?: JwtAlgorithm
  kid?: string
  /** Several keys for rotation: the first signs, all verify (picked by `kid`). */
  keys?: JwtKeyOptions[]
  /** Default `'15m'`. */
  accessTokenExpires?: Duration
  /** Default `'30d'`. */
  refreshTokenExpires?: Duration
  /** How long after issue a token becomes valid: seconds, or a string like `'30s'`; at most `'1d'`. Default 0. */
  notBefore?: Duration
  /** Clock skew allowed on `exp` and `nbf`: seconds, or a string like `'30s'`; at most `'5m'`. Default 0. */
  leeway?: Duration
  issuer?: string
  audience?: string | string[]
  /** Default `'Bearer'` (`'JWT'` for Flask-JWT clients). */
  headerScheme?: string
  /** Default `['headers']`. */
  locations?: JwtLocation[]
  /** Query-string parameter for the `query` location. Default `'jwt'`. */
  queryParam?: string
  cookies?: JwtCookieOptions
  /** `realm` of WWW-Authenticate. Default `'api'`. */
  realm?: string
  /** Token endpoint path. Default `'/auth'`; `false` disables it. */
  authPath?: string | false
  /** Refresh endpoint path. Default `'/auth/refresh'`; `false` disables it. */
  refreshPath?: string | false
  /** Logout endpoint path (ends the tokens' family). Default `'/auth/logout'`; `false` disables it. */
  logoutPath?: string | false
  /**
   * RFC 7009 token revocation endpoint: `POST` with `token` (and an optional
   * `token_type_hint`), JSON or form encoded; always 200. Default
   * `'/auth/revoke'`; `false` disables it.
   */
  revokePath?: string | false
  /**
   * Route options for the endpoints: `config` (e.g. `rateLimit`), `schema`
   * documentation, hooks. Example: `{ auth: { config: { rateLimit: { max: 5,
   * timeWindow: '1 minute' } }, schema: { tags: ['auth'] } } }`.
   */
  routes?: JwtRoutesOptions
  /**
   * How long a refresh token just spent still gets the answer its refresh
   * gave (the same successor: a client retrying a refresh whose answer it
   * lost). Presented later, it is taken for a stolen copy and its whole
   * family is revoked (`refreshTokenReused`). Default `'30s'`; `0` turns
   * the grace off.
   */
  refreshReuseGrace?: Duration | 0
  /**
   * JSON body field names of the token endpoint. Defaults `'username'`,
   * `'password'`. The OAuth 2.0 form (`grant_type=password`) always uses
   * `username` and `password`, the names RFC 6749 gives them.
   */
  usernameField?: string
  passwordField?: string
  /** Checks credentials for the token endpoint: the user, or null. */
  authenticate?: (username: string, password: string, request: FastifyRequest) => MaybePromise<LoginUser | null | undefined>
  /** The user of a verified token. Default: the plugin's `loadUser(claims.sub, request)`. */
  loadUserFromClaims?: (claims: JwtClaims, request: FastifyRequest) => MaybePromise<LoginUser | null | undefined>
  /** Extra claims for new tokens; the plugin's own claims cannot be overridden. */
  additionalClaims?: (user: LoginUser, request: FastifyRequest | undefined) => MaybePromise<Record<string, unknown>>
  /** Shapes the body of the token and refresh endpoints. */
  authResponse?: (body: JwtTokenResponse, user: LoginUser, request: FastifyRequest) => MaybePromise<unknown>
  /** Extra revocation check on every guarded request. */
  isRevoked?: (claims: JwtClaims, request: FastifyRequest) => MaybePromise<boolean>
  /** Cache verified tokens: `true` (1000) or a size. Revocation is still checked. Default off. */
  cache?: boolean | number
  /** Replace error messages, by code (e.g. `{ FST_LOGIN_JWT_EXPIRED: 'Please sign in again' }`). */
  messages?: Partial<Record<JwtErrorCode, string>>
}

/** Options of `fastify.createAccessToken()`. */
export interface AccessTokenOptions {
  /** Default false for tokens made by app code. */
  fresh?: boolean
  claims?: Record<string, unknown>
  expiresIn?: Duration
  /** Give the CSRF value to use (cookies location); one is made otherwise. */
  csrf?: string
}

/** A pair of tokens, as `reply.setJwtCookies()` takes them. */
export interface JwtTokens {
  accessToken?: string
  refreshToken?: string
}

/**
 * A JWT guard: a preHandler (or any request hook), an @fastify/auth function,
 * or awaited from app code: `await fastify.jwtRequired(request, reply)`.
 */
export interface JwtGuard {
  /** Awaited: resolves when the request passes, rejects with the 401 otherwise. */
  (request: FastifyRequest, reply: FastifyReply): Promise<void>
  /** As a hook: calls `done`, or returns a promise when a store, hook or loader was asynchronous. */
  (request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void): Promise<void> | undefined
}
