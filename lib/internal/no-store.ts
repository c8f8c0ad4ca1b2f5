import type { FastifyRequest, onSendHookHandler } from 'fastify'

/*
 * A response that sets or clears a login cookie must not be stored by a
 * shared cache: a proxy could hand one user's fresh session cookie to the
 * next visitor (OWASP Session Management Cheat Sheet). Such responses get
 * `Cache-Control: no-store`. A route's own Cache-Control is kept when it
 * already keeps shared caches out (`private` or `no-store`); any other value
 * (`public, max-age=300` on a page where a remember-me restore happened to
 * write a session) is replaced, since it would let a CDN store the cookie.
 * The cookies are read from the Set-Cookie header itself, so the rule holds
 * for every writer: login, logout, remember-me, session protection, JWT
 * cookies, and secure-session's own rewrites of a session that holds a login.
 */
export function noStoreForCookies (names: string[], sessionName?: string): onSendHookHandler {
  const prefixes = names.map((name) => `${name}=`)
  return function noStoreForLoginCookies (request, reply, _payload, done) {
    const header = reply.getHeader('set-cookie')
    if (header === undefined || keepsSharedCachesOut(reply.getHeader('cache-control'))) return done()
    const cookies = Array.isArray(header) ? header : [String(header)]
    if (sessionWritten(request, sessionName) || cookies.some((cookie) => prefixes.some((prefix) => cookie.startsWith(prefix)))) {
      reply.header('cache-control', 'no-store')
    }
    done()
  }
}

const PRIVATE = /(?:^|,)\s*(?:private|no-store)\s*(?:[,=]|$)/i

function keepsSharedCachesOut (value: unknown): boolean {
  return value !== undefined && PRIVATE.test(String(value))
}

/*
 * secure-session writes its cookie exactly when the session changed. An app
 * that registered secure-session itself may have named that cookie without
 * telling us (`sessionCookieName` is optional), so the name alone would miss it.
 */
function sessionWritten (request: FastifyRequest, sessionName: string | undefined): boolean {
  if (sessionName === undefined) return false
  const session: { changed?: unknown } | null | undefined = Reflect.get(request, sessionName)
  return session?.changed === true
}
