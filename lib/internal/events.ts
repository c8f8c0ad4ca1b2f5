import { EventEmitter } from 'node:events'
import type { FastifyBaseLogger, FastifyRequest } from 'fastify'
import type { LoginEventMap, LoginEventName, LoginEvents, SessionEndedEvent, UserEventName } from '../types/index.js'
import { logEvent, type UserIdOf } from './debug-log.js'

// The plain emitter behind each typed `fastify.loginEvents` (the same object).
const emitters = new WeakMap<LoginEvents, EventEmitter>()
// How the debug log names each emitter's users (the plugin's getUserId).
const userIds = new WeakMap<LoginEvents, UserIdOf>()

/**
 * The emitter behind `fastify.loginEvents`. A plain EventEmitter: the type
 * only narrows its loose `(string | symbol, Function)` methods to our events.
 */
export function createLoginEvents (userIdOf: UserIdOf): LoginEvents {
  const emitter = new EventEmitter()
  const typed: LoginEvents = emitter
  emitters.set(typed, emitter)
  userIds.set(typed, userIdOf)
  return typed
}

/** Every event is logged at debug level (debug-log.ts), whether anyone listens or not. */
function log<K extends LoginEventName> (emitter: LoginEvents, name: K, payload: LoginEventMap[K], logger: FastifyBaseLogger): void {
  logEvent(name, payload, logger, userIds.get(emitter) as UserIdOf)
}

/**
 * Calls every listener of `name` on its own, so that a listener that throws
 * (or returns a rejected promise) is logged and cannot break the request or
 * keep the other listeners from running. EventEmitter#emit would stop at the
 * first throw and hand the error to our caller.
 */
export function emitLoginEvent<K extends UserEventName> (
  emitter: LoginEvents,
  name: K,
  request: FastifyRequest,
  user: LoginEventMap[K]['user'],
  via: LoginEventMap[K]['via']
): void {
  const payload = { request, user, via } as LoginEventMap[K]
  log(emitter, name, payload, request.log)
  if (emitter.listenerCount(name) === 0) return
  emitPayload(emitter, name, payload, request.log)
}

/** `sessionEnded`, with `log` for listener failures when no request is at hand. */
export function emitSessionEnded (emitter: LoginEvents, event: Omit<SessionEndedEvent, 'via'>, logger: FastifyBaseLogger): void {
  const payload: SessionEndedEvent = { ...event, via: 'session' }
  log(emitter, 'sessionEnded', payload, event.request?.log ?? logger)
  if (emitter.listenerCount('sessionEnded') === 0) return
  emitPayload(emitter, 'sessionEnded', payload, event.request?.log ?? logger)
}

/** An event whose payload is not a {@link LoginEvent} (theft, throttling). */
export function emitEvent<K extends Exclude<LoginEventName, UserEventName | 'sessionEnded'>> (emitter: LoginEvents, name: K, payload: LoginEventMap[K]): void {
  log(emitter, name, payload, payload.request.log)
  if (emitter.listenerCount(name) === 0) return
  emitPayload(emitter, name, payload, payload.request.log)
}

function emitPayload<K extends LoginEventName> (emitter: LoginEvents, name: K, payload: LoginEventMap[K], log: FastifyBaseLogger): void {
  // rawListeners: a `once` listener comes wrapped, and only its wrapper removes it.
  const listeners = emitters.get(emitter)?.rawListeners(name) ?? []
  for (const listener of listeners as Array<(event: LoginEventMap[K]) => unknown>) {
    try {
      const result = listener(payload)
      if (result !== null && typeof result === 'object' && typeof (result as Promise<unknown>).catch === 'function') {
        (result as Promise<unknown>).catch((err: unknown) => logListenerError(log, name, err))
      }
    } catch (err) {
      logListenerError(log, name, err)
    }
  }
}

function logListenerError (log: FastifyBaseLogger, name: string, err: unknown): void {
  log.error({ err, event: name }, 'fastify-login: an event listener failed')
}
