import { hash } from 'node:crypto'
import { randomToken } from '../internal/random.js'
import { andThen, type MaybePromise } from '../internal/hook-adapter.js'
import type { Settings } from '../settings.js'
import { storeCall } from '../store/guarded.js'
import { sessionKey } from '../store/keys.js'
import type { LoginStore } from '../types/index.js'
import type { LoginRecord, SessionSlot } from '../types/internal.js'
import { isRecordOf, recordTtlMs } from './record.js'
import { RECORD_KEY, SECRET_KEY, type SessionLike } from './state.js'

/*
 * Where a session's record is kept. With a store, the cookie holds a random
 * secret and the store holds the record under the secret's SHA-256: a leaked
 * store dump (or a devices page) holds no usable session, and deleting the
 * record ends every copy of the cookie. With `store: false` the record rides
 * in the encrypted cookie, and a copy of the cookie cannot be ended.
 */

// 192 bits: well past the 128 bits ASVS 3.2.2 asks of a session token.
const SECRET_BYTES = 24
const SECRET_PATTERN = /^[A-Za-z0-9_-]{32}$/

/*
 * Every request of a session hashes its secret again; the last few thousand
 * answers are kept. Only secrets of the right shape reach this (so at most
 * 32 characters each), and the cache is dropped whole when full, so a
 * client cannot make it grow. It holds what the process sees on every
 * request anyway.
 */
const PUBLIC_IDS = new Map<string, string>()
const PUBLIC_ID_CACHE = 4096

/** The public id of a session: the SHA-256 of its secret. Looked up by hash, so no secret is ever compared. */
function publicIdOf (secret: string): string {
  let id = PUBLIC_IDS.get(secret)
  if (id === undefined) {
    id = hash('sha256', secret, 'base64url')
    if (PUBLIC_IDS.size >= PUBLIC_ID_CACHE) PUBLIC_IDS.clear()
    PUBLIC_IDS.set(secret, id)
  }
  return id
}

/** The public id of the session the cookie holds a secret of (any other value: none). */
export function cookieSessionId (session: SessionLike): string | null {
  const secret = session.get(SECRET_KEY)
  return typeof secret === 'string' && SECRET_PATTERN.test(secret) ? publicIdOf(secret) : null
}

/** The public id's shape, to refuse anything else before building a key from it. */
export const PUBLIC_ID_PATTERN = /^[A-Za-z0-9_-]{43}$/

/** The session `session`'s cookie points at, if it is a live record of `userId`; else null. */
export function readSlot (session: SessionLike, userId: string, settings: Settings): MaybePromise<SessionSlot | null> {
  const store = settings.lifetime.store
  if (store === null) {
    const record = session.get(RECORD_KEY)
    return isRecordOf(record, userId) ? { record, id: null } : null
  }
  const id = cookieSessionId(session)
  if (id === null) return null
  return andThen(storeCall(() => store.get(sessionKey(userId, id))), (value) =>
    isRecordOf(value, userId) ? { record: value, id } : null)
}

/**
 * Saves a new session's record; answers its slot and the keys its cookie
 * must get. The cookie is left to the caller, to be written only once the
 * record is saved: a failed save changes nothing in the browser.
 */
export function createSlot (record: LoginRecord, settings: Settings): MaybePromise<{ slot: SessionSlot, cookie: Record<string, unknown> }> {
  if (settings.lifetime.store === null) {
    // No devices to show without a store: the cookie does not carry the address and User-Agent.
    const small = { ...record, ip: '', ua: '' }
    return { slot: { record: small, id: null }, cookie: { [RECORD_KEY]: small } }
  }
  const secret = randomToken(SECRET_BYTES)
  // Not through the cache: a new secret's first hash would only push out one that is in use.
  const slot = { record, id: hash('sha256', secret, 'base64url') }
  return andThen(saveSlot(slot, settings.lifetime.store, settings), () => ({ slot, cookie: { [SECRET_KEY]: secret } }))
}

/** Saves a new session's record under its key, for the rest of its life. */
function saveSlot (slot: SessionSlot & { id: string }, store: LoginStore, settings: Settings): MaybePromise<void> {
  const { record } = slot
  const ttlMs = recordTtlMs(record, settings, settings.lifetime.clock())
  const key = sessionKey(record.u, slot.id)
  return storeCall(() => store.set(key, record, { ttlMs, userId: record.u }))
}

/**
 * Replaces the slot's record with `next` (a touch, a freshness change,
 * protection). With a store this is a compare-and-set against the record as
 * this request read it: a logout or revoke that deleted it meanwhile (another
 * tab, another process) must not be undone by this write, so a record that
 * changed or went away is left as it is. This request goes on with `next`
 * either way. Answers whether the write happened.
 */
export function updateSlot (session: SessionLike, slot: SessionSlot, next: LoginRecord, settings: Settings): MaybePromise<boolean> {
  const store = settings.lifetime.store
  const previous = slot.record
  slot.record = next
  if (store === null || slot.id === null) {
    session.set(RECORD_KEY, next)
    return true
  }
  const ttlMs = recordTtlMs(next, settings, settings.lifetime.clock())
  const key = sessionKey(next.u, slot.id)
  return storeCall(() => store.compareAndSet(key, previous, next, { ttlMs, userId: next.u }))
}

/** Deletes the record of session `id` of `userId` (nothing to do without a store); true when it was there. */
export function deleteSlot (userId: string, id: string | null, settings: Settings): MaybePromise<boolean> {
  const store = settings.lifetime.store
  if (store === null || id === null) return false
  const key = sessionKey(userId, id)
  return storeCall(() => store.delete(key))
}
