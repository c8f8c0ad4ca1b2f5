import type { FastifyInstance } from 'fastify'
import { authenticate } from './helpers.js'

/**
 * POST /form: the README's login form for `loginThrottle` tests. It checks
 * before the password, counts a wrong one with fail(), and leaves clearing
 * to reply.login(). Body { username, password }; 200 { ok: true } or 401.
 */
export function addLoginForm (app: FastifyInstance): void {
  app.post<{ Body: { username: string, password: string } }>('/form', async (request, reply) => {
    const { username, password } = request.body
    await app.loginThrottle.check(request, username)
    const user = authenticate(username, password)
    if (user !== null && await reply.login(user)) return { ok: true }
    await app.loginThrottle.fail(request, username)
    return await reply.code(401).send({ ok: false })
  })
}
