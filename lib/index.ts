import fp from 'fastify-plugin'
import type { FastifyPluginAsync } from 'fastify'
import type { Guard } from './types/index.js'
import { fastifyLoginPlugin } from './plugin.js'
import * as testing from './testing/index.js'
import type { CurrentUser, FastifyLoginOptions, LoginEvents, LoginOptions, LoginSessionInfo, LoginSessions, LoginThrottle, LoginUser, LoginUserCache, LogoutOptions, NextUrlOptions } from './types/index.js'
import type { AccessTokenOptions, JwtClaims, JwtGuard, JwtTokens } from './types/index.js'
import type { SessionData as LoginSessionData } from './types/index.js'

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
export { safeNextUrl, loginUrlWithNext, type SafeNextOptions } from './redirect/safe-next.js'
// The test helpers live at 'fastify-login/testing'; these are the same functions, kept here for now.
/** @deprecated Import `loginCookie` from `'fastify-login/testing'`; this re-export from the main entry will be removed. */
export const loginCookie: typeof testing.loginCookie = testing.loginCookie
/** @deprecated Import `rememberCookie` from `'fastify-login/testing'`; this re-export from the main entry will be removed. */
export const rememberCookie: typeof testing.rememberCookie = testing.rememberCookie
/** @deprecated Import `LoginCookieOptions` from `'fastify-login/testing'`; this re-export from the main entry will be removed. */
export type LoginCookieOptions = testing.LoginCookieOptions
/** @deprecated Import `RememberCookieOptions` from `'fastify-login/testing'`; this re-export from the main entry will be removed. */
export type RememberCookieOptions = testing.RememberCookieOptions
export { parseDuration } from './internal/duration.js'
export {
  UnauthorizedError,
  FreshLoginRequiredError,
  InvalidOptionError,
  InvalidUserError,
  JwtDisabledError,
  NoSessionError,
  NotRegisteredError,
  AlreadyRegisteredError,
  SessionsDisabledError,
  StoreUnavailableError,
  LoginThrottledError,
  JwtNoTokenError,
  JwtMalformedError,
  JwtWrongSchemeError,
  JwtInvalidError,
  JwtExpiredError,
  JwtNotYetValidError,
  JwtUnknownKeyError,
  JwtWrongTypeError,
  JwtRevokedError,
  JwtUserNotFoundError,
  JwtCsrfError,
  JwtFreshRequiredError,
  JwtBadCredentialsError,
  JwtUnsupportedMediaTypeError,
  JwtBadRequestError,
  defaultJwtMessages
} from './errors.js'
export {
  loginRequired,
  freshLoginRequired,
  verifyLogin,
  verifyFreshLogin,
  jwtRequired,
  jwtOptional,
  freshJwtRequired,
  refreshJwtRequired
} from './guards/exports.js'
export type { Guard, HookDone } from './types/index.js'
// The type of `request.session`; this import also brings @fastify/secure-session's typing of it to apps.
export type { Session } from '@fastify/secure-session'
export { MemoryStore, type MemoryStoreOptions } from './store/memory.js'
export type { LoginStore, MaybePromise, StoreJson, StoreSetOptions, StoreTtlOptions, StoreValue } from './types/index.js'
export type {
  AccessTokenOptions,
  JwtAlgorithm,
  JwtClaims,
  JwtCookieOptions,
  JwtEndpointOptions,
  JwtEndpointSchema,
  JwtErrorCode,
  JwtGuard,
  JwtKeyOptions,
  JwtLocation,
  JwtOptions,
  JwtRoutesOptions,
  JwtTokenResponse,
  JwtTokens
} from './types/index.js'
export type {
  AnonymousUser,
  CurrentUser,
  Duration,
  FastifyLoginOptions,
  FastifyLoginTypes,
  LoginEvent,
  LoginEventListener,
  LoginEventMap,
  LoginEventName,
  LoginEvents,
  LoginMessage,
  LoginOptions,
  LoginUser,
  LoginVia,
  LoginSessionInfo,
  LoginSessions,
  LoginThrottle,
  LoginThrottleOptions,
  LoginAttemptEvent,
  LoginThrottledEvent,
  LogoutOptions,
  NextUrlOptions,
  RevokeAllOptions,
  SessionEndReason,
  SessionEndedEvent,
  UserEventName,
  RememberMeOptions,
  SessionKey,
  SessionOptions,
  SessionData,
  SessionProtection,
  UnauthorizedHandler,
  UserCacheOptions,
  LoginUserCache
} from './types/index.js'

declare module '@fastify/secure-session' {
  // The session data an app declares on fastify-login's `SessionData` (see types/session-data.ts).
  interface SessionData extends LoginSessionData {}
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The login events (an EventEmitter, typed by `LoginEventMap`); listeners that throw are logged, not fatal. */
    loginEvents: LoginEvents
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
    /** (jwt) preHandler: a valid access token; sets `currentUser` and `jwtClaims`. Throws 401s only. */
    jwtRequired: JwtGuard
    /** (jwt) preHandler: like `jwtRequired`, but no token means anonymous; a bad token is still refused. */
    jwtOptional: JwtGuard
    /** (jwt) preHandler: a fresh access token (from the token endpoint, not a refresh). */
    freshJwtRequired: JwtGuard
    /** (jwt) preHandler: a refresh token, and only a refresh token. */
    refreshJwtRequired: JwtGuard
    /** (jwt) Signs an access token for `user` (not fresh unless asked). */
    createAccessToken: (user: LoginUser, options?: AccessTokenOptions) => Promise<string>
    /** (jwt) Signs a refresh token for `user`, starting a family (an API session) of its own. */
    createRefreshToken: (user: LoginUser, options?: Omit<AccessTokenOptions, 'fresh'>) => Promise<string>
    /** (jwt) Revokes one token: an access token until it would have expired; a refresh token ends its family. */
    revokeToken: (claims: JwtClaims) => Promise<void>
    /** (jwt) Logout everywhere for tokens: refuses every token of `userId` issued up to now, and ends every family. */
    revokeAllTokens: (userId: string) => Promise<void>
    /** A user's login sessions in the store: list them, end one, end all but one. */
    loginSessions: LoginSessions
    /**
     * Completes an OpenAPI document with the plugin's security schemes and the
     * `security` of its guarded routes; done by itself for `fastify.swagger()`.
     * For documents made otherwise, e.g. @fastify/swagger's `transformObject`.
     */
    loginOpenapi: <T>(document: T) => T
    /** Login throttling for the app's own login form: `check()` before the password, `fail()` after a wrong one, `reset()` to unlock. */
    loginThrottle: LoginThrottle
    /** Drops users from the `userCache` option's cache in this process (does nothing when it is off). */
    loginUserCache: LoginUserCache
  }
  interface FastifyRequest {
    /** The logged-in user, or the anonymous value; set once the user is loaded. */
    currentUser: CurrentUser
    /** Loads the current user (once per request) and returns it. */
    loadCurrentUser: () => Promise<CurrentUser>
    /**
     * The logged-in user, typed without null, for handlers behind a guard
     * (`loginRequired`, `jwtRequired`...). Throws FST_LOGIN_UNAUTHORIZED (401)
     * when the request has no logged-in user, so a route that forgot its guard fails closed.
     */
    requireUser: () => LoginUser
    /** Whether `currentUser` is a logged-in user. */
    isAuthenticated: () => boolean
    /** Whether the session login is fresh: made by a real login or `confirmLogin()`, less than `freshFor` ago. */
    loginFresh: () => boolean
    /** The request's login session (once the user is loaded), or null: anonymous, not a session login, or `store: false`. */
    loginSession: LoginSessionInfo | null
    /** Whether the request carries a valid remember-me cookie. */
    loginRemembered: () => boolean
    /**
     * The safe `next` target for the login route to redirect to, or `fallback` (default `/`); with
     * `{ next, fallback }`, `next` is a value the app read itself (a multipart stream), checked the same way.
     */
    nextUrl: {
      (fallback?: string): string
      (options: NextUrlOptions): string
    }
    /** (jwt) The verified claims of the request's token, or null. */
    jwtClaims: JwtClaims | null
  }
  interface FastifyReply {
    /** Logs the user in; false (nothing stored) for an inactive user unless `force`. */
    login: (user: LoginUser, options?: LoginOptions) => Promise<boolean>
    /** Logs out: ends the session (its record and every copy of the cookie), clears the login keys and the remember cookie. */
    logout: (options?: LogoutOptions) => Promise<void>
    /** Marks the login fresh again after re-authentication; false without a login. */
    confirmLogin: () => Promise<boolean>
    /** (jwt, cookies location) Sets the token cookies and their CSRF cookies. */
    setJwtCookies: (tokens: JwtTokens) => void
    /** (jwt, cookies location) Deletes the token and CSRF cookies. */
    clearJwtCookies: () => void
    /** (jwt) Ends the request's API session: revokes its access token, ends its family (and that of the refresh token sent in the body or cookie), clears cookies. */
    jwtLogout: () => Promise<void>
  }
  interface FastifyContextConfig {
    /** Load `request.currentUser` before the handler of this route (overrides the plugin's `autoLoadUser`). */
    autoLoadUser?: boolean
  }
}
