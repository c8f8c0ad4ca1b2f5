import type { FastifyReply, FastifyRequest } from 'fastify'
import { ensureUserLoaded, isAuthenticated } from './current-user.js'
import { FreshLoginRequiredError, UnauthorizedError } from './errors.js'
import { loginFresh } from './login.js'
import type { Settings } from './settings.js'
import { denialMessage, denyAccess } from './unauthorized.js'

/** A preHandler-compatible guard. */
export type Guard = (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined>

/*
 * OPTIONS requests pass every guard, as in Flask-Login: CORS preflights carry
 * no cookies and must not be redirected to a login page.
 */

/** The guards, bound to the plugin's settings. */
export function createGuards (settings: Settings): Record<'loginRequired' | 'freshLoginRequired' | 'verifyLogin' | 'verifyFreshLogin', Guard> {
  async function loginRequired (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    if (request.method === 'OPTIONS') return undefined
    const loading = ensureUserLoaded(request, settings)
    if (loading !== undefined) await loading
    if (isAuthenticated(request)) return undefined
    return denyAccess('login', request, reply, settings)
  }

  async function freshLoginRequired (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    if (request.method === 'OPTIONS') return undefined
    const loading = ensureUserLoaded(request, settings)
    if (loading !== undefined) await loading
    if (!isAuthenticated(request)) return denyAccess('login', request, reply, settings)
    if (loginFresh(request, settings)) return undefined
    return denyAccess('refresh', request, reply, settings)
  }

  // For @fastify/auth and other composition: only throw, never send or redirect.
  async function verifyLogin (request: FastifyRequest): Promise<undefined> {
    if (request.method === 'OPTIONS') return undefined
    const loading = ensureUserLoaded(request, settings)
    if (loading !== undefined) await loading
    if (!isAuthenticated(request)) throw new UnauthorizedError(denialMessage('login', request, settings))
    return undefined
  }

  async function verifyFreshLogin (request: FastifyRequest): Promise<undefined> {
    await verifyLogin(request)
    if (request.method !== 'OPTIONS' && !loginFresh(request, settings)) throw new FreshLoginRequiredError(denialMessage('refresh', request, settings))
    return undefined
  }

  return { loginRequired, freshLoginRequired, verifyLogin, verifyFreshLogin }
}
