import type { FastifyReply, FastifyRequest } from 'fastify'
import { ensureUserLoaded, isAuthenticated } from '../user/load.js'
import { FreshLoginRequiredError, UnauthorizedError } from '../errors.js'
import { named } from './exports.js'
import { loginFresh } from '../session/login.js'
import { runHook, type HookDone, type MaybePromise } from '../internal/hook-adapter.js'
import type { Settings } from '../settings.js'
import type { Guard } from '../types/index.js'
import { denialMessage, denyAccess } from './unauthorized.js'

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
  const check = (request: FastifyRequest, reply: FastifyReply): MaybePromise<FastifyReply | undefined> => {
    const loading = ensureUserLoaded(request, settings)
    return loading === undefined ? decide(request, reply, settings) : loading.then(() => decide(request, reply, settings))
  }
  return function sessionGuard (request: FastifyRequest, reply: FastifyReply, done?: HookDone) {
    return runHook(check, request, reply, done)
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
    loginRequired: named(guard(login, settings), 'loginRequired'),
    freshLoginRequired: named(guard(freshLogin, settings), 'freshLoginRequired'),
    verifyLogin: named(guard(verify, settings), 'verifyLogin'),
    verifyFreshLogin: named(guard(verifyFresh, settings), 'verifyFreshLogin')
  }
}
