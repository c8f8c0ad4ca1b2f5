import type { FastifyInstance, FastifyRequest } from 'fastify'
import { NoSessionError } from '../errors.js'
import { decideAutoLoadPerRoute, type AutoLoadConfig } from '../guards/routes.js'
import { runHook } from '../internal/hook-adapter.js'
import type { Settings } from '../settings.js'
import { kAutoLoad } from '../symbols.js'
import { deferLoadFailure, ensureUserLoaded } from './load.js'

/*
 * Without a way to find a user (no session loader, no request loader) and
 * without an anonymousUser option, the auto-load could only ever set the
 * `null` that `currentUser` already holds: a JWT-only API then pays for no
 * hook at all, and its guards set the user.
 */
export function autoLoadCanFindUsers (settings: Settings, anonymousUserGiven: boolean): boolean {
  return (settings.sessionEnabled && settings.loadUser !== undefined) || settings.loadUserFromRequest !== undefined || anonymousUserGiven
}

function loadOrDefer (request: FastifyRequest, settings: Settings): Promise<void> | undefined {
  let loading: Promise<void> | undefined
  try {
    loading = ensureUserLoaded(request, settings)
  } catch (err) {
    // A missing session is a setup error, not a failing dependency: say so at once.
    if (err instanceof NoSessionError) throw err
    deferLoadFailure(request, settings, err)
    return undefined
  }
  return loading?.then(undefined, (err: unknown) => deferLoadFailure(request, settings, err))
}

/** The preHandler that loads `request.currentUser` before the handler, on the routes that want it. */
export function addAutoLoad (fastify: FastifyInstance, settings: Settings): void {
  decideAutoLoadPerRoute(fastify, settings)
  fastify.addHook('preHandler', function autoLoadUser (request, _reply, done) {
    const config = request.routeOptions.config as AutoLoadConfig
    // Routes declared before the plugin was registered were not seen by onRoute.
    const wanted = config[kAutoLoad] ?? config.autoLoadUser ?? settings.autoLoadUser
    if (!wanted) return done()
    return runHook(loadOrDefer, request, settings, done)
  })
}
