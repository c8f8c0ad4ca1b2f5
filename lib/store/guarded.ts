import { StoreUnavailableError } from '../errors.js'
import { isThenable, type MaybePromise } from '../internal/hook-adapter.js'

/** Seconds a client is asked to wait (`Retry-After`) after a store failure. */
const STORE_RETRY_AFTER_SECONDS = 1

/**
 * A StoreUnavailableError for `cause`, carrying the `Retry-After` header
 * (Fastify's error handler sends `error.headers`); a StoreUnavailableError
 * itself (a store may throw one) gets the header and is passed on.
 */
export function storeUnavailable (cause: unknown, what = 'the store failed'): InstanceType<typeof StoreUnavailableError> {
  const err = cause instanceof StoreUnavailableError ? cause : new StoreUnavailableError(what, { cause })
  return Object.assign(err, { headers: { 'retry-after': String(STORE_RETRY_AFTER_SECONDS) } })
}

/**
 * Runs one store operation. Whatever the store throws or rejects with (a
 * Redis connection refused, a timeout, a SQL error) becomes
 * FST_LOGIN_STORE_UNAVAILABLE: a 503 with `Retry-After`, so a failing store
 * can only refuse a request, never let one through or crash the process.
 * A plain answer stays plain (MemoryStore costs no promise).
 */
export function storeCall<T> (operation: () => MaybePromise<T>): MaybePromise<T> {
  let result: MaybePromise<T>
  try {
    result = operation()
  } catch (err) {
    throw storeUnavailable(err)
  }
  if (!isThenable(result)) return result
  return Promise.resolve(result).then(undefined, (err: unknown) => { throw storeUnavailable(err) })
}
