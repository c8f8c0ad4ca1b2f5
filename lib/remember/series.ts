import { andThen, type MaybePromise } from '../internal/hook-adapter.js'
import { firstFields, type RotatingFields } from '../rotation/rotate.js'
import type { Settings } from '../settings.js'
import { storeCall } from '../store/guarded.js'
import { rememberSeriesKey, rememberSeriesPrefix } from '../store/keys.js'
import type { LoginStore, StoreValue } from '../types/index.js'
import type { LoginRecord } from '../types/internal.js'

/*
 * Remember-me series in the store. A login with remember starts a series:
 * the cookie carries its id and a secret, the store its record (the secret
 * hashed, the user, the expiry, the session it made). Each restore spends
 * the secret for a new one (restore.ts); ending the series (its session
 * logged out or revoked, a logout everywhere, a theft) deletes the record,
 * so the cookie and every copy of it stop working. Without a store the
 * cookie is a stateless sealed token, as in Flask-Login, and none of this
 * applies.
 */

/** A series record (short names: one per remembered device). */
export type SeriesRecord = RotatingFields & {
  /** Created (the login with remember), ms. */
  c: number
  /** Expires (the login's duration; `refreshEachRequest` moves it), ms. */
  e: number
  /** The lifetime in seconds. */
  d: number
  /** The user's auth version hash at login, or null. */
  v: string | null
  /** The client at the last login or restore. */
  ip: string
  ua: string
  /** The public id of the session its last restore made (null until one did). */
  s: string | null
} & StoreValue

/** Whether `value` is a live series record of `userId` at `now`. */
export function isSeriesOf (value: StoreValue | null, userId: string, now: number): value is SeriesRecord {
  if (value === null) return false
  const { u, h, p, r, g, c, e, d, v, ip, ua, s } = value
  return u === userId && typeof h === 'string' && (p === null || typeof p === 'string') && Number.isSafeInteger(r) &&
    (g === null || typeof g === 'string') && Number.isSafeInteger(c) && Number.isSafeInteger(e) && (e as number) > now &&
    Number.isSafeInteger(d) && (v === null || typeof v === 'string') && typeof ip === 'string' && typeof ua === 'string' &&
    (s === null || typeof s === 'string')
}

/** A new series for the login whose session record is `record` (it names the series in `m`). */
export function newSeries (record: LoginRecord, secret: string, settings: Settings): SeriesRecord {
  const now = settings.lifetime.clock()
  const duration = record.md as number
  return {
    ...firstFields(record.u, secret, now),
    c: now,
    e: now + duration * 1000,
    d: duration,
    v: record.v,
    ip: record.ip,
    ua: record.ua,
    s: null
  }
}

/** Saves a new series `id` (nothing to do without a store). */
export function saveSeries (id: string, series: SeriesRecord, settings: Settings): MaybePromise<void> {
  const store = settings.lifetime.store
  if (store === null) return
  const key = rememberSeriesKey(series.u, id)
  return storeCall(() => store.set(key, series, { ttlMs: Math.max(1, series.e - settings.lifetime.clock()), userId: series.u }))
}

/**
 * `refreshEachRequest`: series `id` lives `duration` seconds from now, if it
 * still exists (a compare-and-set, so a series ended or rotated meanwhile is
 * left as it is). Answers the new expiry, or null when nothing was extended.
 */
export function extendSeries (userId: string, id: string, settings: Settings): MaybePromise<number | null> {
  const store = settings.lifetime.store
  if (store === null) return null
  const key = rememberSeriesKey(userId, id)
  return andThen(storeCall(() => store.get(key)), (current) => {
    const now = settings.lifetime.clock()
    if (!isSeriesOf(current, userId, now)) return null
    const e = now + current.d * 1000
    return andThen(storeCall(() => store.compareAndSet(key, current, { ...current, e }, { ttlMs: current.d * 1000, userId })), (done) => done ? e : null)
  })
}

/** Ends series `id` of `userId`; true when it was there. */
export function endSeries (userId: string, id: string, settings: Settings): MaybePromise<boolean> {
  const store = settings.lifetime.store
  if (store === null) return false
  const key = rememberSeriesKey(userId, id)
  return storeCall(() => store.delete(key))
}

/** Ends the series of the session `record`, if it has one. */
export function endSeriesOf (record: LoginRecord, settings: Settings): MaybePromise<void> {
  if (record.m === null) return
  return andThen(endSeries(record.u, record.m, settings), () => undefined)
}

/** The live series of `userId`, by id. */
export async function listSeries (store: LoginStore, userId: string, settings: Settings): Promise<Array<{ id: string, series: SeriesRecord }>> {
  const prefix = rememberSeriesPrefix(userId)
  const keys = (await storeCall(() => store.keysOfUser(userId))).filter((key) => key.startsWith(prefix))
  const values = await Promise.all(keys.map((key) => storeCall(() => store.get(key))))
  const now = settings.lifetime.clock()
  const out: Array<{ id: string, series: SeriesRecord }> = []
  values.forEach((value, i) => {
    if (isSeriesOf(value, userId, now)) out.push({ id: (keys[i] as string).slice(prefix.length), series: value })
  })
  return out
}

/** Ends every series of `userId` in `store` but `except` (a series id), also those whose session had timed out. */
export async function endAllSeries (store: LoginStore, userId: string, except: string | null): Promise<void> {
  const prefix = rememberSeriesPrefix(userId)
  const kept = except === null ? null : prefix + except
  const keys = (await storeCall(() => store.keysOfUser(userId))).filter((key) => key.startsWith(prefix) && key !== kept)
  await Promise.all(keys.map((key) => storeCall(() => store.delete(key))))
}
