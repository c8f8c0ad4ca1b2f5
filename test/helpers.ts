import Fastify, { type FastifyInstance, type FastifyServerOptions, type LightMyRequestResponse } from 'fastify'
import fastifyLogin, { type FastifyLoginOptions } from '../lib/index.js'

/** A user of the test apps. */
export interface TestUser {
  id: string
  name: string
  isActive?: boolean
}

/** 32 bytes: a valid @fastify/secure-session key, for tests only. */
export const TEST_KEY = Buffer.alloc(32, 7)

/** The test users: alice (active), bob (active), carol (inactive), and a non-ASCII id. */
export function makeUsers (): Map<string, TestUser> {
  return new Map<string, TestUser>([
    ['1', { id: '1', name: 'alice' }],
    ['2', { id: '2', name: 'bob' }],
    ['3', { id: '3', name: 'carol', isActive: false }],
    ['佐藤', { id: '佐藤', name: 'sato' }]
  ])
}

export interface TestApp {
  app: FastifyInstance
  users: Map<string, TestUser>
}

/**
 * A Fastify app with fastify-login registered (session key TEST_KEY, users
 * from makeUsers()) and these routes:
 *  - POST /login/:id        logs user :id in; body { remember?, fresh?, force?, duration? }; 200 { ok }
 *  - POST /logout           logs out; 200
 *  - POST /confirm          reply.confirmLogin(); 200 { confirmed }
 *  - GET  /me               200 { user: currentUser, authenticated, fresh, remembered }
 *  - GET  /private          preHandler loginRequired; 200 { name }
 *  - GET  /fresh            preHandler freshLoginRequired; 200 { name }
 * `options` are merged over the defaults; `setup` may add routes/plugins before ready().
 */
export async function buildApp (
  options: Partial<FastifyLoginOptions> = {},
  setup?: (app: FastifyInstance) => void | Promise<void>,
  serverOptions: FastifyServerOptions = {}
): Promise<TestApp> {
  const users = makeUsers()
  const app = Fastify(serverOptions)
  await app.register(fastifyLogin, {
    session: { key: TEST_KEY },
    loadUser: (id) => users.get(id) ?? null,
    ...options
  } as FastifyLoginOptions)

  app.post<{ Params: { id: string }, Body: { remember?: boolean, fresh?: boolean, force?: boolean, duration?: number | string } | undefined }>('/login/:id', async (request, reply) => {
    const user = users.get(request.params.id)
    if (user === undefined) return reply.code(404).send({ ok: false })
    const ok = await reply.login(user, request.body ?? {})
    return { ok }
  })
  app.post('/logout', async (_request, reply) => {
    await reply.logout()
    return { ok: true }
  })
  app.post('/confirm', async (_request, reply) => ({ confirmed: reply.confirmLogin() }))
  app.get('/me', async (request) => ({
    user: request.currentUser,
    authenticated: request.isAuthenticated(),
    fresh: request.loginFresh(),
    remembered: request.loginRemembered()
  }))
  app.get('/private', { preHandler: app.loginRequired }, async (request) => ({ name: (request.currentUser as TestUser).name }))
  app.get('/fresh', { preHandler: app.freshLoginRequired }, async (request) => ({ name: (request.currentUser as TestUser).name }))

  if (setup !== undefined) await setup(app)
  await app.ready()
  return { app, users }
}

/** The `Set-Cookie` of `name` in a response, parsed by light-my-request. */
export function setCookie (res: LightMyRequestResponse, name: string): LightMyRequestResponse['cookies'][number] | undefined {
  return res.cookies.find((cookie) => cookie.name === name)
}

/**
 * A tiny cookie jar (light-my-request gives decoded cookie values): feed it responses, get the `cookie` header for the next
 * request. Cookies set with Max-Age=0 or an expiry in the past are removed.
 */
export class CookieJar {
  readonly cookies = new Map<string, string>()

  store (res: LightMyRequestResponse): this {
    for (const cookie of res.cookies) {
      const expired = cookie.maxAge === 0 || (cookie.expires !== undefined && cookie.expires.getTime() <= Date.now())
      if (expired || cookie.value === '') this.cookies.delete(cookie.name)
      else this.cookies.set(cookie.name, cookie.value)
    }
    return this
  }

  /** The Cookie header; values are URL-encoded again, as the server encoded them. */
  header (): string {
    return [...this.cookies].map(([name, value]) => `${name}=${encodeURIComponent(value)}`).join('; ')
  }
}
