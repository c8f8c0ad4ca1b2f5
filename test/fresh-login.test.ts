import t from 'tap'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { BROWSER_ACCEPT, buildApp, CookieJar, loggedIn } from './helpers.js'

const FRESH_REQUIRED_BODY = {
  statusCode: 401,
  code: 'FST_LOGIN_FRESH_REQUIRED',
  error: 'Unauthorized',
  message: 'Please reauthenticate to access this page.'
}

t.test('a fresh login passes freshLoginRequired', async (t) => {
  const test = await buildApp()
  t.teardown(() => test.app.close())
  const jar = await loggedIn(test.app, '1')

  const res = await test.app.inject({ url: '/fresh', headers: { cookie: jar.header() } })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { name: 'alice' })
})

t.test('a login made with fresh: false is refused with FST_LOGIN_FRESH_REQUIRED', async (t) => {
  const test = await buildApp()
  t.teardown(() => test.app.close())
  const jar = await loggedIn(test.app, '1', { fresh: false })

  const res = await test.app.inject({ url: '/fresh', headers: { cookie: jar.header() } })
  t.equal(res.statusCode, 401)
  t.same(res.json(), FRESH_REQUIRED_BODY)

  const me = await test.app.inject({ url: '/me', headers: { cookie: jar.header() } })
  t.match(me.json(), { authenticated: true, fresh: false }, 'still logged in, just not fresh')
  const priv = await test.app.inject({ url: '/private', headers: { cookie: jar.header() } })
  t.equal(priv.statusCode, 200, 'loginRequired routes stay open')
})

t.test('an anonymous request gets the login flow, not the refresh flow', async (t) => {
  t.test('401 FST_LOGIN_UNAUTHORIZED without loginUrl', async (t) => {
    const { app } = await buildApp({ refreshUrl: '/reauth' })
    t.teardown(() => app.close())

    const res = await app.inject({ url: '/fresh', headers: { accept: BROWSER_ACCEPT } })
    t.equal(res.statusCode, 401)
    t.same(res.json(), {
      statusCode: 401,
      code: 'FST_LOGIN_UNAUTHORIZED',
      error: 'Unauthorized',
      message: 'Please log in to access this page.'
    })
  })

  t.test('a redirect to loginUrl for a browser', async (t) => {
    const { app } = await buildApp({ loginUrl: '/login', refreshUrl: '/reauth' })
    t.teardown(() => app.close())

    const res = await app.inject({ url: '/fresh?x=1', headers: { accept: BROWSER_ACCEPT } })
    t.equal(res.statusCode, 302)
    t.equal(res.headers.location, '/login?next=%2Ffresh%3Fx%3D1')
  })
})

t.test('refreshUrl: a stale login is redirected to re-authenticate', async (t) => {
  const test = await buildApp({ loginUrl: '/login', refreshUrl: '/reauth' })
  t.teardown(() => test.app.close())
  const jar = await loggedIn(test.app, '1', { fresh: false })

  const browser = await test.app.inject({ url: '/fresh?x=1', headers: { accept: BROWSER_ACCEPT, cookie: jar.header() } })
  t.equal(browser.statusCode, 302)
  t.equal(browser.headers.location, '/reauth?next=%2Ffresh%3Fx%3D1')

  const api = await test.app.inject({ url: '/fresh?x=1', headers: { accept: 'application/json', cookie: jar.header() } })
  t.equal(api.statusCode, 401, 'API clients get the error, not the redirect')
  t.same(api.json(), FRESH_REQUIRED_BODY)
})

t.test('without refreshUrl a stale login gets the 401, not a redirect to the login page', async (t) => {
  const test = await buildApp({ loginUrl: '/login' })
  t.teardown(() => test.app.close())
  const jar = await loggedIn(test.app, '1', { fresh: false })

  const res = await test.app.inject({ url: '/fresh', headers: { accept: BROWSER_ACCEPT, cookie: jar.header() } })
  t.equal(res.statusCode, 401)
  t.same(res.json(), FRESH_REQUIRED_BODY)
  t.equal(res.headers.location, undefined)
})

t.test('refreshMessage sets the message of the 401', async (t) => {
  const test = await buildApp({ refreshMessage: (request: FastifyRequest) => `Confirm your password to open ${request.url}` })
  t.teardown(() => test.app.close())
  const jar = await loggedIn(test.app, '1', { fresh: false })

  const res = await test.app.inject({ url: '/fresh', headers: { cookie: jar.header() } })
  t.equal(res.statusCode, 401)
  t.same(res.json(), { ...FRESH_REQUIRED_BODY, message: 'Confirm your password to open /fresh' })
})

t.test('refreshMessage: false (nothing to flash) still explains the 401 with the default text', async (t) => {
  const test = await buildApp({ refreshMessage: false, loginMessage: 'Sign in first.' })
  t.teardown(() => test.app.close())
  const jar = await loggedIn(test.app, '1', { fresh: false })

  const res = await test.app.inject({ url: '/fresh', headers: { cookie: jar.header() } })
  t.equal(res.statusCode, 401)
  t.same(res.json(), FRESH_REQUIRED_BODY, 'the default refresh message, not the login message')
})

t.test('the needsRefresh handler wins over refreshUrl', async (t) => {
  const seen: string[] = []
  const test = await buildApp({
    refreshUrl: '/reauth',
    unauthorized: (_request: FastifyRequest, reply: FastifyReply) => reply.code(403).send({ flow: 'login' }),
    needsRefresh: (request: FastifyRequest, reply: FastifyReply) => {
      seen.push(request.url)
      return reply.code(409).type('text/plain').send('please confirm your password')
    }
  })
  t.teardown(() => test.app.close())
  const jar = await loggedIn(test.app, '2', { fresh: false })

  const res = await test.app.inject({ url: '/fresh', headers: { accept: BROWSER_ACCEPT, cookie: jar.header() } })
  t.equal(res.statusCode, 409)
  t.equal(res.body, 'please confirm your password')
  t.equal(res.headers.location, undefined)
  t.same(seen, ['/fresh'])

  const anonymous = await test.app.inject({ url: '/fresh', headers: { accept: BROWSER_ACCEPT } })
  t.equal(anonymous.statusCode, 403, 'anonymous requests go to the unauthorized handler')
  t.same(anonymous.json(), { flow: 'login' })
  t.same(seen, ['/fresh'], 'needsRefresh is not called for them')
})

t.test('a login restored from the remember cookie is not fresh until confirmed', async (t) => {
  const test = await buildApp()
  t.teardown(() => test.app.close())
  const { app } = test
  const login = await loggedIn(test.app, '1', { remember: true })
  const remember = login.cookies.get('__Host-remember_token')
  t.ok(remember, 'the login set a remember cookie')

  // A new browser session: only the remember cookie is left.
  const jar = new CookieJar()
  jar.cookies.set('__Host-remember_token', remember as string)

  const restored = await app.inject({ url: '/fresh', headers: { cookie: jar.header() } })
  t.equal(restored.statusCode, 401)
  t.same(restored.json(), FRESH_REQUIRED_BODY)
  jar.store(restored)
  t.ok(jar.cookies.has('__Host-session'), 'the restore started a session')

  const me = await app.inject({ url: '/me', headers: { cookie: jar.header() } })
  t.match(me.json(), { authenticated: true, fresh: false, user: { id: '1' } })
  jar.store(me)

  const confirm = await app.inject({ method: 'POST', url: '/confirm', headers: { cookie: jar.header() } })
  t.same(confirm.json(), { confirmed: true })
  jar.store(confirm)

  const fresh = await app.inject({ url: '/fresh', headers: { cookie: jar.header() } })
  t.equal(fresh.statusCode, 200)
  t.same(fresh.json(), { name: 'alice' })
})

t.test('reply.confirmLogin() makes a stale session login fresh again', async (t) => {
  const test = await buildApp()
  t.teardown(() => test.app.close())
  const jar = await loggedIn(test.app, '2', { fresh: false })

  const before = await test.app.inject({ url: '/fresh', headers: { cookie: jar.header() } })
  t.equal(before.statusCode, 401)

  const confirm = await test.app.inject({ method: 'POST', url: '/confirm', headers: { cookie: jar.header() } })
  t.same(confirm.json(), { confirmed: true })
  jar.store(confirm)

  const after = await test.app.inject({ url: '/fresh', headers: { cookie: jar.header() } })
  t.equal(after.statusCode, 200)
  t.same(after.json(), { name: 'bob' })
})

t.test('reply.confirmLogin() without a login returns false and grants nothing', async (t) => {
  const { app } = await buildApp()
  t.teardown(() => app.close())
  const jar = new CookieJar()

  const confirm = await app.inject({ method: 'POST', url: '/confirm' })
  t.equal(confirm.statusCode, 200)
  t.same(confirm.json(), { confirmed: false })
  jar.store(confirm)

  const me = await app.inject({ url: '/me', headers: { cookie: jar.header() } })
  t.match(me.json(), { authenticated: false, fresh: false, user: null })
  const fresh = await app.inject({ url: '/fresh', headers: { cookie: jar.header() } })
  t.equal(fresh.statusCode, 401)
  t.equal(fresh.json().code, 'FST_LOGIN_UNAUTHORIZED')
})

t.test('after logout, confirmLogin() cannot revive the login', async (t) => {
  const test = await buildApp()
  t.teardown(() => test.app.close())
  const jar = await loggedIn(test.app, '1')

  jar.store(await test.app.inject({ method: 'POST', url: '/logout', headers: { cookie: jar.header() } }))
  const confirm = await test.app.inject({ method: 'POST', url: '/confirm', headers: { cookie: jar.header() } })
  t.same(confirm.json(), { confirmed: false })
  jar.store(confirm)

  const fresh = await test.app.inject({ url: '/fresh', headers: { cookie: jar.header() } })
  t.equal(fresh.statusCode, 401)
  t.equal(fresh.json().code, 'FST_LOGIN_UNAUTHORIZED')
})
