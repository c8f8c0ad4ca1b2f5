import type { FastifyRequest } from 'fastify'
import type { LoginSessionInfo, SessionEndReason } from './session.js'
import type { CurrentUser, LoginUser } from './user.js'

/**
 * How the user of an event came in:
 * - `'session'`: a login kept in the session (`reply.login()`, `logout()`,
 *   `confirmLogin()`, session protection), and the session guards' events;
 * - `'remember'`: the remember-me cookie;
 * - `'request'`: the `loadUserFromRequest` loader;
 * - `'jwt'`: a token, or the token endpoints.
 */
export type LoginVia = 'session' | 'remember' | 'request' | 'jwt'

/** Payload of the events on `fastify.loginEvents`; {@link LoginEventMap} narrows it per event. */
export interface LoginEvent<Via extends LoginVia = LoginVia, User = CurrentUser> {
  request: FastifyRequest
  /** The user concerned; the anonymous value where there is none. */
  user: User
  via: Via
}

/** Payload of `sessionEnded`: which session of which user ended, and why. */
export interface SessionEndedEvent {
  /** The request during which it ended; null when ended by `fastify.loginSessions` outside a request. */
  request: FastifyRequest | null
  userId: string
  /** The session as it was; null with `store: false` (the session has no id then). */
  session: LoginSessionInfo | null
  reason: SessionEndReason
  via: 'session'
}

/**
 * Each event on `fastify.loginEvents` and its payload (Flask-Login's signals'
 * meaning; `tokenRefreshed` is ours). Where the user cannot be anonymous, the
 * payload says so.
 */
export interface LoginEventMap {
  /** `reply.login()` succeeded, or POST to the token endpoint gave out tokens. */
  userLoggedIn: LoginEvent<'session' | 'jwt', LoginUser>
  /** `reply.logout()`, the logout endpoint or `reply.jwtLogout()`: the user who was logged in. */
  userLoggedOut: LoginEvent<'session' | 'jwt'>
  /** A login was restored from the remember cookie. */
  userLoadedFromCookie: LoginEvent<'remember', LoginUser>
  /** `loadUserFromRequest` returned a user. */
  userLoadedFromRequest: LoginEvent<'request', LoginUser>
  /** `reply.confirmLogin()`: `currentUser`. */
  userLoginConfirmed: LoginEvent<'session'>
  /** A session guard refused an anonymous request: `currentUser`. */
  userUnauthorized: LoginEvent<'session'>
  /** A fresh-login guard refused a stale login: `currentUser`. */
  userNeedsRefresh: LoginEvent<'session'>
  /** Session protection acted on the session, or on a remember cookie from another client. */
  sessionProtected: LoginEvent<'session' | 'remember'>
  /** The refresh endpoint gave out a new access token. */
  tokenRefreshed: LoginEvent<'jwt', LoginUser>
  /**
   * The plugin ended a login session, or found it past a timeout or stale (see
   * `SessionEndReason`). A session replaced by a new login on the same browser fires
   * `userLoggedIn` instead; a cookie whose record is already gone fires nothing more.
   */
  sessionEnded: SessionEndedEvent
  /**
   * A remember-me token that is no longer current came back after the grace
   * period: someone copied the cookie. Every session, remember-me series and
   * API session of the user has been ended.
   */
  rememberTokenReused: CredentialReusedEvent<'remember'>
  /**
   * A spent refresh token came back after `jwt.refreshReuseGrace`: its family
   * (every refresh and access token descending from that login) is revoked.
   */
  refreshTokenReused: CredentialReusedEvent<'jwt'>
  /** The app (`fastify.loginThrottle.fail()`) or the token endpoint counted a failed login. */
  loginFailed: LoginAttemptEvent
  /** A login attempt was refused with 429 because of earlier failures. */
  loginThrottled: LoginThrottledEvent
}

/** Payload of `rememberTokenReused` and `refreshTokenReused`. */
export interface CredentialReusedEvent<Via extends 'remember' | 'jwt'> {
  request: FastifyRequest
  /** The user whose credential was presented twice. */
  userId: string
  via: Via
}

/** Payload of `loginFailed`: the username as typed (never the password). */
export interface LoginAttemptEvent {
  request: FastifyRequest
  username: string
  /** `'session'`: the app's own form through `fastify.loginThrottle`; `'jwt'`: the token endpoint. */
  via: 'session' | 'jwt'
}

/** Payload of `loginThrottled`. */
export interface LoginThrottledEvent extends LoginAttemptEvent {
  /** What limit refused it: failures for this account, or from this client address. */
  limit: 'account' | 'address'
  /** Seconds until an attempt is let through again (the `Retry-After` sent). */
  retryAfter: number
}

/** The events whose payload is a {@link LoginEvent}. */
export type UserEventName = Exclude<keyof LoginEventMap, 'sessionEnded' | 'rememberTokenReused' | 'refreshTokenReused' | 'loginFailed' | 'loginThrottled'>

/** Event names on `fastify.loginEvents`. */
export type LoginEventName = keyof LoginEventMap

/** A listener of event `K`; what it returns is ignored, but a rejected promise is logged. */
export type LoginEventListener<K extends LoginEventName> = (event: LoginEventMap[K]) => unknown

/**
 * `fastify.loginEvents`: a node EventEmitter, typed so that event names and
 * payloads are checked. Written out rather than `EventEmitter<T>` so that it
 * does not depend on the @types/node version of the app, and so that a
 * misspelt name fails on the name. `emit` is left out: only the plugin emits,
 * through a loop that logs failing listeners instead of throwing.
 */
export interface LoginEvents {
  on<K extends LoginEventName> (name: K, listener: LoginEventListener<K>): this
  addListener<K extends LoginEventName> (name: K, listener: LoginEventListener<K>): this
  prependListener<K extends LoginEventName> (name: K, listener: LoginEventListener<K>): this
  once<K extends LoginEventName> (name: K, listener: LoginEventListener<K>): this
  prependOnceListener<K extends LoginEventName> (name: K, listener: LoginEventListener<K>): this
  off<K extends LoginEventName> (name: K, listener: LoginEventListener<K>): this
  removeListener<K extends LoginEventName> (name: K, listener: LoginEventListener<K>): this
  removeAllListeners (name?: LoginEventName): this
  /** The listeners of `name` as EventEmitter keeps them (`once` ones unwrapped). */
  listeners<K extends LoginEventName> (name: K): Function[]
  listenerCount (name: LoginEventName): number
  eventNames (): Array<string | symbol>
  setMaxListeners (n: number): this
  getMaxListeners (): number
}
