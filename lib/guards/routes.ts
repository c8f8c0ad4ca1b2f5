import type { FastifyInstance, RouteOptions } from 'fastify'
import { JwtDisabledError } from '../errors.js'
import type { Settings } from '../settings.js'
import { kAutoLoad } from '../symbols.js'
import { guardName, type GuardName } from './exports.js'

/*
 * Rules the plugin applies to routes as they are declared (onRoute), decided
 * from which of its guards a route uses.
 */

const HOOK_NAMES = ['onRequest', 'preParsing', 'preValidation', 'preHandler'] as const
const JWT_GUARDS = new Set<GuardName>(['jwtRequired', 'jwtOptional', 'freshJwtRequired', 'refreshJwtRequired'])
// These always set the user from the token: a session load before them would be thrown away.
const SETS_THE_USER = new Set<GuardName>(['jwtRequired', 'freshJwtRequired', 'refreshJwtRequired'])

function guardsOf (route: RouteOptions, hooks: readonly string[]): GuardName[] {
  const names: GuardName[] = []
  for (const hookName of hooks) {
    const value: unknown = route[hookName as keyof RouteOptions]
    for (const hook of Array.isArray(value) ? value : [value]) {
      const name = guardName(hook)
      if (name !== undefined) names.push(name)
    }
  }
  return names
}

/** Without `jwt`, a route declared with a JWT guard fails to register (Fastify then fails `ready()`). */
export function refuseJwtGuardsOnRoutes (fastify: FastifyInstance): void {
  fastify.addHook('onRoute', function jwtGuardsNeedJwt (route) {
    const name = guardsOf(route, HOOK_NAMES).find((guard) => JWT_GUARDS.has(guard))
    if (name !== undefined) throw new JwtDisabledError(`${name} (route ${String(route.method)} ${route.url})`)
  })
}

export type AutoLoadConfig = { autoLoadUser?: boolean, [kAutoLoad]?: boolean }

/**
 * Decides once per route whether `currentUser` is loaded before its handler:
 * its own `config.autoLoadUser`, else the plugin's option, except on routes
 * whose preHandler is a JWT guard that always sets the user itself.
 */
export function decideAutoLoadPerRoute (fastify: FastifyInstance, settings: Settings): void {
  fastify.addHook('onRoute', function decideAutoLoad (route) {
    const own = (route.config as AutoLoadConfig | undefined)?.autoLoadUser
    const wanted = own ?? (settings.autoLoadUser && !guardsOf(route, ['preHandler']).some((name) => SETS_THE_USER.has(name)))
    route.config = { ...route.config, [kAutoLoad]: wanted } as RouteOptions['config']
  })
}
