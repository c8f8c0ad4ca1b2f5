import { boolOption, fail, optionalString } from './option-checks.js'

/*
 * One rule set for every cookie the plugin writes: the session cookie, the
 * remember-me cookie and the JWT cookies. Browsers drop a `SameSite=None`
 * cookie without `Secure`, ignore a path that does not start with `/`, and
 * refuse a `__Host-` cookie that is not `Secure`, has a `Domain` or another
 * path than `/`: each of those would fail at run time without a word, so
 * each is refused at registration.
 */

/** The attributes shared by the plugin's cookies, after validation. */
export interface CookieAttributes {
  secure: boolean
  sameSite: 'lax' | 'strict' | 'none'
  path: string
  domain: string | undefined
}

/** Where the attributes come from: `session.cookie`, `rememberMe` or `jwt.cookies` (same key names). */
export interface CookieAttributeOptions {
  secure?: unknown
  sameSite?: unknown
  path?: unknown
  domain?: unknown
}

const SAME_SITE = ['lax', 'strict', 'none']
// A path or domain goes into the Set-Cookie header as it is.
// eslint-disable-next-line no-control-regex
const UNSAFE_ATTRIBUTE = /[\u0000-\u0020;,\u007f]/
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

/** Validates `secure`, `sameSite`, `path` and `domain` of `options` (named `where` in errors). */
export function cookieAttributes (options: CookieAttributeOptions, where: string): CookieAttributes {
  const secure = boolOption(options.secure, `${where}.secure`, true)
  const given = options.sameSite ?? 'lax'
  // Any case, as @fastify/cookie takes it; written lowercase.
  const sameSite = typeof given === 'string' ? given.toLowerCase() : given
  if (typeof sameSite !== 'string' || !SAME_SITE.includes(sameSite)) fail(`${where}.sameSite must be 'lax', 'strict' or 'none'`)
  if (sameSite === 'none' && !secure) fail(`${where}.sameSite 'none' needs ${where}.secure (browsers drop such cookies)`)
  const path = optionalString(options.path, `${where}.path`) ?? '/'
  if (!path.startsWith('/') || UNSAFE_ATTRIBUTE.test(path)) fail(`${where}.path must start with / and hold no spaces, commas or semicolons`)
  const domain = optionalString(options.domain, `${where}.domain`)
  if (domain !== undefined && UNSAFE_ATTRIBUTE.test(domain)) fail(`${where}.domain must hold no spaces, commas or semicolons`)
  return { secure, sameSite: sameSite as CookieAttributes['sameSite'], path, domain }
}

/**
 * Whether a cookie with these attributes may carry the `__Host-` prefix:
 * then the browser accepts it only from this very host, over a secure
 * connection, for the whole site, so a sibling subdomain cannot plant a
 * cookie of the same name that would shadow ours.
 */
export function hostPrefixAllowed (attributes: CookieAttributes): boolean {
  return attributes.secure && attributes.path === '/' && attributes.domain === undefined
}

/**
 * A cookie's name: the app's own (checked against the prefix rules), else
 * `base` with the `__Host-` prefix where the attributes allow it, else `base`.
 */
export function cookieName (value: unknown, where: string, base: string, attributes: CookieAttributes): string {
  if (value === undefined) return hostPrefixAllowed(attributes) ? `__Host-${base}` : base
  const name = optionalString(value, where) as string
  if (!COOKIE_NAME.test(name)) fail(`${where} is not a valid cookie name`)
  const lower = name.toLowerCase()
  if (lower.startsWith('__host-') && !hostPrefixAllowed(attributes)) {
    fail(`${where}: a __Host- cookie must be secure, with path / and no domain (browsers refuse it otherwise)`)
  }
  if (lower.startsWith('__secure-') && !attributes.secure) fail(`${where}: a __Secure- cookie must be secure (browsers refuse it otherwise)`)
  return name
}
