/*
 * User loaders, revocation stores and hooks may answer directly or with a
 * promise. In-memory ones answer directly, and awaiting a plain value still
 * costs a promise and a microtask turn per step on every request. So the
 * user load and the JWT guards chain their steps synchronously while the
 * values are plain, and with promises from the first step that really
 * returns a thenable.
 */

export type MaybePromise<T> = T | PromiseLike<T>

/** What `await` would treat as a promise: an object or function with a callable `then`. */
export function isThenable<T> (value: MaybePromise<T>): value is PromiseLike<T> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
}

/** `next(value)` now when `value` is plain, else once it settles (a rejection skips `next`). */
export function andThen<T, R> (value: MaybePromise<T>, next: (value: T) => MaybePromise<R>): MaybePromise<R> {
  return isThenable(value) ? Promise.resolve(value).then(next) : next(value)
}
