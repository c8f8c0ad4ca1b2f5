import t from 'tap'
import secureSession from '@fastify/secure-session'
import Fastify from 'fastify'
import fastifyLogin, * as mainEntry from '../lib/index.js'
import { loginCookie, rememberCookie } from '../lib/testing/index.js'
import { buildApp, makeUsers, setCookie, TEST_KEY, type TestUser } from './helpers.js'

const users = makeUsers()
const alice = users.get('1') as TestUser
const bob = users.get('2') as TestUser

t.test('loginCookie(app, user) logs the user in for inject', async (t) => {
  const { app } = await buildApp()
  t.teardown(() => app.close())
  const cookie = await loginCookie(app, alice)
  t.match(cookie, /^__Host-session=[^;\s]+$/, 'a single name=value pair for the Cookie header')

  const res = await app.inject({ url: '/me', headers: { cookie } })
  t.same(res.json(), { user: { id: '1', name: 'alice' }, authenticated: true, fresh: true, remembered: false }, 'logged in and fresh by default')
  const fresh = await app.inject({ url: '/fresh', headers: { cookie } })
  t.equal(fresh.statusCode, 200)
  t.same(fresh.json(), { name: 'alice' })

  const other = await app.inject({ url: '/private', headers: { cookie: await loginCookie(app, bob) } })
  t.same(other.json(), { name: 'bob' }, 'one cookie per user')
})

t.test('loginCookie(app, user, { fresh: false }) is a login that is not fresh', async (t) => {
  const { app } = await buildApp()
  t.teardown(() => app.close())
  const cookie = await loginCookie(app, alice, { fresh: false })

  t.same((await app.inject({ url: '/me', headers: { cookie } })).json(), { user: { id: '1', name: 'alice' }, authenticated: true, fresh: false, remembered: false })
  t.equal((await app.inject({ url: '/private', headers: { cookie } })).statusCode, 200)
  const fresh = await app.inject({ url: '/fresh', headers: { cookie } })
  t.equal(fresh.statusCode, 401)
  t.equal(fresh.json().code, 'FST_LOGIN_FRESH_REQUIRED')
})

t.test('the session is bound to the userAgent and ip options', async (t) => {
  t.test('another userAgent: basic protection keeps the login but not its freshness', async (t) => {
    const { app } = await buildApp()
    t.teardown(() => app.close())
    const cookie = await loginCookie(app, alice, { userAgent: 'SomeBrowser/1.0' })

    const same = await app.inject({ url: '/me', headers: { cookie, 'user-agent': 'SomeBrowser/1.0' } })
    t.match(same.json(), { user: { name: 'alice' }, authenticated: true, fresh: true }, 'with the matching User-Agent it is fresh')

    const res = await app.inject({ url: '/me', headers: { cookie } })
    t.match(res.json(), { user: { name: 'alice' }, authenticated: true, fresh: false }, 'inject sends another User-Agent')
    const back = await app.inject({ url: '/me', headers: { cookie, 'user-agent': 'SomeBrowser/1.0' } })
    t.match(back.json(), { authenticated: true, fresh: false }, 'the server-side session stays stale once seen from another client')
  })

  t.test('another userAgent: strong protection drops the login', async (t) => {
    const { app } = await buildApp({ sessionProtection: 'strong' })
    t.teardown(() => app.close())
    const cookie = await loginCookie(app, alice, { userAgent: 'SomeBrowser/1.0' })

    const same = await app.inject({ url: '/private', headers: { cookie, 'user-agent': 'SomeBrowser/1.0' } })
    t.equal(same.statusCode, 200, 'the matching User-Agent is logged in')
    const res = await app.inject({ url: '/me', headers: { cookie } })
    t.match(res.json(), { user: null, authenticated: false })
    const after = await app.inject({ url: '/private', headers: { cookie, 'user-agent': 'SomeBrowser/1.0' } })
    t.equal(after.statusCode, 401, 'the session ended on the server: the original client is logged out too')
  })

  t.test('the ip option matches inject remoteAddress', async (t) => {
    const { app } = await buildApp()
    t.teardown(() => app.close())
    const cookie = await loginCookie(app, alice, { ip: '203.0.113.9' })

    const there = await app.inject({ url: '/me', headers: { cookie }, remoteAddress: '203.0.113.9' })
    t.match(there.json(), { authenticated: true, fresh: true })
    const elsewhere = await app.inject({ url: '/me', headers: { cookie } })
    t.match(elsewhere.json(), { authenticated: true, fresh: false }, 'from the default address it is not fresh')
  })
})

t.test('loginCookie follows a custom session cookie name', async (t) => {
  const { app } = await buildApp({ session: { key: TEST_KEY, cookieName: 'sid' } })
  t.teardown(() => app.close())
  const cookie = await loginCookie(app, bob)
  t.match(cookie, /^sid=/)
  t.match((await app.inject({ url: '/me', headers: { cookie } })).json(), { user: { name: 'bob' }, authenticated: true, fresh: true })
})

t.test('sessionCookieName tells loginCookie the cookie name of a session the app registered itself', async (t) => {
  const start = async (options: { sessionCookieName?: string }) => {
    const app = Fastify()
    t.teardown(() => app.close())
    await app.register(secureSession, { key: TEST_KEY, cookieName: 'app_sid', cookie: { path: '/' } })
    await app.register(fastifyLogin, { loadUser: (id) => users.get(id) ?? null, rememberMe: false, ...options })
    app.get('/me', async (request) => ({ user: request.currentUser }))
    await app.ready()
    return app
  }

  const named = await start({ sessionCookieName: 'app_sid' })
  const cookie = await loginCookie(named, bob)
  t.match(cookie, /^app_sid=/)
  t.same((await named.inject({ url: '/me', headers: { cookie } })).json(), { user: { id: '2', name: 'bob' } }, 'the cookie logs bob in')

  const unnamed = await start({})
  const wrong = await loginCookie(unnamed, bob)
  t.match(wrong, /^session=/, 'control: without it the helper assumes the default name')
  t.same((await unnamed.inject({ url: '/me', headers: { cookie: wrong } })).json(), { user: null }, 'which this app does not read')
})

t.test('rememberCookie(app, user) restores a login that is not fresh', async (t) => {
  const { app } = await buildApp()
  t.teardown(() => app.close())
  const cookie = await rememberCookie(app, alice)
  t.match(cookie, /^__Host-remember_token=[A-Za-z0-9_-]+$/)

  const res = await app.inject({ url: '/me', headers: { cookie } })
  t.same(res.json(), { user: { id: '1', name: 'alice' }, authenticated: true, fresh: false, remembered: true })
  t.ok(setCookie(res, '__Host-session'), 'the restore starts a session')
  t.equal((await app.inject({ url: '/fresh', headers: { cookie } })).statusCode, 401, 'not fresh')

  const short = await rememberCookie(app, bob, { duration: '1h' })
  t.match((await app.inject({ url: '/me', headers: { cookie: short } })).json(), { user: { name: 'bob' }, remembered: true }, 'with a duration')
  await t.rejects(rememberCookie(app, bob, { duration: 'soon' }), { code: 'FST_LOGIN_INVALID_OPTION' }, 'a bad duration is refused')
})

t.test('the helpers refuse what they cannot do, with a clear error', async (t) => {
  t.test('before fastify-login is registered', async (t) => {
    const bare = Fastify()
    t.teardown(() => bare.close())
    await t.rejects(loginCookie(bare, alice), /fastify-login is not registered/)
    await t.rejects(rememberCookie(bare, alice), /fastify-login is not registered/)
  })

  t.test('registered but not ready yet', async (t) => {
    const app = Fastify()
    t.teardown(() => app.close())
    app.register(fastifyLogin, { session: { key: TEST_KEY }, loadUser: (id) => users.get(id) ?? null })
    await t.rejects(loginCookie(app, alice), /await fastify.ready\(\) first/)
    await app.ready()
    t.match(await loginCookie(app, alice), /^__Host-session=/, 'works once ready')
  })

  t.test('rememberCookie with rememberMe: false', async (t) => {
    const { app } = await buildApp({ rememberMe: false })
    t.teardown(() => app.close())
    await t.rejects(rememberCookie(app, alice), /rememberMe is turned off/)
  })

  t.test('a user without an id', async (t) => {
    const { app } = await buildApp()
    t.teardown(() => app.close())
    await t.rejects(loginCookie(app, { name: 'nobody' }), { code: 'FST_LOGIN_INVALID_USER' })
    await t.rejects(rememberCookie(app, { id: '' }), { code: 'FST_LOGIN_INVALID_USER' })
  })
})

t.test('the main entry still re-exports the helpers (deprecated): the same functions', async (t) => {
  t.equal(mainEntry.loginCookie, loginCookie)
  t.equal(mainEntry.rememberCookie, rememberCookie)
  const { app } = await buildApp()
  t.teardown(() => app.close())
  const res = await app.inject({ url: '/private', headers: { cookie: await mainEntry.loginCookie(app, alice) } })
  t.equal(res.statusCode, 200, 'a cookie from the main-entry loginCookie logs in')
})
