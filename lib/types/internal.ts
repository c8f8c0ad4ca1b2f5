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
}

/** A remember cookie write decided during the request, done in onSend. */
export type PendingRememberWrite = { kind: 'set', userId: string, duration: number } | { kind: 'clear' }

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

/** Everything the plugin keeps about one request. */
export interface RequestState {
  userLoad: UserLoad
  /** Whether `currentUser` is a logged-in user (not the anonymous value). */
  authenticated: boolean
  remember: RememberState | null
}
