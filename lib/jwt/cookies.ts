import type { FastifyReply } from 'fastify'
import type { JwtSettings } from './options.js'
import type { JwtClaims, JwtTokens } from '../types/index.js'

/** The claims of a token this plugin just made (no verification: we signed it). */
function claimsOf (token: string): JwtClaims {
  const payload = token.split('.')[1] as string
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as JwtClaims
}

/**
 * Sets the token cookies (HttpOnly) and their CSRF cookies (readable by the
 * page's scripts, which copy them into the X-CSRF-Token header).
 */
export function setJwtCookies (reply: FastifyReply, jwt: JwtSettings, tokens: JwtTokens): void {
  const cookies = jwt.cookies
  if (cookies === null) throw new Error("fastify-login: reply.setJwtCookies() needs jwt.locations to include 'cookies'")
  const pairs: Array<[string | undefined, string, string]> = [
    [tokens.accessToken, cookies.access, cookies.accessCsrf],
    [tokens.refreshToken, cookies.refresh, cookies.refreshCsrf]
  ]
  for (const [token, name, csrfName] of pairs) {
    if (token === undefined) continue
    const claims = claimsOf(token)
    const maxAge = Math.max(claims.exp - Math.floor(Date.now() / 1000), 0)
    reply.setCookie(name, token, { ...cookies.attributes, httpOnly: true, maxAge })
    if (cookies.csrf && typeof claims.csrf === 'string') {
      reply.setCookie(csrfName, claims.csrf, { ...cookies.attributes, httpOnly: false, maxAge })
    }
  }
}

/** Deletes the token and CSRF cookies. */
export function clearJwtCookies (reply: FastifyReply, jwt: JwtSettings): void {
  const cookies = jwt.cookies
  if (cookies === null) return
  for (const name of [cookies.access, cookies.refresh, cookies.accessCsrf, cookies.refreshCsrf]) {
    reply.clearCookie(name, cookies.attributes)
  }
}
