import { andThen, type MaybePromise } from '../internal/hook-adapter.js'
import type { Settings } from '../settings.js'
import { storeCall } from '../store/guarded.js'
import { rememberCutoffKey, rememberEndedKey } from '../store/keys.js'
import type { LoginRecord, RememberToken } from '../types/internal.js'

/*
 * Remember-me tokens are sealed cookies, not store records (yet: rotating
 * series are the next step). So that ending a session also ends the device's
 * way back in, the store keeps two small marks: "device id ended" (written
 * when its session is logged out or revoked) and a per-user cut-off ("tokens
 * issued before this time are refused", written by a logout everywhere or a
 * revokeAll without `except`). A restore checks both; nothing else does.
 */

// A cut-off must outlive every token issued before it, whatever `duration` its login chose.
const CUTOFF_TTL_MS = 100 * 365 * 86400_000

/** Whether `token` was ended from the server. Without a store, never. */
export function rememberTokenEnded (token: RememberToken, settings: Settings): MaybePromise<boolean> {
  const store = settings.lifetime.store
  if (store === null) return false
  return andThen(storeCall(() => store.get(rememberEndedKey(token.userId, token.id))), (ended) => {
    if (ended !== null) return true
    return andThen(storeCall(() => store.get(rememberCutoffKey(token.userId))), (cutoff) =>
      typeof cutoff?.at === 'number' && token.issuedAt <= cutoff.at)
  })
}

/** Ends the remember-me device of `record`, if it has one: its token (and any re-issue of it) is refused from now on. */
export function endRememberDevice (record: LoginRecord, settings: Settings): MaybePromise<void> {
  const store = settings.lifetime.store
  if (store === null || record.m === null || record.md === null) return
  // A re-issued token keeps the device id and lives at most `md` from its last re-issue, which is before now.
  const ttlMs = record.md * 1000
  const key = rememberEndedKey(record.u, record.m)
  return storeCall(() => store.set(key, { at: settings.lifetime.clock() }, { ttlMs }))
}

/** Refuses every remember-me token of `userId` issued up to now (logout everywhere, revokeAll). */
export function cutOffRemember (userId: string, settings: Settings): MaybePromise<void> {
  const store = settings.lifetime.store
  if (store === null) return
  const key = rememberCutoffKey(userId)
  return storeCall(() => store.set(key, { at: settings.lifetime.clock() }, { ttlMs: CUTOFF_TTL_MS }))
}
