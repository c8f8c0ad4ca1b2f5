import { defaultJwtMessages, InvalidOptionError } from '../errors.js'
import { cookieAttributes, cookieName, type CookieAttributes } from '../internal/cookie-options.js'
import { objectOption, onlyKnownKeys, optionalFunction } from '../internal/option-checks.js'
import { keysOf, type JwtKey } from './keys.js'
import { routesOption, type EndpointName, type EndpointSettings } from './route-options.js'
import { DURATION_MAX, durationOption, graceOption } from '../internal/duration.js'
import type { JwtCookieOptions, JwtErrorCode, JwtLocation, JwtOptions } from '../types/index.js'

export type { JwtKey }

export interface JwtCookieSettings {
  access: string
  refresh: string
  accessCsrf: string
  refreshCsrf: string
  csrf: boolean
  csrfHeader: string
  attributes: CookieAttributes
}

/** The `jwt` options after validation and defaults. */
export interface JwtSettings {
  keys: JwtKey[]
  accessSeconds: number
  refreshSeconds: number
  notBefore: number
  leeway: number
  issuer: string | undefined
  audience: string | string[] | undefined
  scheme: string
  locations: JwtLocation[]
  queryParam: string
  cookies: JwtCookieSettings | null
  realm: string
  authPath: string | false
  refreshPath: string | false
  logoutPath: string | false
  revokePath: string | false
  /** `routes`: what the app adds to each endpoint. */
  routes: Partial<Record<EndpointName, EndpointSettings>>
  usernameField: string
  passwordField: string
  authenticate: JwtOptions['authenticate']
  loadUserFromClaims: JwtOptions['loadUserFromClaims']
  additionalClaims: JwtOptions['additionalClaims']
  authResponse: JwtOptions['authResponse']
  isRevoked: JwtOptions['isRevoked']
  /** `refreshReuseGrace`, in ms. */
  reuseGraceMs: number
  cache: boolean | number
  messages: Record<JwtErrorCode, string>
}

const LOCATIONS = new Set<string>(['headers', 'cookies', 'query'])
const SCHEME = /^[A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*$/
const TOKEN_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

function fail (message: string): never {
  throw new InvalidOptionError(`jwt.${message}`)
}

function pathOption (value: unknown, name: string, fallback: string): string | false {
  if (value === false) return false
  if (value === undefined) return fallback
  if (typeof value !== 'string' || !value.startsWith('/')) fail(`${name} must be a path starting with / or false`)
  return value
}

function nameOption (value: unknown, name: string, fallback: string): string {
  if (value === undefined) return fallback
  if (typeof value !== 'string' || !TOKEN_NAME.test(value)) fail(`${name} must be a cookie, header or field name`)
  return value
}

function fieldOption (value: unknown, name: string, fallback: string): string {
  if (value === undefined) return fallback
  if (typeof value !== 'string' || value === '' || value.length > 100) fail(`${name} must be a non-empty string`)
  return value
}

function fnOption<T> (value: T | undefined, name: string): T | undefined {
  return optionalFunction(value, `jwt.${name}`)
}

const JWT_KEYS = [
  'secret', 'privateKey', 'publicKey', 'algorithm', 'kid', 'keys', 'accessTokenExpires', 'refreshTokenExpires',
  'notBefore', 'leeway', 'issuer', 'audience', 'headerScheme', 'locations', 'queryParam', 'cookies', 'realm',
  'authPath', 'refreshPath', 'logoutPath', 'revokePath', 'routes', 'refreshReuseGrace', 'usernameField', 'passwordField', 'authenticate', 'loadUserFromClaims',
  'additionalClaims', 'authResponse', 'isRevoked', 'cache', 'messages'
] as const
const COOKIE_KEYS = [
  'accessCookieName', 'refreshCookieName', 'accessCsrfCookieName', 'refreshCsrfCookieName', 'csrf', 'csrfHeader',
  'secure', 'sameSite', 'path', 'domain'
] as const

function cookieSettings (options: JwtOptions, locations: JwtLocation[]): JwtCookieSettings | null {
  if (!locations.includes('cookies')) {
    if (options.cookies !== undefined) fail("cookies is set but locations does not include 'cookies'")
    return null
  }
  const c = options.cookies === undefined ? {} : objectOption(options.cookies, 'jwt.cookies') as JwtCookieOptions
  onlyKnownKeys(c, COOKIE_KEYS, 'jwt.cookies')
  const attributes = cookieAttributes(c, 'jwt.cookies')
  const csrf = c.csrf ?? true
  if (typeof csrf !== 'boolean') fail('cookies.csrf must be a boolean')
  const name = (value: unknown, option: string, base: string): string => cookieName(value, `jwt.cookies.${option}`, base, attributes)
  return {
    access: name(c.accessCookieName, 'accessCookieName', 'access_token_cookie'),
    refresh: name(c.refreshCookieName, 'refreshCookieName', 'refresh_token_cookie'),
    accessCsrf: name(c.accessCsrfCookieName, 'accessCsrfCookieName', 'csrf_access_token'),
    refreshCsrf: name(c.refreshCsrfCookieName, 'refreshCsrfCookieName', 'csrf_refresh_token'),
    csrf,
    csrfHeader: nameOption(c.csrfHeader, 'cookies.csrfHeader', 'x-csrf-token').toLowerCase(),
    attributes
  }
}

/** Validates the `jwt` options; throws FST_LOGIN_INVALID_OPTION naming the bad one. */
export function buildJwtSettings (options: JwtOptions, hasUserLoader: boolean): JwtSettings {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) fail('options must be an object')
  // The option is gone (revocations live in the plugin's store): say so rather than "unknown option".
  if ('revocationStore' in options) fail('revocationStore is gone: revoked tokens and refresh-token families live in the plugin\'s `store` (memory or Redis)')
  onlyKnownKeys(options, JWT_KEYS, 'jwt')
  const locations = options.locations ?? ['headers']
  if (!Array.isArray(locations) || locations.length === 0 || !locations.every((l) => LOCATIONS.has(l))) {
    fail("locations must be a non-empty array of 'headers', 'cookies', 'query'")
  }
  const scheme = options.headerScheme ?? 'Bearer'
  if (typeof scheme !== 'string' || !SCHEME.test(scheme)) fail('headerScheme must be a single word like Bearer')
  const loadUserFromClaims = fnOption(options.loadUserFromClaims, 'loadUserFromClaims')
  if (loadUserFromClaims === undefined && !hasUserLoader) fail('loadUserFromClaims is required when the plugin has no loadUser')
  const authenticate = fnOption(options.authenticate, 'authenticate')
  const authPath = pathOption(options.authPath, 'authPath', '/auth')
  if (authPath !== false && authenticate === undefined) fail('authenticate(username, password, request) is required for the token endpoint (or set authPath: false)')
  const audience = options.audience
  if (audience !== undefined && typeof audience !== 'string' && !(Array.isArray(audience) && audience.every((a) => typeof a === 'string'))) {
    fail('audience must be a string or an array of strings')
  }
  if (options.issuer !== undefined && (typeof options.issuer !== 'string' || options.issuer === '')) fail('issuer must be a non-empty string')
  const cache = options.cache ?? false
  if (typeof cache !== 'boolean' && !(Number.isSafeInteger(cache) && cache > 0)) fail('cache must be a boolean or a positive size')
  const messages = { ...defaultJwtMessages, FST_LOGIN_JWT_WRONG_SCHEME: `Authorization header must use the ${scheme} scheme` }
  for (const [code, text] of Object.entries(options.messages ?? {})) {
    if (!(code in messages) || typeof text !== 'string') fail(`messages.${code} is not a known error code with a string message`)
    messages[code as JwtErrorCode] = text
  }
  const accessSeconds = durationOption(options.accessTokenExpires, 'jwt.accessTokenExpires', 15 * 60, DURATION_MAX.accessToken)
  const refreshSeconds = durationOption(options.refreshTokenExpires, 'jwt.refreshTokenExpires', 30 * 86400, DURATION_MAX.refreshToken)
  const leeway = graceOption(options.leeway, 'jwt.leeway', 0, DURATION_MAX.leeway)
  const refreshPath = pathOption(options.refreshPath, 'refreshPath', '/auth/refresh')
  const logoutPath = pathOption(options.logoutPath, 'logoutPath', '/auth/logout')
  const revokePath = pathOption(options.revokePath, 'revokePath', '/auth/revoke')
  const routes = routesOption(options.routes, { auth: authPath !== false, refresh: refreshPath !== false, logout: logoutPath !== false, revoke: revokePath !== false })
  const realm = options.realm ?? 'api'
  if (typeof realm !== 'string' || realm === '') fail('realm must be a non-empty string')

  return {
    keys: keysOf(options),
    accessSeconds,
    refreshSeconds,
    notBefore: graceOption(options.notBefore, 'jwt.notBefore', 0, DURATION_MAX.notBefore),
    leeway,
    issuer: options.issuer,
    audience,
    scheme,
    locations,
    queryParam: nameOption(options.queryParam, 'queryParam', 'jwt'),
    cookies: cookieSettings(options, locations),
    realm,
    authPath,
    refreshPath,
    logoutPath,
    revokePath,
    routes,
    reuseGraceMs: graceOption(options.refreshReuseGrace, 'jwt.refreshReuseGrace', 30, DURATION_MAX.grace) * 1000,
    usernameField: fieldOption(options.usernameField, 'usernameField', 'username'),
    passwordField: fieldOption(options.passwordField, 'passwordField', 'password'),
    authenticate,
    loadUserFromClaims,
    additionalClaims: fnOption(options.additionalClaims, 'additionalClaims'),
    authResponse: fnOption(options.authResponse, 'authResponse'),
    isRevoked: fnOption(options.isRevoked, 'isRevoked'),
    cache,
    messages
  }
}
