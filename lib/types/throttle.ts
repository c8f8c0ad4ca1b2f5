import type { FastifyRequest } from 'fastify'

/**
 * `fastify.loginThrottle`: login throttling for the app's own login form
 * (`POST /auth` uses it by itself). With `loginThrottle: false` every method
 * resolves at once and counts nothing.
 */
export interface LoginThrottle {
  /**
   * Call before testing the password: rejects with FST_LOGIN_THROTTLED (429,
   * `Retry-After`) while the account or the request's address is throttled,
   * whether or not the account exists. A `reply.login()` on the same request
   * then clears this username's failures.
   */
  check: (request: FastifyRequest, username: string) => Promise<void>
  /** Call after a wrong password (or an unknown or inactive account): counts one failure. */
  fail: (request: FastifyRequest, username: string) => Promise<void>
  /** Clears the failures and the throttle of one account (an administrator's unlock); addresses keep theirs. */
  reset: (username: string) => Promise<void>
}
