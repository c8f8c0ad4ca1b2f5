/*
 * The shapes of the plugin's private per-request state. Not re-exported by
 * types/index.ts: apps never see them. Kept here, in the leaf, so that the
 * accessor (internal/request-state.ts) and the features that own each slot
 * import them from the same place without importing each other.
 */
/** What a valid remember token says. */
export interface RememberToken {
  userId: string
  /** The lifetime the token was issued with, in seconds (used when refreshing it). */
  duration: number
  /** Strong session protection: the client identifier the token was issued to. */
  identifier: string | undefined
  /** The series id: with a store, its series record must exist for the token to work. */
  id: string
  /** The series secret: with a store, current (or just replaced, within the grace) for the token to work. */
  secret: string
}

/** A remember cookie write decided during the request, done in onSend. */
export type PendingRememberWrite =
  | { kind: 'set', userId: string, duration: number, expiresAt: number, id: string, secret: string }
  | { kind: 'clear' }

/** The request's remember cookie, read once. */
export interface RememberState {
  /** The request carried a cookie of that name (valid or not). */
  present: boolean
  /** The valid token it held, if any. */
  token: RememberToken | null
  pending: PendingRememberWrite | null
}

/** The automatic load failed with `cause`; guards and loadCurrentUser() rethrow it. */
export interface LoadFailure { failed: true, cause: unknown }

/**
 * The user load: not started (null), settled ('loaded': `currentUser` holds
 * the answer), in flight (the promise every caller shares), or failed.
 */
export type UserLoad = null | 'loaded' | Promise<void> | LoadFailure

/**
 * A login session's state: in the store (under the hash of the cookie's
 * secret) or, with `store: false`, in the encrypted cookie itself. Short
 * field names because one is kept per session. Times are milliseconds of
 * the plugin's `clock`. Every field is present (null for none), so that it
 * is a plain JSON value any store can hold.
 */
export type LoginRecord = {
  /** The user id. */
  u: string
  /** Created (login or remember-me restore). */
  c: number
  /** Last seen, written at most once per touchInterval. */
  s: number
  /** Last authenticated (login, confirmLogin): freshness counts from here. */
  a: number
  /** Fresh: made by a login with `fresh: true` and not since marked stale. */
  f: boolean
  /** Session protection: the client identifier it is bound to, or null with protection off. */
  p: string | null
  /** A forced login of an inactive user. */
  F: boolean
  /** Restored from remember-me. */
  r: boolean
  ip: string
  ua: string
  /** The hash of `authVersion(user)` at login, or null without that option. */
  v: string | null
  /** The id of the remember-me series this device holds (logged in with remember, or restored), or null. */
  m: string | null
  /** That series' lifetime in seconds, or null. */
  md: number | null
}

/** The request's login session: its record, and (with a store) its public id. */
export interface SessionSlot {
  record: LoginRecord
  /** The public id (hash of the cookie's secret); null with `store: false`. */
  id: string | null
}

/** Everything the plugin keeps about one request. */
export interface RequestState {
  userLoad: UserLoad
  /** Whether `currentUser` is a logged-in user (not the anonymous value). */
  authenticated: boolean
  remember: RememberState | null
  /** The login session found or made on this request. */
  login: SessionSlot | null
  /**
   * The account (normalised username) that `loginThrottle.check()` let
   * through on this request: the one a `reply.login()` that follows clears.
   */
  throttledAccount: string | null
  /** The address whose in-flight attempt this request holds (lib/throttle/in-flight.ts), or null. */
  throttleAddress: string | null
}
