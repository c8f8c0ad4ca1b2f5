import type { FastifyReply, FastifyRequest } from 'fastify'
import { named } from '../guards/exports.js'
import { setCurrentUser } from '../user/load.js'
import { versionMatches } from '../session/auth-version.js'
import type { Settings } from '../settings.js'
import type { LoginUser } from '../types/index.js'
import type { TokenEngine } from './engine.js'
import { jwtError } from './challenge.js'
import { csrfOk } from './csrf.js'
import { tokenFinder, type FoundToken } from './extract.js'
import { andThen, runHook, type HookDone, type MaybePromise } from '../internal/hook-adapter.js'
import type { JwtSettings } from './options.js'
import { confirmSpent, standingOf } from '../rotation/rotate.js'
import { familyKey } from '../store/keys.js'
import { endFamily, endReusedFamily, type FamilyRecord } from './families.js'
import { storeVerdict } from './revocation.js'
import type { JwtClaims, JwtErrorCode, JwtGuard } from '../types/index.js'

interface GuardMode {
  type: 'access' | 'refresh'
  optional: boolean
  fresh: boolean
}

const REFRESH: GuardMode = { type: 'refresh', optional: false, fresh: false }

/** A token that passed every check, and its family (null for a token of none). */
export interface CheckedToken {
  claims: JwtClaims
  family: FamilyRecord | null
}

/**
 * The JWT guards and the verification they share. Every step runs
 * synchronously while the store, the `isRevoked` option and the user loader
 * answer with plain values (see hook-adapter.ts); the steps and their order
 * are the same either way.
 */
export function createJwtGuards (engine: TokenEngine, jwt: JwtSettings, core: Settings) {
  const fail = (code: JwtErrorCode): Error => jwtError(code, jwt.scheme, jwt.realm, jwt.messages)
  const findToken = tokenFinder(jwt)
  // The plugin's loader goes through the user cache (when on); the app's loadUserFromClaims may read
  // any claim, so its answers are never cached by the id alone. A cached user that the checks below
  // would refuse is loaded again first (see UserCache.load).
  const coreLoader = core.loadUser as NonNullable<Settings['loadUser']>
  const cache = core.userCache
  const loadUser = jwt.loadUserFromClaims ?? (cache === null
    ? (claims: JwtClaims, request: FastifyRequest) => coreLoader(claims.sub, request)
    : (claims: JwtClaims, request: FastifyRequest, family: FamilyRecord | null) => cache.load(claims.sub, request, coreLoader,
        (user) => user !== null && user !== undefined && core.isUserActive(user) && (family === null || versionMatches(core.lifetime, family.v, user))))

  /**
   * Verified, not revoked claims of `token` and its family, or the error
   * code that refuses it. The verified-token cache (engine.verify) only
   * spares the signature check: the store is asked on every call.
   */
  function checkToken (token: string, type: 'access' | 'refresh', request: FastifyRequest, reread = false): MaybePromise<CheckedToken | JwtErrorCode> {
    const claims = engine.verify(token)
    if (typeof claims === 'string') return claims
    if (claims.type !== type) return 'FST_LOGIN_JWT_WRONG_TYPE'
    return andThen(storeVerdict(claims, core), (verdict): MaybePromise<CheckedToken | JwtErrorCode> => {
      if (verdict.revoked) return 'FST_LOGIN_JWT_REVOKED'
      const { family } = verdict
      // A refresh token already spent (and past the grace) is refused wherever it is presented, as a theft,
      // not only at the refresh endpoint: an app route behind refreshJwtRequired must not accept it either.
      if (family !== null && claims.type === 'refresh' && standingOf(family, claims.jti, core.lifetime.clock(), jwt.reuseGraceMs) === 'reused') {
        return spentRefresh(token, request, claims, family, reread)
      }
      const checked = { claims, family }
      if (jwt.isRevoked === undefined) return checked
      return andThen(jwt.isRevoked(claims, request), (revoked) => revoked ? 'FST_LOGIN_JWT_REVOKED' : checked)
    })
  }

  /**
   * A refresh token that is no longer its family's current one. Confirmed
   * against the store first (the family may have been read from a cache a
   * moment behind a refresh on another process): then the family ends, with
   * the alarm; if the record had changed, it is read once more.
   */
  function spentRefresh (token: string, request: FastifyRequest, claims: JwtClaims, family: FamilyRecord, reread: boolean): MaybePromise<CheckedToken | JwtErrorCode> {
    const fam = claims.fam as string
    const options = { ttlMs: Math.max(1000, family.e - core.lifetime.clock()), userId: claims.sub }
    return andThen(confirmSpent(core.lifetime.stateStore, familyKey(claims.sub, fam), family, options), (confirmed) => {
      if (confirmed) return endReusedFamily(request, claims.sub, fam, core).then(() => 'FST_LOGIN_JWT_REVOKED' as const)
      return reread ? 'FST_LOGIN_JWT_REVOKED' : checkToken(token, 'refresh', request, true)
    })
  }

  /** Throws (or rejects with) the refusal; sets the user and claims when the request passes. */
  function authenticate (request: FastifyRequest, mode: GuardMode): MaybePromise<void> {
    const found = findToken(request, mode.type)
    // Only a header of another scheme: no token of ours, so jwtOptional lets
    // the request go on as anonymous, and the others say the scheme is wrong.
    if (found === null || found === 'FST_LOGIN_JWT_WRONG_SCHEME') {
      if (mode.optional) return
      throw fail(found ?? 'FST_LOGIN_JWT_NO_TOKEN')
    }
    if (typeof found === 'string') throw fail(found)
    return andThen(checkToken(found.token, mode.type, request), (claims) => accept(request, mode, found, claims))
  }

  function accept (request: FastifyRequest, mode: GuardMode, found: FoundToken, checked: CheckedToken | JwtErrorCode): MaybePromise<void> {
    if (typeof checked === 'string') throw fail(checked)
    const { claims, family } = checked
    if (found.location === 'cookies' && !csrfOk(request, jwt, claims)) throw fail('FST_LOGIN_JWT_CSRF')
    if (mode.fresh && claims.fresh !== true) throw fail('FST_LOGIN_JWT_FRESH_REQUIRED')
    return andThen(loadUser(claims, request, family), (user) => {
      if (user === null || user === undefined || !core.isUserActive(user as LoginUser)) throw fail('FST_LOGIN_JWT_USER_NOT_FOUND')
      // The family was started with credentials that no longer hold (a new password): it ends, every token of it.
      if (family !== null && !versionMatches(core.lifetime, family.v, user as LoginUser)) {
        return endFamily(family.u, claims.fam as string, core).then(() => { throw fail('FST_LOGIN_JWT_REVOKED') })
      }
      request.jwtClaims = claims
      setCurrentUser(request, user as LoginUser, true)
    })
  }

  /**
   * The refresh grant's token (a form body, lib/jwt/refresh-grant.ts): the
   * same checks as refreshJwtRequired, except the CSRF double submit, which
   * guards cookies only: a token in the body was sent by whoever holds it.
   */
  async function presentedRefresh (request: FastifyRequest, token: string): Promise<void> {
    const found: FoundToken = { token, location: 'body' }
    await andThen(checkToken(token, 'refresh', request), (checked) => accept(request, REFRESH, found, checked))
  }

  function guard (mode: GuardMode): JwtGuard {
    return function jwtGuard (request: FastifyRequest, _reply: FastifyReply, done?: HookDone) {
      return runHook(authenticate, request, mode, done)
    } as JwtGuard
  }

  return {
    checkToken,
    fail,
    findToken,
    presentedRefresh,
    guards: {
      jwtRequired: named(guard({ type: 'access', optional: false, fresh: false }), 'jwtRequired'),
      jwtOptional: named(guard({ type: 'access', optional: true, fresh: false }), 'jwtOptional'),
      freshJwtRequired: named(guard({ type: 'access', optional: false, fresh: true }), 'freshJwtRequired'),
      refreshJwtRequired: named(guard(REFRESH), 'refreshJwtRequired')
    }
  }
}
