import type { Settings } from '../settings.js'
import type { LoginThrottle } from '../types/index.js'
import { checkThrottle, recordFailure, resetAccount } from './counter.js'

/**
 * The `fastify.loginThrottle` decorator, for the app's own login form (the
 * token endpoint calls the same functions with `via: 'jwt'`). With
 * `loginThrottle: false` it still exists, checks its arguments and counts nothing.
 *
 * @example
 * app.post('/login', async (request, reply) => {
 *   const { username, password } = request.body
 *   await app.loginThrottle.check(request, username) // 429 while throttled
 *   const user = await users.verify(username, password)
 *   if (user !== null && await reply.login(user)) return reply.redirect('/') // clears the account's failures
 *   await app.loginThrottle.fail(request, username)
 *   return reply.code(401).view('login', { error: 'Invalid username or password.' })
 * })
 */
export function loginThrottleApi (settings: Settings): LoginThrottle {
  return {
    check: async (request, username) => { await checkThrottle(request, username, settings, 'session') },
    fail: async (request, username) => { await recordFailure(request, username, settings, 'session') },
    reset: async (username) => { await resetAccount(username, settings) }
  }
}
