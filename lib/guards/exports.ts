import type { FastifyReply, FastifyRequest } from 'fastify'
import { JwtDisabledError, NotRegisteredError } from '../errors.js'
import type { Guard, JwtGuard } from '../types/index.js'
import { refuseNow, type HookDone } from '../internal/hook-adapter.js'
import { scopeValue } from '../internal/request-state.js'
import { kGuards } from '../symbols.js'

/*
 * Guards that cannot leave a route open. A decorator such as
 * `scope.loginRequired` is `undefined` in a scope that does not see the
 * plugin, and Fastify runs a route whose preHandler is `undefined` without
 * any hook. These functions exist whatever the scope: each finds the
 * plugin's guard through the route's own instance, and refuses the request
 * (a 500 that names the cause) when there is none.
 */

export type SessionGuardName = 'loginRequired' | 'freshLoginRequired' | 'verifyLogin' | 'verifyFreshLogin'
export type JwtGuardName = 'jwtRequired' | 'jwtOptional' | 'freshJwtRequired' | 'refreshJwtRequired'

/** What the plugin keeps on its instance for these functions. */
export type GuardTable = Record<SessionGuardName, Guard> & Record<JwtGuardName, JwtGuard>

/*
 * Every guard function the plugin makes (decorators, exports, the refusing
 * stand-ins without `jwt`) is named here, so route rules (routes.ts) know a
 * guard by what it is rather than by which object it happens to be.
 */
const guardNames = new WeakMap<object, GuardName>()

export type GuardName = SessionGuardName | JwtGuardName

/** Records that `guard` is the guard `name`; returns it. */
export function named<T extends object> (guard: T, name: GuardName): T {
  guardNames.set(guard, name)
  return guard
}

/** The name of a guard the plugin made, or undefined for any other hook. */
export function guardName (hook: unknown): GuardName | undefined {
  return typeof hook === 'function' ? guardNames.get(hook) : undefined
}

type AnyGuard = (request: FastifyRequest, reply: FastifyReply, done?: HookDone) => Promise<unknown> | undefined

function lookup<N extends GuardName> (name: N): GuardTable[N] {
  const exported: AnyGuard = function (request, reply, done) {
    const table = scopeValue<GuardTable>(request.server, kGuards)
    if (table === undefined) return refuseNow(new NotRegisteredError(name), done)
    return (table[name] as AnyGuard)(request, reply, done)
  }
  Object.defineProperty(exported, 'name', { value: name })
  return named(exported, name) as GuardTable[N]
}

/** A JWT guard of a plugin registered without `jwt`: refuses every request, and routes that use it fail to register. */
function disabledJwtGuard (name: JwtGuardName): JwtGuard {
  const guard: AnyGuard = function jwtDisabled (_request, _reply, done) {
    return refuseNow(new JwtDisabledError(name), done)
  }
  return named(guard, name) as JwtGuard
}

/** The four refusing JWT guards of a plugin registered without `jwt`. */
export function disabledJwtGuards (): Record<JwtGuardName, JwtGuard> {
  return {
    jwtRequired: disabledJwtGuard('jwtRequired'),
    jwtOptional: disabledJwtGuard('jwtOptional'),
    freshJwtRequired: disabledJwtGuard('freshJwtRequired'),
    refreshJwtRequired: disabledJwtGuard('refreshJwtRequired')
  }
}

/** preHandler: a logged-in user, or the unauthorized flow. The same as `fastify.loginRequired`, usable in any scope. */
export const loginRequired: Guard = lookup('loginRequired')
/** preHandler: a fresh login, or the unauthorized / needs-refresh flow. */
export const freshLoginRequired: Guard = lookup('freshLoginRequired')
/** Like `loginRequired`, but only throws FST_LOGIN_UNAUTHORIZED: for @fastify/auth. */
export const verifyLogin: Guard = lookup('verifyLogin')
/** Like `freshLoginRequired`, but only throws: for @fastify/auth. */
export const verifyFreshLogin: Guard = lookup('verifyFreshLogin')
/** preHandler: a valid access token (needs the `jwt` option). */
export const jwtRequired: JwtGuard = lookup('jwtRequired')
/** preHandler: an access token if there is one; a bad one is still refused. */
export const jwtOptional: JwtGuard = lookup('jwtOptional')
/** preHandler: a fresh access token. */
export const freshJwtRequired: JwtGuard = lookup('freshJwtRequired')
/** preHandler: a refresh token. */
export const refreshJwtRequired: JwtGuard = lookup('refreshJwtRequired')
