import secureSession from '@fastify/secure-session'
import Fastify, { type FastifyInstance, type FastifyRequest, type LightMyRequestResponse } from 'fastify'
import t, { type Test } from 'tap'
import fastifyLogin, { type FastifyLoginOptions, type JwtOptions } from '../lib/index.js'
import { rememberCookie } from '../lib/testing/index.js'
import { authenticate, authLogin, buildApp, CookieJar, directory, loggedIn, send, setCookie, TEST_KEY, type TestUser } from './helpers.js'

/*
 * Responses that set or clear a login cookie get `Cache-Control: no-store`
 * (a shared cache must never hand one user's session to the next visitor),
 * unless the route chose its own Cache-Control; other responses get none.
 * The cookie-name list in plugin.ts is what decides, so each kind of login
 * cookie (session, remember, JWT) is covered on its own.
 */

const SECRET = 'no-store-test-secret-0123456789abcdef'
const OWN = 'private, max-age=60'
const SESSION = '__Host-session'
const REMEMBER = '__Host-remember_token'

interface AnySession { set: (key: string, value: unknown) => void }

/**
 * buildApp() plus:
 *  - GET  /page            an anonymous page, no cookies
 *  - GET  /theme           sets unrelated cookies of its own
 *  - POST /cart            writes the session (no login change)
 *  - POST /own-login/:id   reply.login() with the route's own Cache-Control
 *  - POST /own-logout      reply.logout() with the route's own Cache-Control
 */
async function sessionApp (t: Test, options: Partial<FastifyLoginOptions> = {}): Promise<FastifyInstance> {
  const { app } = await buildApp(options, (app) => {
    app.get('/page', async () => ({ hello: 'world' }))
    app.get('/theme', async (_request, reply) => {
      // `__Host-session-theme=` must not pass for `__Host-session=`.
      reply.setCookie('theme', 'dark').setCookie(`${SESSION}-theme`, 'dark', { secure: true, path: '/' })
      return { ok: true }
    })
    app.post<{ Body: { item: string } }>('/cart', async (request: FastifyRequest<{ Body: { item: string } }>) => {
      (request.session as unknown as AnySession).set('cart', request.body.item)
      return { ok: true }
    })
    app.post<{ Params: { id: string } }>('/own-login/:id', async (request, reply) => {
      reply.header('cache-control', OWN)
      return { ok: await reply.login(directory.get(request.params.id) as TestUser) }
    })
    app.post('/own-logout', async (_request, reply) => {
      reply.header('cache-control', OWN)
      await reply.logout()
      return { ok: true }
    })
  })
  t.teardown(() => app.close())
  return app
}

function setCookieNames (res: LightMyRequestResponse): string[] {
  return res.cookies.map((cookie) => cookie.name)
}

function assertNoStore (t: Test, res: LightMyRequestResponse, what: string): void {
  t.equal(res.statusCode < 400, true, `${what}: succeeded (${res.statusCode})`)
  t.equal(res.headers['cache-control'], 'no-store', `${what}: no-store`)
}

function assertNoCacheControl (t: Test, res: LightMyRequestResponse, what: string): void {
  t.equal(res.headers['cache-control'], undefined, `${what}: no Cache-Control added`)
}

t.test('session login cookies', async (t) => {
  const app = await sessionApp(t)

  t.test('reply.login() and reply.logout()', async (t) => {
    const login = await app.inject({ method: 'POST', url: '/login/1' })
    t.ok(setCookie(login, SESSION), 'the login sets the session cookie')
    assertNoStore(t, login, 'login')
    const remembered = await app.inject({ method: 'POST', url: '/login/1', payload: { remember: true } })
    t.ok(setCookie(remembered, REMEMBER), 'remember-me cookie set')
    assertNoStore(t, remembered, 'login with remember-me')

    const jar = new CookieJar().store(remembered)
    const logout = await send(app, jar, 'POST', '/logout')
    // The login keys leave the session, which is rewritten; the remember cookie is cleared.
    t.ok(setCookie(logout, SESSION), 'the logout rewrites the session cookie')
    t.equal(setCookie(logout, REMEMBER)?.maxAge, 0, 'the logout clears the remember cookie')
    assertNoStore(t, logout, 'logout')
  })

  t.test('a login restored from the remember cookie', async (t) => {
    const jar = new CookieJar()
    const [name, value] = (await rememberCookie(app, directory.get('1') as TestUser)).split('=') as [string, string]
    jar.cookies.set(name, value)
    const res = await send(app, jar, 'GET', '/me')
    t.equal(res.json<{ authenticated: boolean }>().authenticated, true, 'restored')
    t.ok(setCookie(res, SESSION), 'the restore writes the session cookie')
    assertNoStore(t, res, 'remember-me restore')
  })

  t.test('a session write of the app while logged in rewrites the session cookie', async (t) => {
    const jar = await loggedIn(app, '1')
    const res = await send(app, jar, 'POST', '/cart', { item: 'book' })
    t.same(setCookieNames(res), [SESSION], 'only the session cookie is written')
    assertNoStore(t, res, 'session write')
  })

  t.test('the route\'s own Cache-Control is kept', async (t) => {
    const login = await app.inject({ method: 'POST', url: '/own-login/1' })
    t.ok(setCookie(login, SESSION))
    t.equal(login.headers['cache-control'], OWN, 'login: kept as the route set it')
    const logout = await send(app, new CookieJar().store(login), 'POST', '/own-logout')
    t.ok(setCookie(logout, SESSION))
    t.equal(logout.headers['cache-control'], OWN, 'logout: kept as the route set it')
  })

  t.test('responses that set no login cookie get no Cache-Control', async (t) => {
    const jar = await loggedIn(app, '1', { remember: true })
    const me = await send(app, jar, 'GET', '/me')
    t.equal(me.json<{ authenticated: boolean }>().authenticated, true)
    t.same(setCookieNames(me), [], 'an unchanged session is not rewritten')
    assertNoCacheControl(t, me, 'logged-in GET /me')
    assertNoCacheControl(t, await app.inject({ url: '/page' }), 'anonymous page')
    assertNoCacheControl(t, await app.inject({ url: '/me' }), 'anonymous GET /me')

    for (const [what, cookie] of [['anonymous', ''], ['logged in', jar.header()]] as const) {
      const theme = await app.inject({ url: '/theme', headers: { cookie } })
      t.same(setCookieNames(theme), ['theme', `${SESSION}-theme`], `${what}: only the route's own cookies`)
      assertNoCacheControl(t, theme, `${what}: unrelated cookies`)
    }
  })
})

t.test('session protection clearing the remember cookie', async (t) => {
  const app = await sessionApp(t, { sessionProtection: 'strong' })
  // A remember cookie bound to another client, replayed without a session.
  const jar = new CookieJar()
  const [name, value] = (await rememberCookie(app, directory.get('1') as TestUser, { ip: '192.0.2.10', userAgent: 'Phone/2.0' })).split('=') as [string, string]
  jar.cookies.set(name, value)
  const res = await send(app, jar, 'GET', '/me')
  t.equal(res.json<{ authenticated: boolean }>().authenticated, false, 'not restored')
  // Only the remember cookie is written: its name alone must trigger no-store.
  t.same(setCookieNames(res), [REMEMBER])
  t.equal(setCookie(res, REMEMBER)?.maxAge, 0, 'the remember cookie is cleared')
  assertNoStore(t, res, 'protection clears the remember cookie')
})

t.test('a custom session cookie name', async (t) => {
  const app = await sessionApp(t, { session: { key: TEST_KEY, cookieName: 'sid' } })
  const res = await app.inject({ method: 'POST', url: '/login/1' })
  t.ok(setCookie(res, 'sid'))
  assertNoStore(t, res, 'login with cookie sid')
})

// The app's own @fastify/secure-session names its cookie without telling us
// (sessionCookieName is documented for the test helper only): still no-store.
t.test('the app registered @fastify/secure-session itself, cookie sid', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(secureSession, { key: TEST_KEY, cookieName: 'sid' })
  await app.register(fastifyLogin, { loadUser: (id: string) => directory.get(id) ?? null, rememberMe: false })
  app.post('/login', async (_request, reply) => ({ ok: await reply.login(directory.get('1') as TestUser) }))
  app.post('/logout', async (_request, reply) => { await reply.logout({ destroySession: true }); return { ok: true } })
  app.get('/theme', async (_request, reply) => reply.setCookie('theme', 'dark').send({ ok: true }))
  const login = await app.inject({ method: 'POST', url: '/login' })
  t.ok(setCookie(login, 'sid'))
  assertNoStore(t, login, 'login')
  const cookie = new CookieJar().store(login).header()
  const logout = await app.inject({ method: 'POST', url: '/logout', headers: { cookie } })
  t.equal(setCookie(logout, 'sid')?.maxAge, 0, 'the session cookie is deleted')
  assertNoStore(t, logout, 'logout')
  // A browser's cookies after the logout (a copy of the old login cookie would be cleared: see session-records.test.ts).
  const after = new CookieJar().store(login).store(logout).header()
  const theme = await app.inject({ url: '/theme', headers: { cookie: after } })
  t.same(setCookieNames(theme), ['theme'], 'an unchanged session is not rewritten')
  assertNoCacheControl(t, theme, 'unrelated cookie')
})

/**
 * An app with token cookies (and a session, which stays untouched here) plus:
 *  - GET  /api/me            jwtRequired
 *  - POST /custom-login/:id  reply.setJwtCookies(); body { own } adds the route's own Cache-Control
 *  - POST /custom-logout     reply.clearJwtCookies(), same
 */
async function jwtApp (t: Test, options: Partial<FastifyLoginOptions> = {}, jwt: Partial<JwtOptions> = {}): Promise<FastifyInstance> {
  const { app } = await buildApp({ jwt: { secret: SECRET, authenticate, locations: ['cookies'], cookies: {}, ...jwt }, ...options }, (app) => {
    app.get('/api/me', { preHandler: app.jwtRequired }, async (request) => ({ name: (request.currentUser as TestUser).name }))
    app.post<{ Params: { id: string }, Body: { own?: boolean } | undefined }>('/custom-login/:id', async (request, reply) => {
      if (request.body?.own === true) reply.header('cache-control', OWN)
      const user = directory.get(request.params.id) as TestUser
      reply.setJwtCookies({ accessToken: await app.createAccessToken(user), refreshToken: await app.createRefreshToken(user) })
      return { ok: true }
    })
    app.post<{ Body: { own?: boolean } | undefined }>('/custom-logout', async (request, reply) => {
      if (request.body?.own === true) reply.header('cache-control', OWN)
      reply.clearJwtCookies()
      return { ok: true }
    })
  })
  t.teardown(() => app.close())
  return app
}

const ACCESS = '__Host-access_token_cookie'

t.test('JWT cookies', async (t) => {
  const app = await jwtApp(t)

  t.test('POST /auth, /auth/refresh and /auth/logout', async (t) => {
    const auth = await authLogin(app)
    t.ok(setCookie(auth, ACCESS))
    assertNoStore(t, auth, '/auth')
    const jar = new CookieJar().store(auth)
    const refresh = await send(app, jar, 'POST', '/auth/refresh', undefined, { 'x-csrf-token': jar.cookies.get('__Host-csrf_refresh_token') as string })
    t.ok(setCookie(refresh, ACCESS), 'a new access cookie')
    assertNoStore(t, refresh, '/auth/refresh')
    // /auth and /auth/refresh set no-store themselves (RFC 6749); /auth/logout relies on the hook.
    const logout = await send(app, jar, 'POST', '/auth/logout', undefined, { 'x-csrf-token': jar.cookies.get('__Host-csrf_access_token') as string })
    t.equal(logout.statusCode, 204)
    t.equal(setCookie(logout, ACCESS)?.maxAge, 0, 'the token cookies are cleared')
    assertNoStore(t, logout, '/auth/logout')
  })

  t.test('reply.setJwtCookies() and reply.clearJwtCookies()', async (t) => {
    const login = await app.inject({ method: 'POST', url: '/custom-login/1' })
    t.ok(setCookie(login, ACCESS))
    assertNoStore(t, login, 'setJwtCookies')
    const logout = await app.inject({ method: 'POST', url: '/custom-logout' })
    t.equal(setCookie(logout, ACCESS)?.maxAge, 0)
    assertNoStore(t, logout, 'clearJwtCookies')
  })

  t.test('the route\'s own Cache-Control is kept', async (t) => {
    const login = await app.inject({ method: 'POST', url: '/custom-login/1', payload: { own: true } })
    t.ok(setCookie(login, ACCESS))
    t.equal(login.headers['cache-control'], OWN, 'setJwtCookies: kept')
    const logout = await app.inject({ method: 'POST', url: '/custom-logout', payload: { own: true } })
    t.equal(setCookie(logout, ACCESS)?.maxAge, 0)
    t.equal(logout.headers['cache-control'], OWN, 'clearJwtCookies: kept')
  })

  t.test('a guarded request sets no cookie and gets no Cache-Control', async (t) => {
    const jar = new CookieJar().store(await authLogin(app))
    const res = await send(app, jar, 'GET', '/api/me')
    t.equal(res.statusCode, 200)
    t.same(setCookieNames(res), [])
    assertNoCacheControl(t, res, 'GET /api/me')
  })
})

t.test('JWT cookies without a session, with configured names', async (t) => {
  const app = await jwtApp(t, { session: false }, {
    cookies: { accessCookieName: 'at', refreshCookieName: 'rt', accessCsrfCookieName: 'cat', refreshCsrfCookieName: 'crt' }
  })
  const login = await app.inject({ method: 'POST', url: '/custom-login/1' })
  t.same(setCookieNames(login).sort(), ['at', 'cat', 'crt', 'rt'])
  assertNoStore(t, login, 'setJwtCookies')
  assertNoStore(t, await app.inject({ method: 'POST', url: '/custom-logout' }), 'clearJwtCookies')
})

t.test('a Cache-Control that lets shared caches store the response is replaced', async (t) => {
  const { app } = await buildApp({}, (app) => {
    app.get('/cached-page', async (_request, reply) => {
      reply.header('cache-control', 'public, max-age=300')
      return 'page'
    })
  })
  t.teardown(() => app.close())
  // Only the remember cookie: the automatic load restores the login and writes a new session.
  const restore = await app.inject({ url: '/cached-page', headers: { cookie: await rememberCookie(app, directory.get('1') as TestUser) } })
  t.ok(setCookie(restore, '__Host-session'), 'the restore wrote a session cookie')
  t.equal(restore.headers['cache-control'], 'no-store', 'so public caching is replaced: a CDN must not store it')
  const anonymous = await app.inject({ url: '/cached-page' })
  t.equal(anonymous.headers['cache-control'], 'public, max-age=300', 'without a login cookie the route keeps its own')
})
