import { hash, timingSafeEqual } from 'node:crypto'
import { openAnswer, sealAnswer, type GraceKeys } from './answer.js'
import { andThen, isThenable, type MaybePromise } from '../internal/hook-adapter.js'
import { storeCall, storeUnavailable } from '../store/guarded.js'
import type { LoginStore, StoreSetOptions, StoreValue } from '../types/index.js'

/*
 * Rotating credentials: the one model behind remember-me series and
 * refresh-token families. The store keeps a record per series (or family)
 * holding the hash of the one secret that is current (`h`). Presenting it
 * spends it: one atomic compare-and-set replaces the record with one naming
 * a new secret, so of any number of concurrent presenters exactly one makes
 * the successor. Presenting a secret that is no longer current means two
 * parties hold the credential, one of them a thief (Barry Jaspan's
 * persistent-login design; OAuth 2.0 Security BCP §4.14.2 for refresh
 * tokens): the caller ends the series or family.
 *
 * Two tabs restoring at once, or a client retrying a refresh whose answer
 * it lost, also present a secret just spent. So the record keeps, for
 * `grace` after each rotation, the hash of the previous secret (`p`) and the
 * answer the rotation gave (`g`), sealed with a key derived from that
 * previous secret and a server key (answer.ts): whoever presents it in time
 * gets the same answer (the same successor, never a second one), and the
 * store itself holds nothing a reader of its dump could use.
 */

/** The fields every rotating record has (a series or a family adds its own). */
export type RotatingFields = {
  /** The user. */
  u: string
  /** SHA-256 of the current secret. */
  h: string
  /** SHA-256 of the previous secret, or null before the first rotation. */
  p: string | null
  /** When the last rotation (or the creation) happened, ms of the plugin's clock. */
  r: number
  /** The last rotation's answer sealed for holders of the previous secret, or null. */
  g: string | null
}

export type RotatingRecord = RotatingFields & StoreValue

// Each attempt only fails because another request changed the record; a few outlast any real contention.
const ATTEMPTS = 5

/** The hash a record keeps of `secret`. */
export function secretHash (secret: string): string {
  return hash('sha256', secret, 'base64url')
}

/** Equal hashes, compared in constant time (both are SHA-256 in base64url, so of one length). */
function sameHash (a: string | null, b: string): boolean {
  if (a === null || a.length !== b.length) return false
  return timingSafeEqual(Buffer.from(a), Buffer.from(b))
}

/** How `secret` stands against `record` at `now`. */
export type Standing = 'current' | 'graced' | 'reused'

/**
 * `current`: the secret to spend. `graced`: the one just spent, within
 * `graceMs` of its rotation. `reused`: any other secret of the record's
 * series (the previous one too late, or an older one): theft.
 */
export function standingOf (record: RotatingFields, secret: string, now: number, graceMs: number): Standing {
  const presented = secretHash(secret)
  if (sameHash(record.h, presented)) return 'current'
  if (record.g !== null && now < record.r + graceMs && sameHash(record.p, presented)) return 'graced'
  return 'reused'
}

/** The fields of a new series or family whose current secret is `secret`. */
export function firstFields (userId: string, secret: string, now: number): RotatingFields {
  return { u: userId, h: secretHash(secret), p: null, r: now, g: null }
}

/** What rotate() needs from its caller. */
export interface Rotation<R extends RotatingRecord, A extends StoreValue> {
  store: LoginStore
  key: string
  /** The secret presented. */
  secret: string
  graceMs: number
  /** The server keys that seal the grace answer (see answer.ts). */
  graceKeys: GraceKeys
  clock: () => number
  /** Whether a stored value is a live record of this kind for this user (anything else counts as absent). */
  isRecord: (value: StoreValue | null) => value is R
  /**
   * Optional: whether the record may be spent at all (a user whose auth
   * version changed since the login may not); false answers `refused`
   * before any successor is made.
   */
  accept?: (record: R) => boolean
  /**
   * Makes the successor of `record`: its new secret, the answer to give
   * (also to graced presenters), and the record's other fields after the
   * rotation. May have side effects (a new session record); `discard` undoes
   * them when another request rotated first.
   */
  successor: (record: R) => MaybePromise<{ secret: string, answer: A, record: Omit<R, keyof RotatingFields> }>
  discard: (answer: A) => MaybePromise<void>
  /** Store options of the rotated record. */
  options: (next: R) => StoreSetOptions
}

/** The outcome of presenting a secret. */
export type Rotated<R, A> =
  | { kind: 'rotated', answer: A, record: R }
  | { kind: 'graced', answer: A, record: R }
  | { kind: 'reused', record: R }
  | { kind: 'refused', record: R }
  | { kind: 'gone' }

/**
 * Spends `secret`: a compare-and-set from the record as read to its
 * successor. Losing the race re-reads the record, and then the secret is
 * usually `graced` (the winner's answer is handed out again). Runs
 * synchronously while the store and the caller's steps answer plainly (a
 * MemoryStore restore makes no promise), with promises from the first one
 * that does not.
 */
export function rotate<R extends RotatingRecord, A extends StoreValue> (rotation: Rotation<R, A>): MaybePromise<Rotated<R, A>> {
  return attemptRotation(rotation, 0)
}

function attemptRotation<R extends RotatingRecord, A extends StoreValue> (rotation: Rotation<R, A>, attempt: number): MaybePromise<Rotated<R, A>> {
  if (attempt >= ATTEMPTS) throw storeUnavailable(null, 'a credential kept changing while it was rotated')
  const { store, key, secret } = rotation
  return andThen(storeCall(() => store.get(key)), (value): MaybePromise<Rotated<R, A>> => {
    if (!rotation.isRecord(value)) return { kind: 'gone' }
    const record = value
    const now = rotation.clock()
    const standing = standingOf(record, secret, now, rotation.graceMs)
    if (standing === 'reused') return confirmReuse(rotation, record, attempt)
    if (rotation.accept !== undefined && !rotation.accept(record)) return { kind: 'refused', record }
    if (standing === 'graced') {
      const answer = openAnswer(record.g as string, secret, rotation.graceKeys) as A | null
      // A box that does not open with the secret whose hash matched cannot happen short of a broken store: refuse.
      if (answer === null) return confirmReuse(rotation, record, attempt)
      return { kind: 'graced', answer, record }
    }
    return andThen(rotation.successor(record), (made) => {
      const next = {
        ...record,
        ...made.record,
        u: record.u,
        h: secretHash(made.secret),
        p: record.h,
        r: now,
        g: rotation.graceMs > 0 ? sealAnswer(made.answer, secret, rotation.graceKeys) : null
      } as R
      return andThen(swap(rotation, record, next, made.answer), (swapped) => swapped
        ? { kind: 'rotated', answer: made.answer, record: next }
        : andThen(rotation.discard(made.answer), () => attemptRotation(rotation, attempt + 1)))
    })
  })
}

/** Whether `record` was spent for good by a confirmed reuse (see poisoned()): no secret of it is accepted again. */
export function isPoisoned (record: RotatingFields): boolean {
  return record.h === ''
}

/**
 * `record` with no current secret: after a reuse, every secret of it counts
 * as reused (the empty string is no SHA-256), until the caller has ended it.
 */
function poisoned<R extends RotatingRecord> (record: R): R {
  return { ...record, h: '', p: null, g: null }
}

/**
 * A secret that is no longer current is theft, and theft ends logins: so
 * the verdict is confirmed against the store itself before anyone acts on
 * it. A read may come from a cache a moment behind a rotation made on
 * another process (RedisStore's local cache), where the new, legitimate
 * secret would look reused. A compare-and-set is never served from a cache:
 * if the record is as read, it is swapped for its poisoned copy (so a
 * cleanup that fails half-way is started again by the next presenter of
 * any of its secrets, thief or victim); if not, the record is read again.
 */
function confirmReuse<R extends RotatingRecord, A extends StoreValue> (rotation: Rotation<R, A>, record: R, attempt: number): MaybePromise<Rotated<R, A>> {
  return andThen(confirmSpent(rotation.store, rotation.key, record, rotation.options(poisoned(record))), (confirmed) =>
    confirmed ? { kind: 'reused', record } : attemptRotation(rotation, attempt + 1))
}

/**
 * Poisons `record` under `key` if it is still as read: true confirms that a
 * secret found reused really is (see confirmReuse); false, that the record
 * has changed meanwhile and must be read again before any verdict.
 */
export function confirmSpent<R extends RotatingRecord> (store: LoginStore, key: string, record: R, options: StoreSetOptions): MaybePromise<boolean> {
  return storeCall(() => store.compareAndSet(key, record, poisoned(record), options))
}

/** The compare-and-set; when the store fails, what the successor made (a session) must not outlive the refusal. */
function swap<R extends RotatingRecord, A extends StoreValue> (rotation: Rotation<R, A>, record: R, next: R, answer: A): MaybePromise<boolean> {
  const undo = (err: unknown): MaybePromise<never> => {
    const thrown = (): never => { throw err }
    let discarding: MaybePromise<void>
    try {
      discarding = rotation.discard(answer)
    } catch {
      return thrown()
    }
    return isThenable(discarding) ? Promise.resolve(discarding).then(thrown, thrown) : thrown()
  }
  let swapped: MaybePromise<boolean>
  try {
    swapped = storeCall(() => rotation.store.compareAndSet(rotation.key, record, next, rotation.options(next)))
  } catch (err) {
    return undo(err)
  }
  return isThenable(swapped) ? Promise.resolve(swapped).then(undefined, undo) : swapped
}
