import type { FastifyRequest } from 'fastify'
import { setCurrentUser } from '../current-user.js'
import type { Settings } from '../settings.js'
import type { LoginUser } from '../types.js'
import type { TokenEngine } from './engine.js'
import { jwtError, type JwtErrorCode } from './errors.js'
import { csrfOk, findToken } from './extract.js'
import type { JwtSettings } from './settings.js'
import type { JwtClaims, JwtGuard } from './types.js'

interface GuardMode {
  type: 'access' | 'refresh'
  optional: boolean
  fresh: boolean
}

/** The JWT guards and the verification they share. */
export function createJwtGuards (engine: TokenEngine, jwt: JwtSettings, core: Settings) {
  const fail = (code: JwtErrorCode): Error => jwtError(code, jwt.scheme, jwt.realm, jwt.messages)
  const loadUser = jwt.loadUserFromClaims ??
    ((claims: JwtClaims, request: FastifyRequest) => (core.loadUser as NonNullable<Settings['loadUser']>)(claims.sub, request))

  /** Verified, not revoked claims of `token`, or the error code that refuses it. */
  async function checkToken (token: string, type: 'access' | 'refresh', request: FastifyRequest): Promise<JwtClaims | JwtErrorCode> {
    const result = engine.verify(token)
    if (!result.ok) return result.code
    const claims = result.claims
    if (claims.type !== type) return 'FST_LOGIN_JWT_WRONG_TYPE'
    if (await isRevoked(claims, request)) return 'FST_LOGIN_JWT_REVOKED'
    return claims
  }

  async function isRevoked (claims: JwtClaims, request: FastifyRequest): Promise<boolean> {
    if (await jwt.store.isRevoked(claims.jti)) return true
    const cutoff = await jwt.store.getUserCutoff(claims.sub)
    if (cutoff !== undefined && claims.iat <= cutoff) return true
    return jwt.isRevoked !== undefined && await jwt.isRevoked(claims, request)
  }

  async function authenticate (request: FastifyRequest, mode: GuardMode): Promise<void> {
    if (request.method === 'OPTIONS') return
    const found = findToken(request, jwt, mode.type)
    if (typeof found === 'string') throw fail(found)
    if (found === null) {
      if (mode.optional) return
      throw fail('FST_LOGIN_JWT_NO_TOKEN')
    }
    const claims = await checkToken(found.token, mode.type, request)
    if (typeof claims === 'string') throw fail(claims)
    if (found.location === 'cookies' && !csrfOk(request, jwt, claims)) throw fail('FST_LOGIN_JWT_CSRF')
    if (mode.fresh && claims.fresh !== true) throw fail('FST_LOGIN_JWT_FRESH_REQUIRED')
    const user = await loadUser(claims, request) as LoginUser | null | undefined
    if (user === null || user === undefined || !core.isUserActive(user)) throw fail('FST_LOGIN_JWT_USER_NOT_FOUND')
    request.jwtClaims = claims
    setCurrentUser(request, user, true)
  }

  function guard (mode: GuardMode): JwtGuard {
    return async (request) => { await authenticate(request, mode) }
  }

  return {
    checkToken,
    fail,
    guards: {
      jwtRequired: guard({ type: 'access', optional: false, fresh: false }),
      jwtOptional: guard({ type: 'access', optional: true, fresh: false }),
      freshJwtRequired: guard({ type: 'access', optional: false, fresh: true }),
      refreshJwtRequired: guard({ type: 'refresh', optional: false, fresh: false })
    }
  }
}
