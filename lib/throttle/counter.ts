import type { FastifyRequest } from 'fastify'
import { LoginThrottledError } from '../errors.js'
import { emitEvent } from '../internal/events.js'
import { peekRequestState, requestState } from '../internal/request-state.js'
import { storeCall } from '../store/guarded.js'
import { throttleKeys } from '../store/keys.js'
import { enterAttempt, leaveAttempt } from './in-flight.js'
import type { Settings } from '../settings.js'
import type { LoginStore, StoreValue } from '../types/index.js'
import type { ThrottleSettings } from './options.js'

/*
 * The counting behind `loginThrottle`. Each account has a counter of
 * attempts (counted as they come in, cleared by a success) and each client
 * address one of failures, both in a fixed window of `window`; once a
 * counter reaches its limit, a lock: the time until which attempts are refused. The
 * lock lasts 1 s at the limit and doubles with each further failure, up to
 * `maxDelay`, so an attacker slows to a crawl while the real user, who stops
 * failing, is let in again soon: a backoff, never a permanent lockout.
 *
 * Nothing here looks the account up: an unknown username is counted and
 * throttled exactly like a real one, so a 429 tells nobody which exist.
 * Every store call goes through storeCall: a failing store refuses (503),
 * it never lets an attempt through unthrottled.
 */

/** Who counts a failure: the app's own form through `fastify.loginThrottle`, or the token endpoint. */
export type AttemptVia = 'session' | 'jwt'

// The first lock (at the limit) lasts a second: long enough to stop a script, short enough to go unnoticed by a person.
const BASE_DELAY_MS = 1000
// Usernames are compared by their first 1024 characters (the token endpoint's limit): normalising a megabyte costs time.
const MAX_USERNAME = 1024
// A lock write loses its compare-and-set only to a concurrent one; a few retries settle it.
const LOCK_ATTEMPTS = 3

/**
 * The account a username stands for: NFKC, lower case, without surrounding
 * spaces, so that `Alice`, `alice ` and `ａｌｉｃｅ` share one counter (an
 * attacker must not get five more tries per spelling). Throws a TypeError
 * for a username that is not a string: that is the app's mistake.
 *
 * @example
 * accountOf(' Alice', 'check') // 'alice'
 */
export function accountOf (username: unknown, what: string): string {
  if (typeof username !== 'string') throw new TypeError(`fastify-login: loginThrottle.${what}() needs the username as a string`)
  return username.slice(0, MAX_USERNAME).normalize('NFKC').toLowerCase().trim()
}

function addressOf (request: FastifyRequest, what: string): string {
  if (request === null || typeof request !== 'object' || typeof request.ip !== 'string') {
    throw new TypeError(`fastify-login: loginThrottle.${what}() needs the Fastify request as its first argument`)
  }
  return request.ip
}

/** A lock as stored, and the time left on it at the check (0 or less: it has run out). */
interface StoredLock { value: StoreValue, leftMs: number }

/** The lock under `key` at `now`, also one whose time has run out (kept for the window), or null. */
async function readLock (store: LoginStore, key: string, now: number): Promise<StoredLock | null> {
  const value = await storeCall(() => store.get(key))
  return typeof value?.until === 'number' && typeof value.count === 'number' ? { value, leftMs: value.until - now } : null
}

/** The 429 for a wait of `retryAfter` seconds, with its `Retry-After` header (Fastify's error handler sends `error.headers`). */
function throttledError (retryAfter: number): InstanceType<typeof LoginThrottledError> {
  const err = new LoginThrottledError(`Too many failed login attempts: try again in ${retryAfter} second${retryAfter === 1 ? '' : 's'}`)
  return Object.assign(err, { headers: { 'retry-after': String(retryAfter) } })
}

function refuse (request: FastifyRequest, username: string, settings: Settings, via: AttemptVia, limit: 'account' | 'address', leftMs: number): never {
  const retryAfter = Math.ceil(leftMs / 1000)
  emitEvent(settings.events, 'loginThrottled', { request, username, via, limit, retryAfter })
  throw throttledError(retryAfter)
}

/** The lock for an attempt counted `count`-th: 1 s at `limit`, doubling with each further one, up to maxDelay. */
function lockFor (count: number, limit: number, throttle: ThrottleSettings, now: number): { until: number, count: number } {
  // 2 ** large is Infinity, which min() turns into maxDelay: no overflow however long the attack.
  return { until: now + Math.min(throttle.maxDelayMs, BASE_DELAY_MS * 2 ** (count - limit)), count }
}

/** Store options of a lock: kept for the window, past its time, so that the next check sees the backoff it ends. */
function lockTtl (lock: { until: number }, throttle: ThrottleSettings, now: number): { ttlMs: number } {
  return { ttlMs: Math.max(lock.until - now, throttle.windowMs) }
}

/** Writes `next` unless a lock of a later attempt is there already (a lock is only ever raised). */
async function raiseLock (store: LoginStore, key: string, next: { until: number, count: number }, throttle: ThrottleSettings, now: number): Promise<void> {
  for (let attempt = 0; attempt < LOCK_ATTEMPTS; attempt++) {
    const current = await storeCall(() => store.get(key))
    if (typeof current?.count === 'number' && current.count >= next.count) return
    if (await storeCall(() => store.compareAndSet(key, current, next, lockTtl(next, throttle, now)))) return
  }
}

/**
 * Counts an attempt on the account before its password is tested, and
 * answers how long to refuse it for (0: let it through). Guesses sent in
 * parallel would all pass a check that looks only at failures already
 * recorded, so each attempt is counted as it comes in (a success clears
 * the count), and past the limit a lock decides: the attempt that reaches
 * the limit writes it; once it has run out, exactly one attempt (the one
 * whose compare-and-set replaces it) goes on, with the next, doubled lock;
 * the others are refused and raise it.
 */
async function countAttempt (store: LoginStore, account: string, lock: StoredLock | null, throttle: ThrottleSettings, clock: () => number): Promise<number> {
  const keys = throttleKeys('a', account)
  const count = await storeCall(() => store.increment(keys.count, { ttlMs: throttle.windowMs }))
  if (count < throttle.perAccount) return 0
  const now = clock()
  const next = lockFor(count, throttle.perAccount, throttle, now)
  if (lock === null && count === throttle.perAccount) {
    await storeCall(() => store.compareAndSet(keys.lock, null, next, lockTtl(next, throttle, now)))
    return 0
  }
  if (lock !== null && await storeCall(() => store.compareAndSet(keys.lock, lock.value, next, lockTtl(next, throttle, now)))) return 0
  await raiseLock(store, keys.lock, next, throttle, now)
  const current = await readLock(store, keys.lock, now)
  return Math.max(BASE_DELAY_MS, current?.leftMs ?? 0)
}

/**
 * Refuses the attempt with FST_LOGIN_THROTTLED while the account or the
 * address is locked; otherwise counts it on the account and remembers the
 * account on the request, so that a `reply.login()` that follows clears
 * the count. Nothing with throttling off.
 *
 * @example
 * await checkThrottle(request, body.username, settings, 'jwt') // throws the 429, or passes
 */
export async function checkThrottle (request: FastifyRequest, username: unknown, settings: Settings, via: AttemptVia): Promise<void> {
  const account = accountOf(username, 'check')
  const address = addressOf(request, 'check')
  const throttle = settings.throttle
  if (throttle === null) return
  const { stateStore: store, clock } = settings.lifetime
  const now = clock()
  const [accountLock, addressLock] = await Promise.all([
    readLock(store, throttleKeys('a', account).lock, now),
    readLock(store, throttleKeys('ip', address).lock, now)
  ])
  const accountMs = accountLock?.leftMs ?? 0
  const addressMs = addressLock?.leftMs ?? 0
  // A refused attempt tests no password and counts nothing: the real user cannot make their own wait longer.
  if (accountMs > 0 || addressMs > 0) refuse(request, username as string, settings, via, accountMs >= addressMs ? 'account' : 'address', Math.max(accountMs, addressMs))
  // A burst over many usernames: see in-flight.ts.
  if (!enterAttempt(request, address, throttle.perAddress)) refuse(request, username as string, settings, via, 'address', BASE_DELAY_MS)
  let waitMs: number
  try {
    waitMs = await countAttempt(store, account, accountLock, throttle, clock)
  } catch (err) {
    leaveAttempt(request)
    throw err
  }
  if (waitMs > 0) {
    leaveAttempt(request)
    refuse(request, username as string, settings, via, 'account', waitMs)
  }
  requestState(request).throttledAccount = account
}

/** Counts one failure of the address; at its limit and past it, (re)writes its lock. */
async function countAddressFailure (store: LoginStore, address: string, throttle: ThrottleSettings, clock: () => number): Promise<void> {
  const keys = throttleKeys('ip', address)
  const count = await storeCall(() => store.increment(keys.count, { ttlMs: throttle.windowMs }))
  const now = clock()
  if (count >= throttle.perAddress) await raiseLock(store, keys.lock, lockFor(count, throttle.perAddress, throttle, now), throttle, now)
}

/**
 * A failed login: emits `loginFailed` (the username as typed; the password
 * is never seen here) and counts it for the request's address. The account
 * counted the attempt at check(); a failure reported without one is counted
 * on the account now. Nothing with throttling off.
 *
 * @example
 * if (user === null) await recordFailure(request, username, settings, 'session')
 */
export async function recordFailure (request: FastifyRequest, username: unknown, settings: Settings, via: AttemptVia): Promise<void> {
  const account = accountOf(username, 'fail')
  const address = addressOf(request, 'fail')
  const throttle = settings.throttle
  if (throttle === null) return
  emitEvent(settings.events, 'loginFailed', { request, username: username as string, via })
  const { stateStore: store, clock } = settings.lifetime
  const checked = peekRequestState(request)?.throttledAccount === account
  try {
    await Promise.all([
      checked ? undefined : countAttempt(store, account, null, throttle, clock),
      countAddressFailure(store, address, throttle, clock)
    ])
  } finally {
    // Only once the failure counts does the attempt leave the in-flight set.
    leaveAttempt(request)
  }
}

/**
 * Clears the failures and the lock of `account` (already normalised). Only
 * the account's: clearing the address on a success would let an attacker
 * who owns one valid account reset the count of every guess from there.
 */
async function clearAccount (account: string, settings: Settings): Promise<void> {
  if (settings.throttle === null) return
  const store = settings.lifetime.stateStore
  const keys = throttleKeys('a', account)
  await Promise.all([storeCall(() => store.delete(keys.count)), storeCall(() => store.delete(keys.lock))])
}

/**
 * After a successful login: clears the account that `checkThrottle()` let
 * through on this request, if any (a request that never checked clears nothing).
 *
 * @example
 * await clearCheckedAccount(reply.request, settings) // at the end of reply.login()
 */
export async function clearCheckedAccount (request: FastifyRequest, settings: Settings): Promise<void> {
  leaveAttempt(request)
  const account = peekRequestState(request)?.throttledAccount ?? null
  if (account === null) return
  requestState(request).throttledAccount = null
  await clearAccount(account, settings)
}

/**
 * `fastify.loginThrottle.reset(username)`: an administrator's unlock of one account.
 *
 * @example
 * await resetAccount('alice', settings)
 */
export async function resetAccount (username: unknown, settings: Settings): Promise<void> {
  await clearAccount(accountOf(username, 'reset'), settings)
}
