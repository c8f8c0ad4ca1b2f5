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
  const decideAndMark = (request: FastifyRequest, reply: FastifyReply): MaybePromise<FastifyReply | undefined> => {
    const sent = decide(request, reply, settings)
    // decide() answers undefined (pass) synchronously; a promise is a refusal in progress.
    if (sent === undefined) privatePage(reply)
    return sent
  }
  const check = (request: FastifyRequest, reply: FastifyReply): MaybePromise<FastifyReply | undefined> => {
    const loading = ensureUserLoaded(request, settings)
    return loading === undefined ? decideAndMark(request, reply) : loading.then(() => decideAndMark(request, reply))
  }
  return function sessionGuard (request: FastifyRequest, reply: FastifyReply, done?: HookDone) {
    return runHook(check, request, reply, done)
  } as Guard
}

/*
 * A page a guard let through shows one user's data: no cache may keep it, or
 * after logout the back button (or the next user of a shared computer) sees
 * it again from the browser's cache (ASVS V8.2.1). The route's own
 * Cache-Control wins: one set before the guard is kept, and the handler may
 * set another.
 */
function privatePage (reply: FastifyReply): void {
  if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store')
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
