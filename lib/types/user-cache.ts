import type { Duration } from './user.js'

/** The `userCache` option: see the README's "User cache". */
export interface UserCacheOptions {
  /** Users kept at most; the least recently used is dropped first. Default 1000. */
  max?: number
  /**
   * How long a loaded user is reused, from the start of its load: at most 60 seconds. Default `'5s'`.
   * A change to the user the plugin is not told of (made in the database, or by another process) is
   * seen within it; ending sessions and tokens is not delayed (the store is read on every request).
   */
  ttl?: Duration
}

/** `fastify.loginUserCache`: drops users from the `userCache` (does nothing when it is off). */
export interface LoginUserCache {
  /** Forgets user `userId` in this process: call it after changing the user (deactivated, new password). */
  delete: (userId: string) => void
  /** Forgets every user in this process. */
  clear: () => void
}
