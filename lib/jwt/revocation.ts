import { isThenable, type MaybePromise } from '../internal/hook-adapter.js'
import type { Settings } from '../settings.js'
import { storeCall } from '../store/guarded.js'
import { familyKey, revokedTokenKey, tokenCutoffKey } from '../store/keys.js'
import type { JwtClaims, StoreValue } from '../types/index.js'
import { forgetUser } from '../user/cache.js'
import { isPoisoned } from '../rotation/rotate.js'
import { FAMILY_ID_PATTERN, isFamilyOf, type FamilyRecord } from './families.js'

/*
 * Token revocation in the plugin's store (memory or Redis, shared by every
 * process on it): a revoked token id (`jwtrev:<jti>`, kept until the token
 * would be refused anyway), a user's cut-off (`jwtcut:<user tag>`: every
 * token issued up to then is refused), and the token's family, which must
 * still exist. Token times (`iat`, `exp`) are seconds of Date.now, as the
 * verifier counts them; the store's expiries are durations from now.
 */

/** What the store says of a verified token: refused, or accepted with its family (null: a token of no family). */
export type StoreVerdict = { revoked: true } | { revoked: false, family: FamilyRecord | null }

const REVOKED: StoreVerdict = { revoked: true }
const NO_FAMILY: StoreVerdict = { revoked: false, family: null }

/**
 * Reads, at once, what can refuse `claims`: its id's revocation, its user's
 * cut-off and its family. Plain values stay plain (MemoryStore); with an
 * asynchronous store the three reads run in parallel, one round trip.
 */
export function storeVerdict (claims: JwtClaims, settings: Settings): MaybePromise<StoreVerdict> {
  const store = settings.lifetime.stateStore
  const fam = claims.fam
  // A `fam` claim that is no family id cannot name a live family: the token is refused, not treated as family-less.
  if (fam !== undefined && (typeof fam !== 'string' || !FAMILY_ID_PATTERN.test(fam))) return REVOKED
  const reads: Array<MaybePromise<StoreValue | null>> = [
    storeCall(() => store.get(revokedTokenKey(claims.jti))),
    storeCall(() => store.get(tokenCutoffKey(claims.sub)))
  ]
  if (fam !== undefined) reads.push(storeCall(() => store.get(familyKey(claims.sub, fam))))
  const judge = ([revoked, cutoff, family]: Array<StoreValue | null | undefined>): StoreVerdict => {
    if (revoked !== null) return REVOKED
    // Number(): an entry of another shape compares as NaN and refuses nothing.
    if (cutoff != null && claims.iat <= Number(cutoff.at)) return REVOKED
    if (fam === undefined) return NO_FAMILY
    // A poisoned family (a confirmed reuse whose cleanup has not finished) refuses every token of it.
    return isFamilyOf(family, claims.sub) && !isPoisoned(family) ? { revoked: false, family } : REVOKED
  }
  return reads.some(isThenable) ? Promise.all(reads).then(judge) : judge(reads as Array<StoreValue | null>)
}

/** Revokes token `claims.jti` until the verifier would refuse it anyway: `exp` plus the leeway. */
export function revokeTokenId (claims: JwtClaims, leeway: number, settings: Settings): MaybePromise<void> {
  forgetUser(settings, claims.sub)
  const ttlMs = (claims.exp + leeway) * 1000 - Date.now()
  // Already past its expiry and the leeway: refused as expired, nothing to keep.
  if (ttlMs <= 0) return
  const store = settings.lifetime.stateStore
  return storeCall(() => store.set(revokedTokenKey(claims.jti), { at: Math.floor(Date.now() / 1000) }, { ttlMs: Math.ceil(ttlMs) }))
}

/**
 * Refuses every token of `userId` issued up to this second. Written with no
 * `userId`, so that no deleteUser (logout everywhere) takes it away, and
 * kept `keepSeconds` (the longest token lifetime and the leeway): by then
 * every token it covers has expired.
 */
export function setTokenCutoff (userId: string, keepSeconds: number, settings: Settings): MaybePromise<void> {
  forgetUser(settings, userId)
  const store = settings.lifetime.stateStore
  return storeCall(() => store.set(tokenCutoffKey(userId), { at: Math.floor(Date.now() / 1000) }, { ttlMs: keepSeconds * 1000 }))
}
