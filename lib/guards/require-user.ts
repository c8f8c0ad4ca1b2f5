import type { FastifyRequest } from 'fastify'
import { UnauthorizedError } from '../errors.js'
import { requestState } from '../internal/request-state.js'
import type { Settings } from '../settings.js'
import type { LoginUser } from '../types/index.js'
import { denialMessage } from './unauthorized.js'

/**
 * `request.requireUser()`: the logged-in user, typed without null, for the
 * handlers behind a guard. It reads what a guard (or the automatic load)
 * already settled and loads nothing itself: a handler whose route forgot its
 * guard gets a 401, never an anonymous value passed off as a user. A load that
 * failed is thrown again, as the guards do.
 */
export function requireUser (request: FastifyRequest, settings: Settings): LoginUser {
  const state = requestState(request)
  const load = state.userLoad
  if (load !== null && load !== 'loaded' && 'failed' in load) throw load.cause
  if (!state.authenticated) throw new UnauthorizedError(denialMessage('login', request, settings))
  // Authenticated: set by a load, a login or a JWT guard, always with a user (see user/load.ts).
  return request.currentUser as LoginUser
}
