/*
 * User loaders, revocation stores and hooks may answer directly or with a
 * promise. In-memory ones answer directly, and awaiting a plain value still
 * costs a promise and a microtask turn per step on every request. So the
 * user load and the JWT guards chain their steps synchronously while the
 * values are plain, and with promises from the first step that really
 * returns a thenable.
 */

import type { HookDone, MaybePromise } from '../types/index.js'

export type { MaybePromise }

/** What `await` would treat as a promise: an object or function with a callable `then`. */
export function isThenable<T> (value: MaybePromise<T>): value is PromiseLike<T> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
}

/** `next(value)` now when `value` is plain, else once it settles (a rejection skips `next`). */
export function andThen<T, R> (value: MaybePromise<T>, next: (value: T) => MaybePromise<R>): MaybePromise<R> {
  return isThenable(value) ? Promise.resolve(value).then(next) : next(value)
}

export type { HookDone }

/*
 * Fastify and @fastify/auth call a hook as (request, reply, done) and wait
 * for `done` unless the hook returns a promise. A guard whose outcome is
 * settled hands it to `done` and makes no promise; one that had to wait
 * returns its promise. Called without `done` (awaited by app code), a guard
 * always returns a promise.
 */

/**
 * Runs a hook's check and ends the hook with its outcome: the only place
 * that decides between Fastify's `done` and a promise. A check that throws
 * synchronously is a refusal; one that answers a promise is returned as it.
 */
export function runHook<R, P, T> (check: (request: R, reply: P) => MaybePromise<T>, request: R, reply: P, done: HookDone | undefined): Promise<T> | undefined {
  let outcome: MaybePromise<T>
  try {
    // Called with its arguments rather than as a closure: no allocation per request.
    outcome = check(request, reply)
  } catch (err) {
    return refuseNow(err, done)
  }
  return settle(outcome, done)
}

/** Ends a guard whose check threw synchronously. */
export function refuseNow (err: unknown, done: HookDone | undefined): Promise<never> | undefined {
  if (typeof done !== 'function') return Promise.reject(err)
  done(err as Error)
  return undefined
}

/** Ends a guard with its outcome: `done()` now when it is settled, else its promise. */
export function settle<T> (outcome: MaybePromise<T>, done: HookDone | undefined): Promise<T> | undefined {
  if (isThenable(outcome)) return Promise.resolve(outcome)
  if (typeof done !== 'function') return Promise.resolve(outcome)
  // An error thrown by the rest of the request (run from inside done) is not the guard's.
  done()
  return undefined
}
