/*
 * The store port: one interface for all of the plugin's server-side state
 * (session records; later remember-me series, refresh-token families,
 * revocations and login-failure counters). Imports nothing of ours but the
 * leaf `user.ts`.
 */
import type { MaybePromise } from './user.js'

/** A value JSON can carry unchanged: what a Redis or SQL store serialises. */
export type StoreJson = string | number | boolean | null | StoreJson[] | { [key: string]: StoreJson }

/**
 * What a store holds under a key: a plain, JSON-serialisable object (no
 * `undefined`, `Date`, `Map`, class instances or cycles), so that every store
 * gives back what was put in, whether it keeps the object or its JSON text.
 * Declare record shapes with `type` rather than `interface` to satisfy it.
 */
export type StoreValue = { [key: string]: StoreJson }

/** How long a key lives. */
export interface StoreTtlOptions {
  /**
   * Milliseconds from now (the store's clock) until the key expires: a
   * positive integer. An expired key is absent for every operation.
   */
  ttlMs: number
}

/** Options of {@link LoginStore.set} and {@link LoginStore.compareAndSet}. */
export interface StoreSetOptions extends StoreTtlOptions {
  /**
   * The user the key belongs to: the key joins that user's index
   * ({@link LoginStore.keysOfUser}). Without it the key belongs to no user.
   * The index follows the latest write: writing a key again with another
   * `userId`, or with none, moves it or takes it out.
   */
  userId?: string
}

/**
 * The plugin's server-side state, behind one port that a memory map, Redis
 * or SQL can implement. Every operation may answer synchronously or with a
 * promise. `fastify-login/testing` exports `runStoreContract()`, the suite
 * any store must pass.
 *
 * Keys are strings the plugin builds: ASCII letters, digits and `:` `.` `_`
 * `-`, at most 250 characters, with at most one `{…}` group marking the part
 * that must hash alike (the user), as Redis Cluster hash tags read it. User
 * ids inside keys are encoded by the plugin, so a key never holds spaces,
 * quotes or other raw text. A store may add its own prefix. A key written
 * with a `userId` carries that user's tag, `userTag(userId)` (`{` + the id's
 * UTF-8 in base64url + `}`, exported by `fastify-login/redis`), so that a
 * Redis Cluster keeps one user's keys, and the store's index of them, in one
 * slot.
 *
 * Time: a key set with `ttlMs` lives while `now < setAt + ttlMs`, where `now`
 * is the store's clock (Date.now by default; stores take a `clock` option so
 * tests move time without sleeping). Expiry is exact from the caller's view:
 * an expired key is never returned, counted or listed, however late the
 * store reclaims its memory.
 *
 * A key holds either a value (set, compareAndSet) or a counter (increment);
 * the plugin never mixes the two on one key, and a store may throw if asked to.
 */
export interface LoginStore {
  /** The live value under `key` (a copy: changing it changes nothing stored), or null. */
  get (key: string): MaybePromise<StoreValue | null>

  /**
   * Stores a copy of `value` under `key`, replacing any value and expiry, for
   * `ttlMs`; with `userId` the key joins that user's index. Value, expiry and
   * index change together: no reader sees one without the others.
   */
  set (key: string, value: StoreValue, options: StoreSetOptions): MaybePromise<void>

  /** Removes `key` (and takes it out of its user's index). True when a live key was there. */
  delete (key: string): MaybePromise<boolean>

  /**
   * Atomically: if the live value under `key` equals `expected`, replaces it
   * with `next` and answers true; otherwise changes nothing and answers false.
   * `expected` null means "only if absent" (never set, deleted or expired),
   * like Redis `SET … NX`. `next` null deletes the key on a match.
   *
   * Values are equal when they are deeply equal as JSON: the same keys (in any
   * order) holding equal values, arrays equal item by item in order.
   * Of any number of concurrent calls with the same `expected`, at most one
   * swaps; this is what rotation (remember-me series, refresh families) uses.
   * `options` (`ttlMs`, `userId`) apply to `next` as they do in `set`.
   */
  compareAndSet (key: string, expected: StoreValue | null, next: StoreValue, options: StoreSetOptions): MaybePromise<boolean>
  compareAndSet (key: string, expected: StoreValue | null, next: null): MaybePromise<boolean>

  /**
   * Atomically adds one to the counter under `key` and answers the new count.
   * An absent (or expired) counter starts at 1 and expires `ttlMs` later; an
   * existing one keeps its expiry (a fixed window, like Redis `INCR` then
   * `PEXPIRE … NX`). For login-failure throttling. Counters join no user index.
   */
  increment (key: string, options: StoreTtlOptions): MaybePromise<number>

  /** The live keys in `userId`'s index, in no particular order ([] for an unknown user). */
  keysOfUser (userId: string): MaybePromise<string[]>

  /**
   * Deletes every key in `userId`'s index, and no other key ("log out
   * everywhere"); answers how many live keys it removed. Keys written for the
   * user concurrently with the call may survive it.
   */
  deleteUser (userId: string): MaybePromise<number>

  /** Optional: frees what the store holds open (timers, its own connections); the plugin calls it when the app closes. */
  close? (): MaybePromise<void>
}
