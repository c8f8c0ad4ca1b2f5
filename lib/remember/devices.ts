import { andThen, type MaybePromise } from '../internal/hook-adapter.js'
import type { Settings } from '../settings.js'
import { storeCall } from '../store/guarded.js'
import { rememberDeviceKey, rememberDevicePrefix } from '../store/keys.js'
import type { LoginRecord, RememberToken } from '../types/internal.js'

/*
 * Remember-me devices. The token is a sealed cookie; with a store, each
 * token's device id also has a record in the store for as long as the token
 * lives, and a restore needs it. Ending the device (its session logged out
 * or revoked, a logout everywhere) deletes that record, so the cookie and
 * every copy of it stop working, and nothing is left behind to expire. (The
 * next step turns these records into rotating series that notice a stolen
 * token.) Without a store, tokens are stateless, as before.
 */

/** Whether `token`'s device is still live in the store (always, without one). */
export function rememberDeviceLive (token: RememberToken, settings: Settings): MaybePromise<boolean> {
  const store = settings.lifetime.store
  if (store === null) return true
  const key = rememberDeviceKey(token.userId, token.id)
  return andThen(storeCall(() => store.get(key)), (device) => device !== null)
}

/** Records device `id` of `userId` for `durationSeconds` (a login with remember, or a re-issued token's touch). */
export function saveRememberDevice (userId: string, id: string, durationSeconds: number, settings: Settings): MaybePromise<void> {
  const store = settings.lifetime.store
  if (store === null) return
  const key = rememberDeviceKey(userId, id)
  return storeCall(() => store.set(key, { at: settings.lifetime.clock() }, { ttlMs: durationSeconds * 1000, userId }))
}

/**
 * Extends device `id` of `userId` to live `durationSeconds` from now, if it
 * still exists: a compare-and-set, so a device ended meanwhile stays ended.
 */
export function extendRememberDevice (userId: string, id: string, durationSeconds: number, settings: Settings): MaybePromise<void> {
  const store = settings.lifetime.store
  if (store === null) return
  const key = rememberDeviceKey(userId, id)
  return andThen(storeCall(() => store.get(key)), (current) => {
    if (current === null) return
    return andThen(storeCall(() => store.compareAndSet(key, current, { at: settings.lifetime.clock() }, { ttlMs: durationSeconds * 1000, userId })), () => undefined)
  })
}

/** Ends the remember-me device of `record`, if it has one. */
export function endRememberDevice (record: LoginRecord, settings: Settings): MaybePromise<void> {
  if (record.m === null) return
  return endRememberDeviceId(record.u, record.m, settings)
}

/** Ends remember-me device `id` of `userId` (the device of a cookie being replaced or cleared). */
export function endRememberDeviceId (userId: string, id: string, settings: Settings): MaybePromise<void> {
  const store = settings.lifetime.store
  if (store === null) return
  const key = rememberDeviceKey(userId, id)
  return andThen(storeCall(() => store.delete(key)), () => undefined)
}

/** Ends every remember-me device of `userId` but `except` (a device id), also those whose session had timed out. */
export async function endRememberDevices (userId: string, except: string | null, settings: Settings): Promise<void> {
  const store = settings.lifetime.store
  if (store === null) return
  const prefix = rememberDevicePrefix(userId)
  const kept = except === null ? null : prefix + except
  const keys = (await storeCall(() => store.keysOfUser(userId))).filter((key) => key.startsWith(prefix) && key !== kept)
  await Promise.all(keys.map((key) => storeCall(() => store.delete(key))))
}
