/*
 * The public shapes of server-side login sessions: what `request.loginSession`
 * and `fastify.loginSessions` give, and why a session ended. Leaf: imports
 * nothing of ours.
 */

/**
 * One login session, as an app shows it on a "your devices" page. `id` is a
 * public handle (a hash of the cookie's secret), never the secret itself:
 * showing it, logging it or putting it in a form lets nobody log in.
 */
export interface LoginSessionInfo {
  id: string
  /**
   * - `'session'`: a browser's live login session;
   * - `'remembered'`: a browser whose session ended (a timeout) but whose
   *   remember-me cookie will log it in again when it comes back;
   * - `'api'`: an API client's refresh-token family (a login at the token endpoint).
   */
  kind: 'session' | 'remembered' | 'api'
  createdAt: Date
  /** When the session was last seen, to within `touchInterval`. */
  lastSeenAt: Date
  /** When it ends if unused: the earlier of the idle and the absolute timeout; null when both are off. */
  expiresAt: Date | null
  /** The client address at login (`request.ip`, which follows Fastify's `trustProxy`). */
  ip: string
  /** The User-Agent at login ('' when none was sent). */
  userAgent: string
  /** Restored from the remember-me cookie rather than made by `reply.login()`. */
  remembered: boolean
  /** Until when the device's remember-me cookie can log it in again; null without one. */
  rememberedUntil: Date | null
}

/**
 * Why a session ended (`sessionEnded` event):
 * - `'logout'`: `reply.logout()` on that session;
 * - `'idle'` / `'absolute'`: found past `idleTimeout` / `absoluteTimeout`;
 * - `'revoked'`: ended from elsewhere (`fastify.loginSessions.revoke()`,
 *   `revokeAll()`, or `reply.logout({ everywhere: true })` on another device);
 * - `'authVersion'`: the user's `authVersion(user)` changed (a new password);
 * - `'protection'`: strong session protection saw another client.
 */
export type SessionEndReason = 'logout' | 'idle' | 'absolute' | 'revoked' | 'authVersion' | 'protection'

/** Options of `fastify.loginSessions.revokeAll()`. */
export interface RevokeAllOptions {
  /** A session id (`request.loginSession.id`) to keep: "log out all other devices". */
  except?: string
}

/**
 * `fastify.loginSessions`: a user's live sessions in the store. Every method
 * rejects with FST_LOGIN_STORE_UNAVAILABLE when the store fails, and with
 * FST_LOGIN_SESSIONS_DISABLED without a store (`store: false`).
 */
export interface LoginSessions {
  /** Every live session of `userId`, newest first. */
  list (userId: string): Promise<LoginSessionInfo[]>
  /** Ends one session; true when it was live. Its cookie is refused from its next request on. */
  revoke (userId: string, id: string): Promise<boolean>
  /** Ends every session of `userId` but `except`; answers how many it ended. */
  revokeAll (userId: string, options?: RevokeAllOptions): Promise<number>
}
