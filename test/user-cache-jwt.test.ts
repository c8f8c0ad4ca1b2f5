import t, { type Test } from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import fastifyLogin, { MemoryStore, type FastifyLoginOptions, type JwtOptions, type LoginStore } from '../lib/index.js'
import { assertRefused, assertUser, bearer, callMe, fakeClock, payloadOf, type TestUser } from './helpers.js'

/*
 * The `userCache` option on the JWT side: the guards' default loader
 * (`loadUser(claims.sub)`) goes through it; an app's `loadUserFromClaims`
 * does not; token logins, logouts and revocations drop the user.
 */

const SECRET = 'user-cache-jwt-test-secret-0123456789abcdef'

interface Account extends TestUser {
  password: string
}

interface JwtCacheApp {
  app: FastifyInstance
  users: Map<string, Account>
  loads: string[]
}

function accounts (): Map<string, Account> {
  return new Map<string, Account>([
    ['1', { id: '1', name: 'alice', password: 'a1' }],
    ['2', { id: '2', name: 'bob', password: 'b1' }]
  ])
}

/** A JWT-only app (users log in at POST /auth with their password), GET /api/me behind jwtRequired. */
async function jwtCacheApp (t: Test, options: Partial<FastifyLoginOptions> = {}, jwt: Partial<JwtOptions> = {}, users = accounts()): Promise<JwtCacheApp> {
  const loads: string[] = []
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyLogin, {
    session: false,
    userCache: true,
    authVersion: (user) => (user as Account).password,
    loadUser: (id) => {
      loads.push(id)
      const user = users.get(id)
      return user === undefined ? null : { ...user }
    },
    jwt: {
      secret: SECRET,
      authenticate: (username, password) => {
        const user = [...users.values()].find((u) => u.name === username)
        return user !== undefined && user.password === password ? { ...user } : null
      },
      ...jwt
    },
    ...options
  })
  app.get('/api/me', { preHandler: app.jwtRequired }, async (request) => ({ name: (request.currentUser as TestUser).name }))
  await app.ready()
  return { app, users, loads }
}

async function tokens (app: FastifyInstance, username = 'alice', password = 'a1'): Promise<{ access_token: string, refresh_token: string }> {
  const res = await app.inject({ method: 'POST', url: '/auth', payload: { username, password } })
  if (res.statusCode !== 200) throw new Error(`POST /auth: ${res.statusCode} ${res.body}`)
  return res.json()
}

t.test('six API calls with one token: one load with the cache, six without', async (t) => {
  for (const userCache of [true, false]) {
    const { app, loads } = await jwtCacheApp(t, { userCache })
    const { access_token: token } = await tokens(app)
    for (let i = 0; i < 6; i++) assertUser(t, await callMe(app, token))
    t.equal(loads.length, userCache ? 1 : 6, `userCache: ${userCache}`)
  }
})

t.test('a token login, a logout and revokeAllTokens() drop the user', async (t) => {
  const { app, loads } = await jwtCacheApp(t)
  const first = await tokens(app)
  await callMe(app, first.access_token)
  t.equal(loads.length, 1)
  const second = await tokens(app)
  assertUser(t, await callMe(app, second.access_token))
  t.equal(loads.length, 2, 'POST /auth dropped the cached copy')

  const logout = await app.inject({ method: 'POST', url: '/auth/logout', headers: bearer(second.access_token), payload: { refresh_token: second.refresh_token } })
  t.equal(logout.statusCode, 204)
  t.equal(loads.length, 2, 'the logout guard used the cached user')
  assertUser(t, await callMe(app, first.access_token))
  t.equal(loads.length, 3, 'and the logout dropped it')

  await app.revokeAllTokens('1')
  assertRefused(t, await callMe(app, first.access_token), 'FST_LOGIN_JWT_REVOKED')
  // The cut-off covers tokens issued up to its second: the next ones come a second later.
  fakeClock(t).set(1000)
  const minted = await app.createAccessToken({ id: '1' })
  assertUser(t, await callMe(app, minted))
  t.equal(loads.length, 4, 'loaded afresh after revokeAllTokens() (createAccessToken drops nothing)')
  assertUser(t, await callMe(app, minted))
  t.equal(loads.length, 4)

  await app.revokeToken(payloadOf(first.access_token))
  assertUser(t, await callMe(app, minted))
  t.equal(loads.length, 5, 'revokeToken() dropped it')
})

t.test('a cached user with an older password does not end a newer token family', async (t) => {
  // Two processes on one store: B cached alice before her password changed and she logged in on A.
  const store: LoginStore = new MemoryStore()
  t.teardown(() => (store as MemoryStore).close())
  const users = accounts()
  const a = await jwtCacheApp(t, { store }, {}, users)
  const b = await jwtCacheApp(t, { store }, {}, users)
  const before = await tokens(a.app)
  assertUser(t, await callMe(b.app, before.access_token))
  ;(users.get('1') as Account).password = 'a2'
  const after = await tokens(a.app, 'alice', 'a2')
  assertUser(t, await callMe(b.app, after.access_token))
  t.equal(b.loads.length, 2, 'B loaded her again instead of ending the family')
  assertUser(t, await callMe(a.app, after.access_token))
  assertRefused(t, await callMe(b.app, before.access_token), 'FST_LOGIN_JWT_REVOKED')
  assertUser(t, await callMe(b.app, after.access_token))
})

t.test('a change the plugin is not told of is seen within ttl', async (t) => {
  let now = Date.now()
  const { app, users, loads } = await jwtCacheApp(t, { clock: () => now, userCache: { ttl: 2 } })
  const { access_token: token } = await tokens(app)
  assertUser(t, await callMe(app, token))
  ;(users.get('1') as Account).isActive = false
  now += 1999
  assertUser(t, await callMe(app, token))
  now += 1
  assertRefused(t, await callMe(app, token), 'FST_LOGIN_JWT_USER_NOT_FOUND')
  t.equal(loads.length, 2)
})

t.test('loadUserFromClaims answers are not cached', async (t) => {
  let calls = 0
  const { app, loads } = await jwtCacheApp(t, {}, {
    loadUserFromClaims: (claims) => {
      calls++
      return { id: claims.sub, name: 'from claims', password: 'a1' }
    }
  })
  const { access_token: token } = await tokens(app)
  for (let i = 0; i < 3; i++) assertUser(t, await callMe(app, token), 'from claims')
  t.equal(calls, 3)
  t.equal(loads.length, 0)
})
