import { EventEmitter } from 'node:events'
import type { FastifyBaseLogger, FastifyRequest } from 'fastify'
import type { CurrentUser, LoginEventName } from '../types/index.js'

/**
 * Calls every listener of `name` on its own, so that a listener that throws
 * (or returns a rejected promise) is logged and cannot break the request or
 * keep the other listeners from running. EventEmitter#emit would stop at the
 * first throw and hand the error to our caller.
 */
export function emitLoginEvent (emitter: EventEmitter, name: LoginEventName, request: FastifyRequest, user: CurrentUser): void {
  if (emitter.listenerCount(name) === 0) return
  const payload = { request, user }
  for (const listener of emitter.listeners(name)) {
    try {
      const result = (listener as (event: typeof payload) => unknown)(payload)
      if (result !== null && typeof result === 'object' && typeof (result as Promise<unknown>).catch === 'function') {
        (result as Promise<unknown>).catch((err: unknown) => logListenerError(request.log, name, err))
      }
    } catch (err) {
      logListenerError(request.log, name, err)
    }
  }
}

function logListenerError (log: FastifyBaseLogger, name: string, err: unknown): void {
  log.error({ err, event: name }, 'fastify-login: an event listener failed')
}
