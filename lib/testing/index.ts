import type { FastifyInstance } from 'fastify'
import { identifierOf } from '../session/identifier.js'
import { userIdOf } from '../session/login.js'
import { newSeries, saveSeries } from '../remember/series.js'
import { newRememberId, sealRememberToken } from '../remember/token.js'
import { USER_ID_KEY } from '../session/state.js'
import { versionOf } from '../session/auth-version.js'
import { createSlot } from '../session/carrier.js'
import { newRecord } from '../session/record.js'
import { DURATION_MAX, durationOption } from '../internal/duration.js'
import type { Settings } from '../settings.js'
import { scopeValue } from '../internal/request-state.js'
import { kSettings } from '../symbols.js'
import type { Duration, LoginUser } from '../types/index.js'

export { runStoreContract, type ContractAssert, type ContractTest, type StoreContractContext, type StoreContractOptions } from './store-contract.js'

/** Options of {@link loginCookie}. */
export interface LoginCookieOptions {
  /** Make the login fresh. Default true. */
  fresh?: boolean
  /** The client address the session is bound to. Default `'127.0.0.1'`, as `fastify.inject` uses. */
  ip?: string
  /** The User-Agent the session is bound to. Default `'lightMyRequest'`, as `fastify.inject` sends. */
  userAgent?: string
}

function settingsOf (fastify: FastifyInstance): Settings {
  const settings = scopeValue<Settings>(fastify, kSettings)
  if (settings === undefined) throw new Error('fastify-login is not registered on this instance (await fastify.ready() first)')
  return settings
}

/**
 * A `Cookie` header value that logs `user` in, for `fastify.inject` in your
 * own tests (Flask-Login's `FlaskLoginClient`). Call it after `fastify.ready()`.
 * With a store it saves a session record there, as a real login does, so
 * `request.loginSession` and `fastify.loginSessions` see it.
 *
 * @example
 * const res = await app.inject({ url: '/account', headers: { cookie: await loginCookie(app, alice) } })
 */
export async function loginCookie (fastify: FastifyInstance, user: LoginUser, options: LoginCookieOptions = {}): Promise<string> {
  const settings = settingsOf(fastify)
  const userId = userIdOf(user, settings)
  const record = newRecord({ ip: options.ip ?? '127.0.0.1', userAgent: options.userAgent ?? 'lightMyRequest' }, settings, {
    userId, fresh: options.fresh ?? true, forced: false, remembered: false, version: versionOf(settings.lifetime, user), remember: null
  })
  const { cookie } = await createSlot(record, settings)
  const session = fastify.createSecureSession({ [USER_ID_KEY]: userId, ...cookie })
  // The value holds ';', '+', '/' and '=': URL-encode it as @fastify/cookie does, or the header splits at the ';'.
  return `${settings.sessionCookieName}=${encodeURIComponent(fastify.encodeSecureSession(session, settings.sessionName))}`
}

/** Options of {@link rememberCookie}. */
export interface RememberCookieOptions {
  /** The token's lifetime. Default: `rememberMe.duration`. */
  duration?: Duration
  /** With strong session protection: the client address the token is bound to. Default `'127.0.0.1'`. */
  ip?: string
  /** With strong session protection: the User-Agent the token is bound to. Default `'lightMyRequest'`. */
  userAgent?: string
}

/**
 * A `Cookie` header value holding a valid remember-me cookie for `user`, to test
 * restores in your own tests. With a store it records the device there, as a real
 * login with remember-me does, so it returns a promise.
 */
export async function rememberCookie (fastify: FastifyInstance, user: LoginUser, options: RememberCookieOptions = {}): Promise<string> {
  const settings = settingsOf(fastify)
  const remember = settings.remember
  if (remember === null) throw new Error('rememberMe is turned off')
  const duration = durationOption(options.duration, 'duration', remember.duration, DURATION_MAX.cookie)
  // With strong session protection the token is bound to a client, as a real one is.
  const identifier = remember.bindToClient ? identifierOf(options.ip ?? '127.0.0.1', options.userAgent ?? 'lightMyRequest') : undefined
  const userId = userIdOf(user, settings)
  const id = newRememberId()
  const secret = newRememberId()
  const record = newRecord({ ip: options.ip ?? '127.0.0.1', userAgent: options.userAgent ?? 'lightMyRequest' }, settings, {
    userId, fresh: false, forced: false, remembered: false, version: versionOf(settings.lifetime, user), remember: { id, duration }
  })
  // With a store, the series is recorded there as a real login with remember-me does.
  const series = newSeries(record, secret, settings)
  await saveSeries(id, series, settings)
  return `${remember.cookieName}=${sealRememberToken(remember.keys, { userId, duration, expiresAt: series.e, identifier, id, secret })}`
}
