import fp from 'fastify-plugin'
import type { FastifyPluginAsync } from 'fastify'
import type { EventEmitter } from 'node:events'
import type { Guard } from './guards.js'
import { fastifyLoginPlugin } from './plugin.js'
import type { CurrentUser, FastifyLoginOptions, LoginOptions, LoginUser, LogoutOptions } from './types.js'

/**
 * fastify-login: session login, remember-me, fresh logins, session protection
 * and login guards for Fastify.
 *
 * @example
 * await app.register(fastifyLogin, {
 *   session: { key: process.env.SESSION_KEY },
 *   loadUser: (id) => users.get(id) ?? null,
 *   loginUrl: '/login'
 * })
 * app.get('/account', { preHandler: app.loginRequired }, async (request) => request.currentUser)
 */
const fastifyLogin: FastifyPluginAsync<FastifyLoginOptions> = fp(fastifyLoginPlugin, {
  fastify: '5.x',
  name: 'fastify-login'
})

export default fastifyLogin
export { fastifyLogin }
export { safeNextUrl, loginUrlWithNext, type SafeNextOptions } from './safe-next.js'
export { loginCookie, rememberCookie, type LoginCookieOptions } from './testing.js'
export { parseDuration } from './duration.js'
export { UnauthorizedError, FreshLoginRequiredError, InvalidOptionError, InvalidUserError, NoSessionError } from './errors.js'
export type { Guard } from './guards.js'
export type {
  AnonymousUser,
  CurrentUser,
  Duration,
  FastifyLoginOptions,
  FastifyLoginTypes,
  LoginEvent,
  LoginEventName,
  LoginMessage,
  LoginOptions,
  LoginUser,
  LogoutOptions,
  RememberMeOptions,
  SessionKey,
  SessionOptions,
  SessionProtection,
  UnauthorizedHandler
} from './types.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Emits the login events (see `LoginEventName`); listeners that throw are logged, not fatal. */
    loginEvents: EventEmitter
    /** preHandler: a logged-in user, or the unauthorized flow (handler, redirect or 401). */
    loginRequired: Guard
    /** preHandler: a fresh login, or the unauthorized / needs-refresh flow. */
    freshLoginRequired: Guard
    /** Like `loginRequired` but only throws FST_LOGIN_UNAUTHORIZED: for @fastify/auth. */
    verifyLogin: Guard
    /** Like `freshLoginRequired` but only throws: for @fastify/auth. */
    verifyFreshLogin: Guard
    /** The login page for routes of this encapsulated scope. */
    setLoginUrl: (url: string) => void
    /** The re-authentication page for routes of this encapsulated scope. */
    setRefreshUrl: (url: string) => void
  }
  interface FastifyRequest {
    /** The logged-in user, or the anonymous value; set once the user is loaded. */
    currentUser: CurrentUser
    /** Loads the current user (once per request) and returns it. */
    loadCurrentUser: () => Promise<CurrentUser>
    /** Whether `currentUser` is a logged-in user. */
    isAuthenticated: () => boolean
    /** Whether the session login is fresh (made by a real login or `confirmLogin()`). */
    loginFresh: () => boolean
    /** Whether the request carries a valid remember-me cookie. */
    loginRemembered: () => boolean
    /** The safe `next` target for the login route to redirect to, or `fallback` (default `/`). */
    nextUrl: (fallback?: string) => string
  }
  interface FastifyReply {
    /** Logs the user in; false (nothing stored) for an inactive user unless `force`. */
    login: (user: LoginUser, options?: LoginOptions) => Promise<boolean>
    /** Logs out: clears the login keys and the remember cookie. */
    logout: (options?: LogoutOptions) => Promise<void>
    /** Marks the login fresh again after re-authentication; false without a login. */
    confirmLogin: () => boolean
  }
  interface FastifyContextConfig {
    /** Load `request.currentUser` before the handler of this route (overrides the plugin's `autoLoadUser`). */
    autoLoadUser?: boolean
  }
}
