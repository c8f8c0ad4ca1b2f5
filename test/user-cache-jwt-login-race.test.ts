import t, { type Test } from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import fastifyLogin, { MemoryStore, type FastifyLoginOptions } from '../lib/index.js'
import { assertRefused, assertUser, callMe, writeHeldStore, type TestUser } from './helpers.js'

/*
 * The user cache and a token login with a new password (POST /auth): once
 * the password checked, the cached copy is older than the user, so while the
 * login is still writing its token family, an older family must not be let
 * through on that copy (a fresh load ends it: another auth version).
 */

const SECRET = 'user-cache-jwt-login-race-secret-0123456789'

interface Account extends TestUser {
  password: string
}

/** A JWT-only app over `users` (logins by name and password), with `GET /api/me` behind jwtRequired. */
async function accountApp (t: Test, users: Map<string, Account>, options: Partial<FastifyLoginOptions>): Promise<FastifyInstance> {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyLogin, {
    session: false,
    ...options,
    loadUser: (id) => {
      const user = users.get(id)
      return user === undefined ? null : { ...user }
    },
    jwt: {
      secret: SECRET,
      authenticate: (username, password) => {
        const user = [...users.values()].find((u) => u.name === username)
        return user !== undefined && user.password === password ? { ...user } : null
      }
    }
  })
  app.get('/api/me', { preHandler: app.jwtRequired }, async (request) => ({ name: (request.currentUser as TestUser).name }))
  await app.ready()
  return app
}

t.test('during a token login with a new password, an older family is not let through by a cached copy', async (t) => {
  for (const userCache of [false, true]) {
    const users = new Map<string, Account>([['1', { id: '1', name: 'alice', password: 'a1' }]])
    const inner = new MemoryStore()
    t.teardown(() => inner.close())
    // The login's store writes: holdNextWrite() holds the next one until held.release().
    const { store, held, holdNextWrite } = writeHeldStore(inner)
    const app = await accountApp(t, users, { store, userCache, loginThrottle: false, authVersion: (user) => (user as Account).password })

    const first = await app.inject({ method: 'POST', url: '/auth', payload: { username: 'alice', password: 'a1' } })
    const before = first.json<{ access_token: string }>()
    assertUser(t, await callMe(app, before.access_token))
    // Her password changes (saved by the app), then she logs in with the new one.
    ;(users.get('1') as Account).password = 'a2'
    holdNextWrite()
    const renewing = app.inject({ method: 'POST', url: '/auth', payload: { username: 'alice', password: 'a2' } })
    await held.arrived
    const during = await callMe(app, before.access_token)
    held.release()
    t.equal((await renewing).statusCode, 200)
    t.equal(during.statusCode, 401, `userCache: ${userCache}: the old family is refused while the token login is writing`)
    assertRefused(t, await callMe(app, before.access_token), 'FST_LOGIN_JWT_REVOKED', `userCache: ${userCache}: and after it`)
  }
})

t.test('a token login refused because the user is inactive drops the cached copy too', async (t) => {
  for (const userCache of [false, true]) {
    const users = new Map<string, Account>([['1', { id: '1', name: 'alice', password: 'a1' }]])
    const app = await accountApp(t, users, { userCache })
    const { access_token: token } = (await app.inject({ method: 'POST', url: '/auth', payload: { username: 'alice', password: 'a1' } })).json<{ access_token: string }>()
    assertUser(t, await callMe(app, token))
    // Deactivated; her next token login is refused, having handed the plugin the user as she is now.
    ;(users.get('1') as Account).isActive = false
    t.equal((await app.inject({ method: 'POST', url: '/auth', payload: { username: 'alice', password: 'a1' } })).statusCode, 401)
    assertRefused(t, await callMe(app, token), 'FST_LOGIN_JWT_USER_NOT_FOUND', `userCache: ${userCache}: her token is refused at once`)
  }
})
