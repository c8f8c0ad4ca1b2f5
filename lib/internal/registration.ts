import type { FastifyInstance } from 'fastify'
import { AlreadyRegisteredError } from '../errors.js'
import { kSettings } from '../symbols.js'
import { fail } from './option-checks.js'

/**
 * Refuses a second registration of the plugin where it is already visible:
 * twice on one instance, or inside a scope whose parent has it. Without this,
 * the second copy fails on whichever decorator Fastify checks first
 * (FST_ERR_DEC_ALREADY_PRESENT on `jwtClaims`, `isAuthenticated`...), or, in
 * a child scope, could shadow the parent's settings with other ones, so that
 * the parent's guards and the child's logins disagree about the session.
 * kSettings is a registered symbol, so a CommonJS copy and an ES module copy
 * of the package are caught too.
 */
export function refuseSecondRegistration (fastify: FastifyInstance): void {
  if (!fastify.hasDecorator(kSettings)) return
  const where = Object.hasOwn(fastify, kSettings)
    ? 'it is registered twice on the same instance'
    : 'it is registered in a scope whose parent already registered it'
  throw new AlreadyRegisteredError(`${where}. Register fastify-login once, at the root of the app (its guards and decorators reach every scope); ` +
    'for another login page in one scope, call fastify.setLoginUrl() (and setRefreshUrl()) in that scope')
}

/**
 * Whether this plugin decorates `request.isAuthenticated()`: the
 * `decorateIsAuthenticated` option (default: yes, unless a plugin registered
 * before, @fastify/passport above all, already did). Only the decorator's
 * name is shared: the guards, `loginFresh()` and `loginRemembered()` read
 * this plugin's own request state, never `request.isAuthenticated()`, so
 * whichever plugin owns the name, no guard answers for the other's login.
 */
export function decoratesIsAuthenticated (fastify: FastifyInstance, value: unknown): boolean {
  if (value !== undefined && typeof value !== 'boolean') fail('decorateIsAuthenticated must be a boolean')
  if (value === false) return false
  const taken = fastify.hasRequestDecorator('isAuthenticated')
  if (taken && value === true) {
    fail('decorateIsAuthenticated is true, but request.isAuthenticated() is already decorated by a plugin registered before this one ' +
      '(@fastify/passport?): leave the option out to let that one keep it')
  }
  return !taken
}
