import type { FastifyInstance, FastifyRequest } from 'fastify'
import { kRequestState } from '../symbols.js'
import type { RequestState } from '../types/internal.js'

/*
 * The one accessor of the plugin's private state. A request holds one object
 * behind one symbol (decorated as null, so Fastify keeps the request shape
 * stable; made on first use, so requests that never touch the plugin pay
 * nothing). Instance-level values (per-scope login URLs, the settings) are
 * read through `scopeValue` for the same reason: the casts live here only.
 */

type WithState = FastifyRequest & { [kRequestState]: RequestState | null }

/** The request's state, made on first use. */
export function requestState (request: FastifyRequest): RequestState {
  const holder = request as WithState
  let state = holder[kRequestState]
  if (state === null) {
    state = { userLoad: null, authenticated: false, remember: null, login: null, throttledAccount: null, throttleAddress: null }
    holder[kRequestState] = state
  }
  return state
}

/** The request's state if anything made it, else null: for hooks that must not allocate on every request. */
export function peekRequestState (request: FastifyRequest): RequestState | null {
  return (request as WithState)[kRequestState]
}

/** A value the plugin decorated on `instance` (or a parent of it) under `key`. */
export function scopeValue<T> (instance: FastifyInstance, key: symbol): T | undefined {
  return (instance as unknown as Record<symbol, T | undefined>)[key]
}

/** Sets a value on `instance` itself, shadowing a parent's only in that scope. */
export function setScopeValue (instance: FastifyInstance, key: symbol, value: unknown): void {
  (instance as unknown as Record<symbol, unknown>)[key] = value
}
