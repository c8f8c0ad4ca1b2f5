import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { JwtDisabledError, NotRegisteredError } from '../errors.js'
import type { Guard } from './session.js'
import type { JwtGuard } from '../types/index.js'
import { refuseNow, type HookDone } from '../internal/hook-adapter.js'
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

function lookup<N extends keyof GuardTable> (name: N): GuardTable[N] {
  const byName = {
    [name]: function (request: FastifyRequest, reply: FastifyReply, done?: HookDone) {
      const table = (request.server as FastifyInstance & { [kGuards]?: GuardTable })[kGuards]
      if (table === undefined) return refuseNow(new NotRegisteredError(name), done)
      return (table[name] as (request: FastifyRequest, reply: FastifyReply, done?: HookDone) => unknown)(request, reply, done)
    }
  }
  return byName[name] as unknown as GuardTable[N]
}

/** A JWT guard of a plugin registered without `jwt`: refuses every request, and routes that use it fail to register. */
export function disabledJwtGuard (name: JwtGuardName): JwtGuard {
  return function jwtDisabled (_request: FastifyRequest, _reply: FastifyReply, done?: HookDone) {
    return refuseNow(new JwtDisabledError(name), done)
  } as JwtGuard
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

/** The exported JWT guards, to recognise them on routes. */
export const exportedJwtGuards: ReadonlyMap<unknown, JwtGuardName> = new Map<unknown, JwtGuardName>([
  [jwtRequired, 'jwtRequired'],
  [jwtOptional, 'jwtOptional'],
  [freshJwtRequired, 'freshJwtRequired'],
  [refreshJwtRequired, 'refreshJwtRequired']
])
