import type { FastifyReply, FastifyRequest } from 'fastify'
import { ensureUserLoaded, isAuthenticated } from '../user/load.js'
import { FreshLoginRequiredError, UnauthorizedError } from '../errors.js'
import { loginFresh } from '../session/login.js'
import { refuseNow, settle, type HookDone, type MaybePromise } from '../internal/hook-adapter.js'
import type { Settings } from '../settings.js'
import { denialMessage, denyAccess } from './unauthorized.js'

/**
 * A session guard: a preHandler (or any request hook), an @fastify/auth
 * function, or awaited from app code: `await fastify.loginRequired(request, reply)`.
 */
export interface Guard {
  /** Awaited: resolves when the request passes (or with the reply the unauthorized flow sent), rejects with the 401 otherwise. */
  (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined>
  /** As a hook: calls `done` when the request passes at once, else returns a promise. */
  (request: FastifyRequest, reply: FastifyReply, done: HookDone): Promise<FastifyReply | undefined> | undefined
}

/** What a guard decides once the user is loaded: pass (undefined), the reply the unauthorized flow sent, or a throw. */
type Decide = (request: FastifyRequest, reply: FastifyReply, settings: Settings) => MaybePromise<FastifyReply | undefined>

/*
 * OPTIONS requests are guarded like any other method. Flask-Login lets them
 * through because Flask answers OPTIONS itself; in Fastify an OPTIONS route
 * runs its own handler, and a CORS preflight is answered by @fastify/cors in
 * onRequest, before any preHandler guard runs.
 *
 * A request that passes with a synchronous loader is done without a promise;
 * a refusal (which may run the app's async `unauthorized` handler) or an
 * async loader returns one.
 */
function guard (decide: Decide, settings: Settings): Guard {
  return function sessionGuard (request: FastifyRequest, reply: FastifyReply, done?: HookDone): Promise<FastifyReply | undefined> | undefined {
    let outcome: MaybePromise<FastifyReply | undefined>
    try {
      const loading = ensureUserLoaded(request, settings)
      outcome = loading === undefined ? decide(request, reply, settings) : loading.then(() => decide(request, reply, settings))
    } catch (err) {
      return refuseNow(err, done)
    }
    return settle(outcome, done)
  } as Guard
}

const login: Decide = (request, reply, settings) =>
  isAuthenticated(request) ? undefined : denyAccess('login', request, reply, settings)

const freshLogin: Decide = (request, reply, settings) => {
  if (!isAuthenticated(request)) return denyAccess('login', request, reply, settings)
  return loginFresh(request, settings) ? undefined : denyAccess('refresh', request, reply, settings)
}

// For @fastify/auth and other composition: only throw, never send or redirect.
const verify: Decide = (request, _reply, settings) => {
  if (!isAuthenticated(request)) throw new UnauthorizedError(denialMessage('login', request, settings))
  return undefined
}

const verifyFresh: Decide = (request, reply, settings) => {
  verify(request, reply, settings)
  if (!loginFresh(request, settings)) throw new FreshLoginRequiredError(denialMessage('refresh', request, settings))
  return undefined
}

/** The guards, bound to the plugin's settings. */
export function createGuards (settings: Settings): Record<'loginRequired' | 'freshLoginRequired' | 'verifyLogin' | 'verifyFreshLogin', Guard> {
  return {
    loginRequired: guard(login, settings),
    freshLoginRequired: guard(freshLogin, settings),
    verifyLogin: guard(verify, settings),
    verifyFreshLogin: guard(verifyFresh, settings)
  }
}
