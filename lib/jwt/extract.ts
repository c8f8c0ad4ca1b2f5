import type { FastifyRequest } from 'fastify'
import type { JwtSettings } from './options.js'
import type { JwtErrorCode, JwtLocation } from '../types/index.js'

/** A token found in the request, and where (`body`: the refresh grant's form). */
export interface FoundToken {
  token: string
  location: JwtLocation | 'body'
}

/** What the search gives: a token, nothing, or an error code for a malformed header. */
export type Lookup = FoundToken | null | JwtErrorCode

/**
 * Makes the token search of `jwt`: the configured locations, in order. An
 * Authorization header that is there but is not exactly `<scheme> <token>`
 * (one space, case-insensitive scheme, non-empty token) is an error rather
 * than "no token": the client meant to authenticate and got it wrong. A
 * header of another scheme (`Basic`, from a proxy's login prompt) carries no
 * token of ours: the search goes on, and only when nothing else is found does
 * the answer say that the scheme is wrong (see WRONG_SCHEME in guards.ts).
 */
export function tokenFinder (jwt: JwtSettings): (request: FastifyRequest, type: 'access' | 'refresh') => Lookup {
  const scheme = jwt.scheme
  const lowerScheme = scheme.toLowerCase()
  return function findToken (request, type) {
    let otherScheme = false
    for (const location of jwt.locations) {
      if (location === 'headers') {
        const header = request.headers.authorization
        if (header === undefined) continue
        const space = header.indexOf(' ')
        if (header === '') return 'FST_LOGIN_JWT_MALFORMED'
        const given = space === -1 ? header : header.slice(0, space)
        if (given !== scheme && given.toLowerCase() !== lowerScheme) {
          otherScheme = true
          continue
        }
        if (space === -1 || header.indexOf(' ', space + 1) !== -1 || space === header.length - 1) return 'FST_LOGIN_JWT_MALFORMED'
        return { token: header.slice(space + 1), location }
      }
      if (location === 'cookies' && jwt.cookies !== null) {
        const token = request.cookies?.[type === 'access' ? jwt.cookies.access : jwt.cookies.refresh]
        if (token !== undefined && token !== '') return { token, location }
        continue
      }
      if (location === 'query') {
        const token = (request.query as Record<string, unknown> | undefined)?.[jwt.queryParam]
        if (typeof token === 'string' && token !== '') return { token, location }
      }
    }
    return otherScheme ? 'FST_LOGIN_JWT_WRONG_SCHEME' : null
  }
}
