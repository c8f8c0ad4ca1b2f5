import t from 'tap'
import { setImmediate as tick } from 'node:timers/promises'
import Fastify, { type FastifyInstance } from 'fastify'
import fastifyLogin, { type FastifyLoginOptions } from '../lib/index.js'
import { buildApp, CookieJar, makeUsers, me, send, TEST_KEY, type TestUser } from './helpers.js'

/*
 * The user load has a synchronous path (sync loaders: no promise is created)
 * and an asynchronous one (from the first loader that returns a promise).
 * These tests drive both, and the session-protection identifier cache.
 */

const ALICE = { id: '1', name: 'alice' }

t.test('a loader that throws: guards and loadCurrentUser() fail with a 500, pages that need no user go on as anonymous, logout still works', async (t) => {
  for (const mode of ['sync', 'async'] as const) {
    const broken = new Error('database down')
    const { app } = await buildApp({
      loadUser: mode === 'sync'
        ? () => { throw broken }
        : async () => { await tick(); throw broken }
    }, (app) => {
      app.get('/lazy', { config: { autoLoadUser: false } }, async (request) => {
        try {
          await request.loadCurrentUser()
          return { caught: null }
        } catch (err) {
          return { caught: (err as Error).message }
        }
      })
    })
    t.teardown(() => app.close())
    const jar = new CookieJar()
    await send(app, jar, 'POST', '/login/1')

    const auto = await send(app, jar, 'GET', '/me')
    t.equal(auto.statusCode, 200, `${mode}: a route without a guard still answers`)
    t.same(auto.json(), { user: null, authenticated: false, fresh: false, remembered: false }, `${mode}: as anonymous`)
    const guarded = await send(app, jar, 'GET', '/private')
    t.equal(guarded.statusCode, 500, `${mode}: a guard passes the error on`)
    t.equal(guarded.json().message, 'database down', `${mode}: Fastify's error format`)
    const fresh = await send(app, jar, 'GET', '/fresh')
    t.equal(fresh.statusCode, 500, `${mode}: so does the fresh guard`)
    const lazy = await send(app, jar, 'GET', '/lazy')
    t.same(lazy.json(), { caught: 'database down' }, `${mode}: request.loadCurrentUser() rejects`)

    const anonymous = await app.inject({ url: '/me' })
    t.equal(anonymous.statusCode, 200, `${mode}: requests without a login never call the loader`)
  }
})

t.test('a login during a load still in flight has the last word', async (t) => {
  const users = makeUsers()
  let release: () => void = () => {}
  const { app } = await buildApp({
    loadUser: async (id) => {
      await new Promise<void>((resolve) => { release = resolve })
      return users.get(id) ?? null
    }
  }, (app) => {
    app.post('/switch', { config: { autoLoadUser: false } }, async (request, reply) => {
      const load = request.loadCurrentUser()
      await reply.login(users.get('2') as TestUser)
      release()
      const loaded = await load
      return { loaded, current: request.currentUser }
    })
  })
  t.teardown(() => app.close())
  const jar = new CookieJar()
  await send(app, jar, 'POST', '/login/1') // no user in the session yet: the loader is not called

  const res = await send(app, jar, 'POST', '/switch')
  t.equal(res.statusCode, 200)
  t.same(res.json().current, { id: '2', name: 'bob' }, 'currentUser is the user logged in, not the one the load found')
})

t.test('sync loaders: session, remember cookie and request loader', async (t) => {
  const users = makeUsers()
  const seen: string[] = []
  const { app } = await buildApp({
    loadUser: (id) => { seen.push(`session or cookie ${id}`); return users.get(id) ?? null },
    loadUserFromRequest: (request) => request.headers['x-api-key'] === 'key-of-bob' ? users.get('2') ?? null : null
  })
  t.teardown(() => app.close())

  const jar = new CookieJar()
  await send(app, jar, 'POST', '/login/1', { remember: true })
  t.same(await me(app, jar), { user: ALICE, authenticated: true, fresh: true, remembered: true }, 'from the session')
  jar.cookies.delete('__Host-session')
  t.same(await me(app, jar), { user: ALICE, authenticated: true, fresh: false, remembered: true }, 'from the remember cookie, not fresh')
  t.same(await me(app, new CookieJar(), { 'x-api-key': 'key-of-bob' }), { user: { id: '2', name: 'bob' }, authenticated: true, fresh: false, remembered: false }, 'from the request loader')
  t.same(await me(app, new CookieJar(), { 'x-api-key': 'wrong' }), { user: null, authenticated: false, fresh: false, remembered: false }, 'anonymous')
  t.same(seen, ['session or cookie 1', 'session or cookie 1'], 'loadUser ran once per request that needed it')
})

/** Logs alice in with this User-Agent and returns the jar. */
async function loginAs (app: FastifyInstance, userAgent: string): Promise<CookieJar> {
  const jar = new CookieJar()
  await send(app, jar, 'POST', '/login/1', undefined, { 'user-agent': userAgent })
  return jar
}

t.test('session protection with very long User-Agents (not cached) still compares them', async (t) => {
  const { app } = await buildApp()
  t.teardown(() => app.close())
  const long = `Mozilla/5.0 ${'x'.repeat(2000)}`
  const jar = await loginAs(app, long)

  t.equal((await me(app, jar, { 'user-agent': long })).fresh, true, 'the same long User-Agent keeps the login fresh')
  t.equal((await me(app, jar, { 'user-agent': `${long}y` })).fresh, false, 'one more character is another client')
})

t.test('many different clients (the identifier cache fills and is dropped) keep working', async (t) => {
  const { app } = await buildApp()
  t.teardown(() => app.close())
  const first = await loginAs(app, 'client 0')
  for (let i = 1; i <= 1100; i++) {
    const res = await app.inject({ url: '/me', headers: { 'user-agent': `client ${i}`, cookie: first.header() } })
    if (res.json().fresh !== false) t.fail(`client ${i} was taken for client 0`)
    // basic protection stores the new identifier: go back to client 0's for the next one.
    await app.inject({ url: '/me', headers: { 'user-agent': 'client 0', cookie: first.header() } })
  }
  const again = await loginAs(app, 'client 0')
  t.equal((await me(app, again, { 'user-agent': 'client 0' })).fresh, true, 'after 1,100 clients the first one is still recognised')
  t.equal((await me(app, again, { 'user-agent': 'client 1' })).fresh, false, 'and told apart from another')
})

t.test('routes declared before the plugin, and the 404 handler, get currentUser too', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  app.get('/early', async (request) => ({ user: request.currentUser }))
  await app.register(fastifyLogin, { session: { key: TEST_KEY }, loadUser: (id) => ({ id, name: 'loaded' }) })
  app.setNotFoundHandler(async (request, reply) => reply.code(404).send({ user: request.currentUser }))
  app.post('/login', async (_request, reply) => ({ ok: await reply.login({ id: 'a' }) }))
  await app.ready()

  const jar = new CookieJar()
  await send(app, jar, 'POST', '/login')
  t.same((await send(app, jar, 'GET', '/early')).json(), { user: { id: 'a', name: 'loaded' } }, 'route declared first')
  const missing = await send(app, jar, 'GET', '/nowhere')
  t.equal(missing.statusCode, 404)
  t.same(missing.json(), { user: { id: 'a', name: 'loaded' } }, '404 handler')
})

t.test('routes guarded by jwtRequired do not load the session user first; jwtOptional routes do', async (t) => {
  const users = makeUsers()
  const loads: string[] = []
  const { app } = await buildApp({
    loadUser: (id) => { loads.push(id); return users.get(id) ?? null },
    jwt: { secret: 'a test secret that is long enough for HS256 ok', authPath: false }
  }, (app) => {
    app.get('/api/required', { preHandler: app.jwtRequired }, async (request) => ({ user: request.currentUser }))
    app.get('/api/optional', { preHandler: app.jwtOptional }, async (request) => ({ user: request.currentUser }))
  })
  t.teardown(() => app.close())
  const jar = new CookieJar()
  await send(app, jar, 'POST', '/login/1') // alice in the session
  const bobToken = await app.createAccessToken(users.get('2') as TestUser)

  loads.length = 0
  const required = await send(app, jar, 'GET', '/api/required', undefined, { authorization: `Bearer ${bobToken}` })
  t.same(required.json(), { user: { id: '2', name: 'bob' } }, 'the token decides the user')
  t.same(loads, ['2'], 'only the token user was loaded, not the session user')

  loads.length = 0
  const optional = await send(app, jar, 'GET', '/api/optional')
  t.same(optional.json(), { user: { id: '1', name: 'alice' } }, 'no token: the session user stands on a jwtOptional route')
  t.same(loads, ['1'], 'loaded from the session')
})

t.test('a JWT-only app: unguarded routes see the anonymous user, from the anonymousUser option when given', async (t) => {
  // Typed as null by default; an app widens AnonymousUser by declaration merging (see types/).
  const guest = (() => ({ name: 'guest' })) as unknown as FastifyLoginOptions['anonymousUser']
  for (const anonymousUser of [undefined, guest]) {
    const label = anonymousUser === undefined ? 'no anonymousUser' : 'anonymousUser'
    const app = Fastify()
    t.teardown(() => app.close())
    await app.register(fastifyLogin, {
      session: false,
      ...(anonymousUser === undefined ? {} : { anonymousUser }),
      jwt: { secret: 'a test secret that is long enough for HS256 ok', authPath: false, loadUserFromClaims: (claims) => ({ id: claims.sub, name: 'from token' }) }
    })
    app.get('/open', async (request) => ({ user: request.currentUser, authenticated: request.isAuthenticated() }))
    app.get('/optional', { preHandler: app.jwtOptional }, async (request) => ({ user: request.currentUser, authenticated: request.isAuthenticated() }))
    await app.ready()
    const token = await app.createAccessToken({ id: '7' })

    const expected = { user: anonymousUser === undefined ? null : { name: 'guest' }, authenticated: false }
    t.same((await app.inject({ url: '/open' })).json(), expected, `${label}: unguarded route`)
    t.same((await app.inject({ url: '/open', headers: { authorization: `Bearer ${token}` } })).json(), expected, `${label}: a token on an unguarded route is not read`)
    t.same((await app.inject({ url: '/optional' })).json(), expected, `${label}: jwtOptional without a token`)
    t.same((await app.inject({ url: '/optional', headers: { authorization: `Bearer ${token}` } })).json(), { user: { id: '7', name: 'from token' }, authenticated: true }, `${label}: jwtOptional with a token`)
  }
})
