import fastifyCookie from '@fastify/cookie'
import Fastify, { type FastifyInstance, type LightMyRequestResponse } from 'fastify'
import t, { type Test } from 'tap'
import fastifyLogin, { type FastifyLoginOptions, type JwtOptions } from '../lib/index.js'
import {
  assertRefused, assertUser, authenticate, authLogin, buildApp, callMe, CookieJar, directory, fakeClock, getTokens, PASSWORD, payloadOf, rejectsOption, setCookie, type TestUser
} from './helpers.js'

/*
 * Token locations other than the Authorization header: cookies (with the
 * CSRF double submit), the query string, and their order.
 */

const SECRET = 'jwt-cookies-test-secret-0123456789abcdef'
const TOKEN_COOKIES = ['__Host-access_token_cookie', '__Host-refresh_token_cookie', '__Host-csrf_access_token', '__Host-csrf_refresh_token']

/**
 * An app with the JWT part (secret, authenticate, cookie location unless
 * `jwt` says otherwise) and these routes:
 *  - GET/POST/DELETE /api/me   jwtRequired; 200 { name }
 *  - POST /custom-login/:id    makes tokens with createAccessToken/createRefreshToken and reply.setJwtCookies()
 *  - POST /custom-logout       reply.clearJwtCookies()
 */
async function cookieApp (t: Test, jwt: Partial<JwtOptions> = {}, options: Partial<FastifyLoginOptions> = {}): Promise<FastifyInstance> {
  const { app } = await buildApp({
    ...options,
    jwt: { secret: SECRET, authenticate, locations: ['cookies'], cookies: {}, ...jwt }
  }, (app) => {
    const handler = async (request: { currentUser: unknown }): Promise<{ name: string }> => ({ name: (request.currentUser as TestUser).name })
    app.get('/api/me', { preHandler: app.jwtRequired }, handler)
    app.post('/api/me', { preHandler: app.jwtRequired }, handler)
    app.delete('/api/me', { preHandler: app.jwtRequired }, handler)
    app.post<{ Params: { id: string }, Body: { refresh?: boolean } | undefined }>('/custom-login/:id', async (request, reply) => {
      const user = directory.get(request.params.id)
      if (user === undefined) return reply.code(404).send({ ok: false })
      const accessToken = await app.createAccessToken(user, { fresh: true })
      const refreshToken = request.body?.refresh === false ? undefined : await app.createRefreshToken(user)
      reply.setJwtCookies({ accessToken, refreshToken })
      return { ok: true }
    })
    app.post('/custom-logout', async (_request, reply) => {
      reply.clearJwtCookies()
      return { ok: true }
    })
  })
  t.teardown(() => app.close())
  return app
}

/** The value of cookie `name` set by `res` (throws when it is missing). */
function cookieValue (res: LightMyRequestResponse, name: string): string {
  const cookie = setCookie(res, name)
  if (cookie === undefined) throw new Error(`no ${name} cookie`)
  return cookie.value
}

function assertCleared (t: Test, res: LightMyRequestResponse, names: string[]): void {
  for (const name of names) {
    const cookie = setCookie(res, name)
    t.ok(cookie, `${name} is cleared`)
    t.equal(cookie?.value, '', `${name} is emptied`)
    t.equal(cookie?.maxAge, 0, `${name} has Max-Age=0`)
    t.equal(cookie?.path, '/', `${name} is cleared on its own path`)
  }
}

t.test('POST /auth sets the token and CSRF cookies', async (t) => {
  t.test('with the default lifetimes', async (t) => {
    const app = await cookieApp(t)
    const res = await fakeClock(t).frozen(() => authLogin(app))
    t.equal(res.statusCode, 200)
    const lifetimes: Record<string, number> = {
      '__Host-access_token_cookie': 15 * 60,
      '__Host-csrf_access_token': 15 * 60,
      '__Host-refresh_token_cookie': 30 * 86400,
      '__Host-csrf_refresh_token': 30 * 86400
    }
    for (const name of TOKEN_COOKIES) {
      const cookie = setCookie(res, name)
      t.ok(cookie, `${name} is set`)
      t.equal(cookie?.secure, true, `${name} is Secure`)
      t.equal(cookie?.sameSite, 'Lax', `${name} is SameSite=Lax`)
      t.equal(cookie?.path, '/', `${name} has Path=/`)
      t.equal(cookie?.maxAge, lifetimes[name], `${name} lives as long as its token`)
    }
    t.equal(setCookie(res, '__Host-access_token_cookie')?.httpOnly, true, 'the access token cookie is HttpOnly')
    t.equal(setCookie(res, '__Host-refresh_token_cookie')?.httpOnly, true, 'the refresh token cookie is HttpOnly')
    t.notOk(setCookie(res, '__Host-csrf_access_token')?.httpOnly, 'scripts can read the access CSRF cookie')
    t.notOk(setCookie(res, '__Host-csrf_refresh_token')?.httpOnly, 'scripts can read the refresh CSRF cookie')
  })

  t.test('with configured lifetimes', async (t) => {
    const app = await cookieApp(t, { accessTokenExpires: '5m', refreshTokenExpires: '1d' })
    const res = await fakeClock(t).frozen(() => authLogin(app))
    t.equal(setCookie(res, '__Host-access_token_cookie')?.maxAge, 300)
    t.equal(setCookie(res, '__Host-csrf_access_token')?.maxAge, 300)
    t.equal(setCookie(res, '__Host-refresh_token_cookie')?.maxAge, 86400)
    t.equal(setCookie(res, '__Host-csrf_refresh_token')?.maxAge, 86400)
  })

  t.test('the CSRF values are the csrf claims of their tokens', async (t) => {
    const app = await cookieApp(t)
    const res = await authLogin(app)
    const access = cookieValue(res, '__Host-access_token_cookie')
    const refresh = cookieValue(res, '__Host-refresh_token_cookie')
    t.equal(payloadOf(access).type, 'access')
    t.equal(payloadOf(refresh).type, 'refresh')
    t.equal(cookieValue(res, '__Host-csrf_access_token'), payloadOf(access).csrf)
    t.equal(cookieValue(res, '__Host-csrf_refresh_token'), payloadOf(refresh).csrf)
    t.ok(String(payloadOf(access).csrf).length >= 16, 'the CSRF value is long enough to be unguessable')
    t.not(payloadOf(access).csrf, payloadOf(refresh).csrf, 'each token has its own CSRF value')
    const again = await authLogin(app)
    t.not(cookieValue(again, '__Host-csrf_access_token'), cookieValue(res, '__Host-csrf_access_token'), 'a new login gets a new CSRF value')
  })

  t.test('cookie names and attributes can be configured', async (t) => {
    const app = await cookieApp(t, {
      cookies: { accessCookieName: 'at', refreshCookieName: 'rt', accessCsrfCookieName: 'cat', refreshCsrfCookieName: 'crt', sameSite: 'strict', path: '/api', domain: 'example.com' }
    })
    const res = await authLogin(app)
    for (const name of ['at', 'rt', 'cat', 'crt']) {
      const cookie = setCookie(res, name)
      t.ok(cookie, `${name} is set`)
      t.equal(cookie?.sameSite, 'Strict')
      t.equal(cookie?.path, '/api')
      t.equal(cookie?.domain, 'example.com')
    }
    for (const name of TOKEN_COOKIES) t.notOk(setCookie(res, name), `no ${name}`)
  })
})

t.test('CSRF double submit', async (t) => {
  const app = await cookieApp(t)
  const res = await authLogin(app)
  const jar = new CookieJar().store(res)
  const csrf = cookieValue(res, '__Host-csrf_access_token')

  t.test('GET with the cookie passes without a CSRF header', async (t) => {
    assertUser(t, await app.inject({ url: '/api/me', headers: { cookie: jar.header() } }))
  })
  t.test('POST with the cookie but no CSRF header is refused', async (t) => {
    const res = await app.inject({ method: 'POST', url: '/api/me', headers: { cookie: jar.header() } })
    assertRefused(t, res, 'FST_LOGIN_JWT_CSRF')
    t.equal(res.headers['www-authenticate'], 'Bearer realm="api", error="invalid_token", error_description="CSRF double submit tokens do not match"')
  })
  t.test('POST with a wrong CSRF header is refused', async (t) => {
    assertRefused(t, await app.inject({ method: 'POST', url: '/api/me', headers: { cookie: jar.header(), 'x-csrf-token': `${csrf}x` } }), 'FST_LOGIN_JWT_CSRF')
    assertRefused(t, await app.inject({ method: 'POST', url: '/api/me', headers: { cookie: jar.header(), 'x-csrf-token': '' } }), 'FST_LOGIN_JWT_CSRF')
  })
  t.test('POST with the refresh CSRF value is refused', async (t) => {
    const refreshCsrf = cookieValue(res, '__Host-csrf_refresh_token')
    assertRefused(t, await app.inject({ method: 'POST', url: '/api/me', headers: { cookie: jar.header(), 'x-csrf-token': refreshCsrf } }), 'FST_LOGIN_JWT_CSRF')
  })
  t.test('another user\'s CSRF value is refused', async (t) => {
    const bob = await authLogin(app, 'bob')
    assertRefused(t, await app.inject({ method: 'POST', url: '/api/me', headers: { cookie: jar.header(), 'x-csrf-token': cookieValue(bob, '__Host-csrf_access_token') } }), 'FST_LOGIN_JWT_CSRF')
  })
  t.test('POST with the right CSRF header passes', async (t) => {
    assertUser(t, await app.inject({ method: 'POST', url: '/api/me', headers: { cookie: jar.header(), 'x-csrf-token': csrf } }))
  })
  t.test('DELETE needs it too', async (t) => {
    assertRefused(t, await app.inject({ method: 'DELETE', url: '/api/me', headers: { cookie: jar.header() } }), 'FST_LOGIN_JWT_CSRF')
    assertUser(t, await app.inject({ method: 'DELETE', url: '/api/me', headers: { cookie: jar.header(), 'x-csrf-token': csrf } }))
  })
  t.test('a configured CSRF header name is used', async (t) => {
    const custom = await cookieApp(t, { cookies: { csrfHeader: 'X-XSRF-TOKEN' } })
    const res = await authLogin(custom)
    const cookie = new CookieJar().store(res).header()
    const value = cookieValue(res, '__Host-csrf_access_token')
    assertRefused(t, await custom.inject({ method: 'POST', url: '/api/me', headers: { cookie, 'x-csrf-token': value } }), 'FST_LOGIN_JWT_CSRF')
    assertUser(t, await custom.inject({ method: 'POST', url: '/api/me', headers: { cookie, 'x-xsrf-token': value } }))
  })
})

t.test('cookies.csrf: false', async (t) => {
  const app = await cookieApp(t, { cookies: { csrf: false } })
  const res = await authLogin(app)
  t.ok(setCookie(res, '__Host-access_token_cookie'), 'the token cookie is set')
  t.notOk(setCookie(res, '__Host-csrf_access_token'), 'no access CSRF cookie')
  t.notOk(setCookie(res, '__Host-csrf_refresh_token'), 'no refresh CSRF cookie')
  assertUser(t, await app.inject({ method: 'POST', url: '/api/me', headers: { cookie: new CookieJar().store(res).header() } }))
})

t.test('refresh through the refresh cookie', async (t) => {
  const app = await cookieApp(t)
  const res = await authLogin(app)
  const jar = new CookieJar().store(res)
  const oldAccess = cookieValue(res, '__Host-access_token_cookie')

  t.test('without the refresh CSRF header it is refused', async (t) => {
    assertRefused(t, await app.inject({ method: 'POST', url: '/auth/refresh', headers: { cookie: jar.header() } }), 'FST_LOGIN_JWT_CSRF')
    assertRefused(t, await app.inject({
      method: 'POST',
      url: '/auth/refresh',
      headers: { cookie: jar.header(), 'x-csrf-token': cookieValue(res, '__Host-csrf_access_token') }
    }), 'FST_LOGIN_JWT_CSRF')
  })

  t.test('with it, new access and refresh cookies are set', async (t) => {
    const refreshed = await app.inject({
      method: 'POST',
      url: '/auth/refresh',
      headers: { cookie: jar.header(), 'x-csrf-token': cookieValue(res, '__Host-csrf_refresh_token') }
    })
    t.equal(refreshed.statusCode, 200)
    const access = cookieValue(refreshed, '__Host-access_token_cookie')
    t.not(access, oldAccess, 'a new access token')
    t.equal(payloadOf(access).type, 'access')
    t.equal(payloadOf(access).fresh, false, 'a refreshed token is not fresh')
    t.equal(setCookie(refreshed, '__Host-access_token_cookie')?.httpOnly, true)
    const nextRefresh = cookieValue(refreshed, '__Host-refresh_token_cookie')
    t.not(nextRefresh, jar.cookies.get('__Host-refresh_token_cookie'), 'the refresh cookie holds the successor')
    t.equal(setCookie(refreshed, '__Host-refresh_token_cookie')?.httpOnly, true)
    t.equal(cookieValue(refreshed, '__Host-csrf_refresh_token'), cookieValue(res, '__Host-csrf_refresh_token'),
      'the refresh CSRF value stays, so the page keeps sending the header it has')
    const newCsrf = cookieValue(refreshed, '__Host-csrf_access_token')
    t.equal(newCsrf, payloadOf(access).csrf, 'the access CSRF cookie matches the new token')

    jar.store(refreshed)
    t.equal(jar.cookies.get('__Host-access_token_cookie'), access)
    assertUser(t, await app.inject({ url: '/api/me', headers: { cookie: jar.header() } }))
    assertUser(t, await app.inject({ method: 'POST', url: '/api/me', headers: { cookie: jar.header(), 'x-csrf-token': newCsrf } }))
  })

  t.test('the access cookie cannot be used as a refresh token', async (t) => {
    const onlyAccess = `__Host-access_token_cookie=${oldAccess}`
    assertRefused(t, await app.inject({ method: 'POST', url: '/auth/refresh', headers: { cookie: onlyAccess } }), 'FST_LOGIN_JWT_NO_TOKEN')
    const swapped = `__Host-refresh_token_cookie=${oldAccess}`
    assertRefused(t, await app.inject({
      method: 'POST',
      url: '/auth/refresh',
      headers: { cookie: swapped, 'x-csrf-token': cookieValue(res, '__Host-csrf_access_token') }
    }), 'FST_LOGIN_JWT_WRONG_TYPE')
  })
})

t.test('logout clears the cookies and revokes both tokens', async (t) => {
  const app = await cookieApp(t)
  const res = await authLogin(app)
  const before = new CookieJar().store(res).header()
  const csrf = cookieValue(res, '__Host-csrf_access_token')

  const noCsrf = await app.inject({ method: 'POST', url: '/auth/logout', headers: { cookie: before } })
  assertRefused(t, noCsrf, 'FST_LOGIN_JWT_CSRF')
  assertUser(t, await app.inject({ url: '/api/me', headers: { cookie: before } }), 'alice')

  const out = await app.inject({ method: 'POST', url: '/auth/logout', headers: { cookie: before, 'x-csrf-token': csrf } })
  t.equal(out.statusCode, 204)
  assertCleared(t, out, TOKEN_COOKIES)
  const after = new CookieJar().store(res).store(out)
  t.equal(after.cookies.size, 0, 'a browser keeps none of the cookies')

  // A client that kept the old cookies gets nowhere.
  assertRefused(t, await app.inject({ url: '/api/me', headers: { cookie: before } }), 'FST_LOGIN_JWT_REVOKED')
  assertRefused(t, await app.inject({
    method: 'POST',
    url: '/auth/refresh',
    headers: { cookie: before, 'x-csrf-token': cookieValue(res, '__Host-csrf_refresh_token') }
  }), 'FST_LOGIN_JWT_REVOKED')
})

t.test('reply.setJwtCookies and reply.clearJwtCookies in custom routes', async (t) => {
  const app = await cookieApp(t)

  t.test('setJwtCookies with both tokens', async (t) => {
    const res = await app.inject({ method: 'POST', url: '/custom-login/2' })
    t.equal(res.statusCode, 200)
    for (const name of TOKEN_COOKIES) t.ok(setCookie(res, name), `${name} is set`)
    t.equal(setCookie(res, '__Host-access_token_cookie')?.httpOnly, true)
    t.equal(cookieValue(res, '__Host-csrf_access_token'), payloadOf(cookieValue(res, '__Host-access_token_cookie')).csrf)
    const jar = new CookieJar().store(res)
    assertUser(t, await app.inject({ url: '/api/me', headers: { cookie: jar.header() } }), 'bob')
    assertUser(t, await app.inject({ method: 'POST', url: '/api/me', headers: { cookie: jar.header(), 'x-csrf-token': cookieValue(res, '__Host-csrf_access_token') } }), 'bob')
    assertRefused(t, await app.inject({ method: 'POST', url: '/api/me', headers: { cookie: jar.header() } }), 'FST_LOGIN_JWT_CSRF')
  })

  t.test('setJwtCookies with only an access token', async (t) => {
    const res = await app.inject({ method: 'POST', url: '/custom-login/1', payload: { refresh: false } })
    t.ok(setCookie(res, '__Host-access_token_cookie'))
    t.ok(setCookie(res, '__Host-csrf_access_token'))
    t.notOk(setCookie(res, '__Host-refresh_token_cookie'))
    t.notOk(setCookie(res, '__Host-csrf_refresh_token'))
  })

  t.test('clearJwtCookies', async (t) => {
    const res = await app.inject({ method: 'POST', url: '/custom-logout' })
    t.equal(res.statusCode, 200)
    assertCleared(t, res, TOKEN_COOKIES)
  })
})

t.test("locations ['headers', 'cookies']: the header wins", async (t) => {
  const app = await cookieApp(t, { locations: ['headers', 'cookies'] })
  const alice = new CookieJar().store(await authLogin(app, 'alice')).header()
  const bob = (await getTokens(app, 'bob')).access_token
  assertUser(t, await app.inject({ url: '/api/me', headers: { cookie: alice, authorization: `Bearer ${bob}` } }), 'bob')
  // the token came from the header, so no CSRF header is needed
  assertUser(t, await app.inject({ method: 'POST', url: '/api/me', headers: { cookie: alice, authorization: `Bearer ${bob}` } }), 'bob')
  // without a header, the cookie is used, with its CSRF check
  assertUser(t, await app.inject({ url: '/api/me', headers: { cookie: alice } }), 'alice')
  assertRefused(t, await app.inject({ method: 'POST', url: '/api/me', headers: { cookie: alice } }), 'FST_LOGIN_JWT_CSRF')
})

t.test("locations ['query']", async (t) => {
  t.test('reads ?jwt=<token>', async (t) => {
    const app = await cookieApp(t, { locations: ['query'], cookies: undefined })
    const token = (await getTokens(app)).access_token
    assertUser(t, await app.inject({ url: `/api/me?jwt=${token}` }))
    assertRefused(t, await callMe(app, token), 'FST_LOGIN_JWT_NO_TOKEN')
    assertRefused(t, await app.inject({ url: '/api/me?jwt=' }), 'FST_LOGIN_JWT_NO_TOKEN')
    assertRefused(t, await app.inject({ url: `/api/me?jwt=${token}x` }), 'FST_LOGIN_JWT_INVALID')
  })
  t.test('a configured queryParam', async (t) => {
    const app = await cookieApp(t, { locations: ['query'], cookies: undefined, queryParam: 'access_token' })
    const token = (await getTokens(app)).access_token
    assertUser(t, await app.inject({ url: `/api/me?access_token=${token}` }))
    assertRefused(t, await app.inject({ url: `/api/me?jwt=${token}` }), 'FST_LOGIN_JWT_NO_TOKEN')
  })
  t.test('the default locations do not read the query string', async (t) => {
    const app = await cookieApp(t, { locations: undefined, cookies: undefined })
    const token = (await getTokens(app)).access_token
    assertRefused(t, await app.inject({ url: `/api/me?jwt=${token}` }), 'FST_LOGIN_JWT_NO_TOKEN')
    assertUser(t, await callMe(app, token))
  })
  t.test('the default locations do not read cookies either', async (t) => {
    const cookieIssuer = await cookieApp(t)
    const headerOnly = await cookieApp(t, { locations: undefined, cookies: undefined })
    const jar = new CookieJar().store(await authLogin(cookieIssuer))
    assertRefused(t, await headerOnly.inject({ url: '/api/me', headers: { cookie: jar.header() } }), 'FST_LOGIN_JWT_NO_TOKEN')
  })
})

t.test("the cookies option without 'cookies' in locations is a registration error", async (t) => {
  for (const locations of [undefined, ['headers'], ['headers', 'query']] as const) {
    await rejectsOption(t, {
      session: false,
      loadUser: (id: string) => directory.get(id) ?? null,
      jwt: { secret: SECRET, authenticate, locations: locations === undefined ? undefined : [...locations], cookies: { csrf: true } }
    }, /cookies/, { message: `locations ${JSON.stringify(locations)}` })
  }
})

t.test('JWT-only app (session: false) with the cookie location', async (t) => {
  t.test('the app registered @fastify/cookie itself', async (t) => {
    const app = Fastify()
    t.teardown(() => app.close())
    await app.register(fastifyCookie)
    await app.register(fastifyLogin, {
      session: false,
      loadUser: (id: string) => directory.get(id) ?? null,
      jwt: { secret: SECRET, authenticate, locations: ['cookies'], cookies: {} }
    })
    app.get('/api/me', { preHandler: app.jwtRequired }, async (request) => ({ name: (request.currentUser as TestUser).name }))
    const res = await authLogin(app)
    t.ok(setCookie(res, '__Host-access_token_cookie'))
    assertUser(t, await app.inject({ url: '/api/me', headers: { cookie: new CookieJar().store(res).header() } }))
  })

  // Without @fastify/secure-session nothing registers @fastify/cookie: the
  // plugin must then either register it or refuse the options at startup,
  // never answer POST /auth with a 500.
  t.test('nothing registered @fastify/cookie', async (t) => {
    const app = Fastify()
    t.teardown(() => app.close())
    let registered = true
    try {
      await app.register(fastifyLogin, {
        session: false,
        loadUser: (id: string) => directory.get(id) ?? null,
        jwt: { secret: SECRET, authenticate, locations: ['cookies'], cookies: {} }
      })
      app.get('/api/me', { preHandler: app.jwtRequired }, async (request) => ({ name: (request.currentUser as TestUser).name }))
      await app.ready()
    } catch (err) {
      registered = false
      t.equal((err as { code?: string }).code, 'FST_LOGIN_INVALID_OPTION', 'a clear registration error')
    }
    if (!registered) return
    const res = await app.inject({ method: 'POST', url: '/auth', payload: { username: 'alice', password: PASSWORD } })
    t.equal(res.statusCode, 200, `POST /auth works (${res.body.slice(0, 120)})`)
    t.ok(setCookie(res, '__Host-access_token_cookie'), 'the token cookie is set')
    const jar = new CookieJar().store(res)
    assertUser(t, await app.inject({ url: '/api/me', headers: { cookie: jar.header() } }))
  })
})

t.test('a header of another scheme (a proxy\'s Basic login) does not hide the token cookie', async (t) => {
  const app = await cookieApp(t, { locations: ['headers', 'cookies'] })
  const auth = await app.inject({ method: 'POST', url: '/auth', payload: { username: 'alice', password: 'correct horse' } })
  const cookie = `__Host-access_token_cookie=${cookieValue(auth, '__Host-access_token_cookie')}`
  const res = await app.inject({ url: '/api/me', headers: { cookie, authorization: 'Basic c3RhZ2luZzpzdGFnaW5n' } })
  t.equal(res.statusCode, 200, 'the cookie is found after the Basic header')
  t.same(res.json(), { name: 'alice' })
  const alone = await app.inject({ url: '/api/me', headers: { authorization: 'Basic c3RhZ2luZzpzdGFnaW5n' } })
  t.equal(alone.json().code, 'FST_LOGIN_JWT_WRONG_SCHEME', 'with nothing else, the answer says the scheme is wrong')
})
