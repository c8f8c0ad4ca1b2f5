import type { GuardName } from '../guards/exports.js'
import type { JwtSettings } from '../jwt/options.js'
import type { Settings } from '../settings.js'
import type { GuardExpression } from './marker.js'

/*
 * The OpenAPI security schemes of the plugin (OpenAPI 3 `components.
 * securitySchemes`), as it is configured: the session cookie, the JWT in
 * each location the guards read, and the OAuth 2.0 password flow of the
 * token endpoint (Swagger UI's "Authorize" dialog then logs in through it).
 */

export type SecurityScheme = Record<string, unknown>
export type SecurityRequirement = Record<string, string[]>

export const SCHEME_NAMES = {
  session: 'sessionCookie',
  bearer: 'bearerAuth',
  oauth2: 'oauth2Password',
  accessCookie: 'accessTokenCookie',
  refreshCookie: 'refreshTokenCookie',
  query: 'accessTokenQuery'
} as const

const SESSION_GUARDS = new Set<GuardName>(['loginRequired', 'freshLoginRequired', 'verifyLogin', 'verifyFreshLogin'])

export interface OpenapiSecurity {
  schemes: Record<string, SecurityScheme>
  /** The `security` of an operation protected by `expression`. */
  requirements: (expression: GuardExpression) => SecurityRequirement[]
}

function jwtSchemes (jwt: JwtSettings, prefix: string): Record<string, SecurityScheme> {
  const schemes: Record<string, SecurityScheme> = {}
  if (jwt.locations.includes('headers')) {
    schemes[SCHEME_NAMES.bearer] = jwt.scheme.toLowerCase() === 'bearer'
      ? { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }
      // OpenAPI's `http` schemes are the IANA ones: another word (`JWT`) is a header the client writes itself.
      : { type: 'apiKey', in: 'header', name: 'Authorization', description: `"${jwt.scheme} <token>"` }
    if (jwt.authPath !== false) {
      const password: Record<string, unknown> = { tokenUrl: prefix + jwt.authPath, scopes: {} }
      if (jwt.refreshPath !== false) password.refreshUrl = prefix + jwt.refreshPath
      schemes[SCHEME_NAMES.oauth2] = { type: 'oauth2', flows: { password } }
    }
  }
  if (jwt.cookies !== null) {
    schemes[SCHEME_NAMES.accessCookie] = { type: 'apiKey', in: 'cookie', name: jwt.cookies.access }
    schemes[SCHEME_NAMES.refreshCookie] = { type: 'apiKey', in: 'cookie', name: jwt.cookies.refresh }
  }
  if (jwt.locations.includes('query')) schemes[SCHEME_NAMES.query] = { type: 'apiKey', in: 'query', name: jwt.queryParam }
  return schemes
}

/** The schemes and requirements for an app with `core` settings and `jwt` (null without it); `prefix` is the plugin scope's. */
export function openapiSecurity (core: Settings, jwt: JwtSettings | null, prefix: string): OpenapiSecurity {
  const schemes: Record<string, SecurityScheme> = {}
  if (core.sessionEnabled) schemes[SCHEME_NAMES.session] = { type: 'apiKey', in: 'cookie', name: core.sessionCookieName }
  if (jwt !== null) Object.assign(schemes, jwtSchemes(jwt, prefix))
  const has = (name: string): boolean => name in schemes

  /** The alternatives that satisfy one guard; [] when none can (a session guard with `session: false`). */
  function alternatives (guard: GuardName): SecurityRequirement[] {
    if (SESSION_GUARDS.has(guard)) return has(SCHEME_NAMES.session) ? [{ [SCHEME_NAMES.session]: [] }] : []
    const names = guard === 'refreshJwtRequired'
      ? [SCHEME_NAMES.bearer, SCHEME_NAMES.refreshCookie, SCHEME_NAMES.query]
      : [SCHEME_NAMES.bearer, SCHEME_NAMES.oauth2, SCHEME_NAMES.accessCookie, SCHEME_NAMES.query]
    const found = names.filter(has).map((name) => ({ [name]: [] }))
    // jwtOptional lets a request without a token in: `{}` is OpenAPI's "no security".
    return guard === 'jwtOptional' ? [...found, {}] : found
  }

  function requirements (expression: GuardExpression): SecurityRequirement[] {
    const result = new Map<string, SecurityRequirement>()
    for (const group of expression) {
      let combined: SecurityRequirement[] = [{}]
      for (const guard of group) {
        combined = combined.flatMap((left) => alternatives(guard).map((right) => ({ ...left, ...right })))
      }
      for (const requirement of combined) result.set(JSON.stringify(Object.keys(requirement).sort()), requirement)
    }
    return [...result.values()]
  }

  return { schemes, requirements }
}

/**
 * The schemes of a Swagger 2.0 document (@fastify/swagger without its
 * `openapi` option: `securityDefinitions`). Swagger 2 has no `http` schemes
 * (the bearer token is an Authorization header) and no cookies: the cookie
 * schemes are left out, and with them the requirements that name them.
 */
export function swagger2Schemes (schemes: Record<string, SecurityScheme>): Record<string, SecurityScheme> {
  const result: Record<string, SecurityScheme> = {}
  for (const [name, scheme] of Object.entries(schemes)) {
    if (scheme.type === 'http') result[name] = { type: 'apiKey', in: 'header', name: 'Authorization', description: '"Bearer <token>"' }
    else if (scheme.type === 'oauth2') {
      const { tokenUrl } = (scheme.flows as { password: { tokenUrl: string } }).password
      result[name] = { type: 'oauth2', flow: 'password', tokenUrl, scopes: {} }
    } else if (scheme.in !== 'cookie') result[name] = scheme
  }
  return result
}
