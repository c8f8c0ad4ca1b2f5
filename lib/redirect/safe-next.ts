/*
 * Open-redirect defence for the `next` parameter (Flask-Login leaves this to
 * the app: its issue #211). A target is accepted only when a browser would
 * resolve it to a path on the same origin. Browsers are lenient in ways that
 * attackers rely on: they treat `\` like `/`, drop tabs and newlines inside
 * URLs, and read `//host` or `/\host` as another host; some servers decode
 * `%2F` before redirecting. So we refuse all of those outright rather than
 * trying to normalise them.
 */

const MAX_NEXT_LENGTH = 2048
// C0 controls, space, DEL, backslash: none belongs in a redirect target we build.
// eslint-disable-next-line no-control-regex
const FORBIDDEN_CHARS = /[\u0000-\u0020\u007f\\]/
const PLACEHOLDER_ORIGIN = 'http://next.invalid'

/** Options of {@link safeNextUrl}. */
export interface SafeNextOptions {
  /**
   * The host (`example.com` or `example.com:8443`) that absolute URLs may name;
   * such a URL is returned as its path. Without it, absolute URLs are refused.
   */
  host?: string
}

/**
 * Returns `target` as a same-origin path (`/path?query#hash`) when it is safe
 * to redirect to, otherwise `null`.
 *
 * @example
 * safeNextUrl('/account?tab=2')   // '/account?tab=2'
 * safeNextUrl('//evil.example')   // null
 * safeNextUrl('/\\evil.example')  // null
 * safeNextUrl('javascript:alert(1)') // null
 * safeNextUrl('https://app.example/x', { host: 'app.example' }) // '/x'
 */
export function safeNextUrl (target: unknown, options: SafeNextOptions = {}): string | null {
  if (typeof target !== 'string' || target.length === 0 || target.length > MAX_NEXT_LENGTH) return null
  if (FORBIDDEN_CHARS.test(target)) return null

  // Decode once more than the browser would, and refuse targets whose decoded
  // form changes meaning (`/%2F%2Fevil.example`, `%5C`, encoded controls).
  // (A target that starts with `//` is caught here too: its decoded form does.)
  const decoded = decodeOrNull(target)
  if (decoded === null || FORBIDDEN_CHARS.test(decoded) || decoded.startsWith('//')) return null

  if (target.startsWith('/')) return pathOf(target, PLACEHOLDER_ORIGIN)

  // Absolute URL: only http(s) on the configured host.
  if (options.host === undefined || !/^https?:\/\//i.test(target)) return null
  let url: URL
  try {
    url = new URL(target)
  } catch {
    return null
  }
  if (url.username !== '' || url.password !== '') return null
  if (url.host.toLowerCase() !== options.host.toLowerCase()) return null
  return pathOf(url.pathname + url.search + url.hash, PLACEHOLDER_ORIGIN)
}

function pathOf (path: string, origin: string): string | null {
  let url: URL
  try {
    url = new URL(path, origin)
  } catch {
    return null
  }
  if (url.origin !== origin) return null
  const result = url.pathname + url.search + url.hash
  // The WHATWG parser decodes `%2e` and collapses dot segments, so `/%2e/%2F%2Fevil`
  // becomes `/%2F%2Fevil`: check the result as strictly as the input.
  const decoded = decodeOrNull(result) ?? '//'
  return result.startsWith('//') || decoded.startsWith('//') || FORBIDDEN_CHARS.test(decoded) ? null : result
}

function decodeOrNull (value: string): string | null {
  try {
    return decodeURIComponent(value)
  } catch {
    return null
  }
}

/**
 * Adds `next=<value>` to a login URL, keeping the query it already has.
 * Relative login URLs stay relative.
 *
 * @example
 * loginUrlWithNext('/login?lang=fr', '/secret?a=1') // '/login?lang=fr&next=%2Fsecret%3Fa%3D1'
 */
export function loginUrlWithNext (loginUrl: string, next: string | undefined, param = 'next'): string {
  if (next === undefined) return loginUrl
  const hashAt = loginUrl.indexOf('#')
  const base = hashAt === -1 ? loginUrl : loginUrl.slice(0, hashAt)
  const hash = hashAt === -1 ? '' : loginUrl.slice(hashAt)
  const separator = base.includes('?') ? (base.endsWith('?') || base.endsWith('&') ? '' : '&') : '?'
  return base + separator + new URLSearchParams([[param, next]]).toString() + hash
}

/**
 * The `next` value for the current request, as Flask-Login's `make_next_param`
 * computes it: the path and query when the login URL is on the same origin
 * (or relative), the full URL when the login page lives on another origin.
 */
export function nextParamFor (loginUrl: string, currentPathAndQuery: string, currentOrigin: string): string {
  if (!/^[a-z][a-z0-9+.-]*:|^\/\//i.test(loginUrl)) return currentPathAndQuery
  let loginOrigin: string
  try {
    loginOrigin = new URL(loginUrl, currentOrigin).origin
  } catch {
    return currentPathAndQuery
  }
  return loginOrigin === currentOrigin ? currentPathAndQuery : currentOrigin + currentPathAndQuery
}
