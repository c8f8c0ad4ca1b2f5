import type { FastifyRequest } from 'fastify'
import { LoginThrottledError } from '../errors.js'
import { emitEvent } from '../internal/events.js'
import { peekRequestState, requestState } from '../internal/request-state.js'
import { storeCall } from '../store/guarded.js'
import { throttleKeys } from '../store/keys.js'
import type { Settings } from '../settings.js'
import type { LoginStore } from '../types/index.js'
import type { ThrottleSettings } from './options.js'

/*
 * The counting behind `loginThrottle`. Each account and each client address
 * has a failure counter (a fixed window of `window`) and, once the counter
 * reaches its limit, a lock: the time until which attempts are refused. The
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

/** Milliseconds left on the lock under `key` (0 or less: none). */
async function lockLeft (store: LoginStore, key: string, now: number): Promise<number> {
  const lock = await storeCall(() => store.get(key))
  const until = lock?.until
  return typeof until === 'number' ? until - now : 0
}

/** The 429 for a wait of `retryAfter` seconds, with its `Retry-After` header (Fastify's error handler sends `error.headers`). */
function throttledError (retryAfter: number): InstanceType<typeof LoginThrottledError> {
  const err = new LoginThrottledError(`Too many failed login attempts: try again in ${retryAfter} second${retryAfter === 1 ? '' : 's'}`)
  return Object.assign(err, { headers: { 'retry-after': String(retryAfter) } })
}

/**
 * Refuses the attempt with FST_LOGIN_THROTTLED while the account or the
 * address is locked, and remembers the account on the request, so that a
 * `reply.login()` that follows clears its failures. Nothing with throttling off.
 *
 * @example
 * await checkThrottle(request, body.username, settings, 'jwt') // throws the 429, or passes
 */
export async function checkThrottle (request: FastifyRequest, username: unknown, settings: Settings, via: AttemptVia): Promise<void> {
  const account = accountOf(username, 'check')
  const address = addressOf(request, 'check')
  if (settings.throttle === null) return
  const { stateStore: store, clock } = settings.lifetime
  const now = clock()
  const [accountMs, addressMs] = await Promise.all([
    lockLeft(store, throttleKeys('a', account).lock, now),
    lockLeft(store, throttleKeys('ip', address).lock, now)
  ])
  const leftMs = Math.max(accountMs, addressMs)
  if (leftMs <= 0) {
    requestState(request).throttledAccount = account
    return
  }
  const retryAfter = Math.ceil(leftMs / 1000)
  emitEvent(settings.events, 'loginThrottled', {
    request,
    username: username as string,
    via,
    limit: accountMs >= addressMs ? 'account' : 'address',
    retryAfter
  })
  throw throttledError(retryAfter)
}

/** Counts one failure under `keys`; at the limit and past it, (re)writes the lock for the doubled delay. */
async function countFailure (store: LoginStore, keys: { count: string, lock: string }, limit: number, throttle: ThrottleSettings, clock: () => number): Promise<void> {
  const count = await storeCall(() => store.increment(keys.count, { ttlMs: throttle.windowMs }))
  if (count < limit) return
  // 2 ** large is Infinity, which min() turns into maxDelay: no overflow however long the attack.
  const delayMs = Math.min(throttle.maxDelayMs, BASE_DELAY_MS * 2 ** (count - limit))
  await storeCall(() => store.set(keys.lock, { until: clock() + delayMs }, { ttlMs: delayMs }))
}

/**
 * Counts a failed login for the account and for the request's address, and
 * emits `loginFailed` (the username as typed; the password is never seen
 * here). Nothing with throttling off.
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
  await Promise.all([
    countFailure(store, throttleKeys('a', account), throttle.perAccount, throttle, clock),
    countFailure(store, throttleKeys('ip', address), throttle.perAddress, throttle, clock)
  ])
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
