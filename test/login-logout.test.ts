import t from 'tap'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { ANONYMOUS, buildApp, CookieJar, loggedIn, makeUsers, me, send, setCookie } from './helpers.js'

/** The part of the secure session the test routes use (its typings only accept declared keys). */
interface PlainSession {
  get: (key: string) => unknown
  set: (key: string, value: unknown) => void
}

function sessionOf (request: FastifyRequest): PlainSession {
  return request.session as unknown as PlainSession
}

/**
 * Test routes that reach the session directly:
 *  - POST /session/:key  { value } stores a value
 *  - GET  /session/:key  { value } reads it back (null when missing)
 *  - POST /logout-show   logs out and answers what the request looks like right after
 *  - POST /logout-all    logout({ destroySession: true })
 *  - POST /login-here/:id logs in and answers what the request looks like right after
 */
function sessionRoutes (app: FastifyInstance): void {
  const users = makeUsers()
  app.post<{ Params: { key: string }, Body: { value: unknown } }>('/session/:key', async (request) => {
    sessionOf(request).set(request.params.key, request.body.value)
    return { ok: true }
  })
  app.get<{ Params: { key: string } }>('/session/:key', async (request) => {
    return { value: sessionOf(request).get(request.params.key) ?? null }
  })
  app.post('/logout-show', async (request, reply) => {
    await reply.logout()
    return { user: request.currentUser, authenticated: request.isAuthenticated(), fresh: request.loginFresh(), remembered: request.loginRemembered() }
  })
  app.post('/logout-all', async (_request, reply) => {
    await reply.logout({ destroySession: true })
    return { ok: true }
  })
  app.post<{ Params: { id: string }, Body: { force?: boolean } | undefined }>('/login-here/:id', async (request, reply) => {
    const user = users.get(request.params.id)
    if (user === undefined) return reply.code(404).send({ ok: false })
    const ok = await reply.login(user, request.body ?? {})
    return { ok, user: request.currentUser, authenticated: request.isAuthenticated() }
  })
}

t.test('a login persists across requests', async (t) => {
  const { app } = await buildApp()
  t.teardown(() => app.close())
  const jar = new CookieJar()

  const res = await send(app, jar, 'POST', '/login/1')
  t.equal(res.statusCode, 200)
  t.same(res.json(), { ok: true })
  const session = setCookie(res, '__Host-session')
  t.ok(session, 'the session cookie is set')
  t.equal(session?.httpOnly, true)
  t.equal(setCookie(res, '__Host-remember_token'), undefined, 'no remember cookie without remember: true')

  for (let i = 0; i < 3; i++) {
    t.same(await me(app, jar), { user: { id: '1', name: 'alice' }, authenticated: true, fresh: true, remembered: false }, `request ${i + 1} after the login`)
  }
  const priv = await send(app, jar, 'GET', '/private')
  t.equal(priv.statusCode, 200)
  t.same(priv.json(), { name: 'alice' })

  const stranger = await app.inject({ url: '/private' })
  t.equal(stranger.statusCode, 401, 'a request without the cookie is still anonymous')
})

t.test('a logout persists and clears the remember cookie', async (t) => {
  const { app } = await buildApp()
  t.teardown(() => app.close())
  const jar = new CookieJar()

  const login = await send(app, jar, 'POST', '/login/1', { remember: true })
  t.ok(setCookie(login, '__Host-remember_token'), 'remember cookie set by the login')
  t.ok(jar.cookies.has('__Host-remember_token'))

  const res = await send(app, jar, 'POST', '/logout')
  t.equal(res.statusCode, 200)
  const cleared = setCookie(res, '__Host-remember_token')
  t.ok(cleared, 'the logout answers with a remember_token cookie')
  t.equal(cleared?.value, '')
  t.equal(cleared?.maxAge, 0, 'Max-Age=0')
  t.equal(cleared?.path, '/')
  t.notOk(jar.cookies.has('__Host-remember_token'), 'the browser drops it')

  for (let i = 0; i < 2; i++) {
    t.same(await me(app, jar), ANONYMOUS, `request ${i + 1} after the logout is anonymous`)
    t.equal((await send(app, jar, 'GET', '/private')).statusCode, 401)
  }
})

t.test('right after reply.logout() the request is anonymous and not remembered', async (t) => {
  const { app } = await buildApp({}, sessionRoutes)
  t.teardown(() => app.close())
  const jar = new CookieJar()
  await send(app, jar, 'POST', '/login/1', { remember: true })

  const res = await send(app, jar, 'POST', '/logout-show')
  t.same(res.json(), ANONYMOUS)
  t.equal(setCookie(res, '__Host-remember_token')?.maxAge, 0)
})

t.test('an inactive user is not logged in and nothing is stored', async (t) => {
  const { app } = await buildApp()
  t.teardown(() => app.close())

  for (const body of [{}, { remember: true }]) {
    const jar = new CookieJar()
    const res = await send(app, jar, 'POST', '/login/3', body)
    t.equal(res.statusCode, 200)
    t.same(res.json(), { ok: false }, `login returns false (${JSON.stringify(body)})`)
    t.equal(setCookie(res, '__Host-session'), undefined, 'no session cookie')
    t.equal(setCookie(res, '__Host-remember_token'), undefined, 'no remember cookie')
    t.same(await me(app, jar), ANONYMOUS)
  }
})

t.test('an inactive user login returns false even over an existing login, which stays', async (t) => {
  const { app } = await buildApp()
  t.teardown(() => app.close())
  const jar = new CookieJar()
  await send(app, jar, 'POST', '/login/1')

  const res = await send(app, jar, 'POST', '/login/3')
  t.same(res.json(), { ok: false })
  t.equal(setCookie(res, '__Host-session'), undefined, 'the session is not rewritten')
  t.match(await me(app, jar), { user: { name: 'alice' }, authenticated: true })
})

t.test('force: true logs an inactive user in', async (t) => {
  const { app } = await buildApp({}, sessionRoutes)
  t.teardown(() => app.close())
  const jar = new CookieJar()

  const refused = await send(app, jar, 'POST', '/login-here/3')
  t.same(refused.json(), { ok: false, user: null, authenticated: false }, 'without force: refused')

  const res = await send(app, jar, 'POST', '/login-here/3', { force: true })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { ok: true, user: { id: '3', name: 'carol', isActive: false }, authenticated: true },
    'the login request sees the forced user as logged in')
  t.ok(setCookie(res, '__Host-session'), 'the login is written to the session')

  // Inactive users are otherwise never loaded; a forced login is marked in the
  // session so that it lasts, as in Flask-Login.
  const next = await me(app, jar)
  t.same(next.user, { id: '3', name: 'carol', isActive: false }, 'the next request still has the forced user')
  t.equal(next.authenticated, true)
  t.equal((await send(app, jar, 'GET', '/private')).statusCode, 200, 'guards let the forced login through')

  await send(app, jar, 'POST', '/logout')
  t.same(await me(app, jar), ANONYMOUS, 'after logout the mark is gone with the login')
  const again = await send(app, jar, 'POST', '/login-here/3')
  t.same(again.json(), { ok: false, user: null, authenticated: false }, 'a later login without force is refused again')
})

t.test('fresh: false logs in without freshness', async (t) => {
  const { app } = await buildApp()
  t.teardown(() => app.close())
  const jar = new CookieJar()

  const res = await send(app, jar, 'POST', '/login/2', { fresh: false })
  t.same(res.json(), { ok: true })
  t.same(await me(app, jar), { user: { id: '2', name: 'bob' }, authenticated: true, fresh: false, remembered: false })
  t.equal((await send(app, jar, 'GET', '/private')).statusCode, 200)
  const fresh = await send(app, jar, 'GET', '/fresh')
  t.equal(fresh.statusCode, 401)
  t.equal(fresh.json().code, 'FST_LOGIN_FRESH_REQUIRED')
})

t.test('login rotates the session', async (t) => {
  t.test('values planted before the login are gone after it', async (t) => {
    const { app } = await buildApp({}, sessionRoutes)
    t.teardown(() => app.close())
    const jar = new CookieJar()

    await send(app, jar, 'POST', '/session/planted', { value: 'attacker' })
    await send(app, jar, 'POST', '/session/cart', { value: ['book'] })
    t.same((await send(app, jar, 'GET', '/session/planted')).json(), { value: 'attacker' }, 'the value is in the session before')
    const before = jar.cookies.get('__Host-session')

    const login = await send(app, jar, 'POST', '/login/1')
    t.ok(setCookie(login, '__Host-session'), 'the login writes a new session cookie')
    t.not(jar.cookies.get('__Host-session'), before, 'the session cookie changed')

    t.same((await send(app, jar, 'GET', '/session/planted')).json(), { value: null }, 'planted value gone')
    t.same((await send(app, jar, 'GET', '/session/cart')).json(), { value: null }, 'cart gone too without keepSessionKeys')
    t.match(await me(app, jar), { user: { name: 'alice' }, authenticated: true })
  })

  t.test("keepSessionKeys: ['cart'] keeps the cart only", async (t) => {
    const { app } = await buildApp({ keepSessionKeys: ['cart'] }, sessionRoutes)
    t.teardown(() => app.close())
    const jar = new CookieJar()

    await send(app, jar, 'POST', '/session/planted', { value: 'attacker' })
    await send(app, jar, 'POST', '/session/cart', { value: ['book', 'pen'] })
    await send(app, jar, 'POST', '/login/1')

    t.same((await send(app, jar, 'GET', '/session/cart')).json(), { value: ['book', 'pen'] }, 'cart kept')
    t.same((await send(app, jar, 'GET', '/session/planted')).json(), { value: null }, 'other values dropped')
    t.match(await me(app, jar), { user: { name: 'alice' }, authenticated: true, fresh: true })
  })

  t.test("a previous user's login does not survive a login as another user", async (t) => {
    const { app } = await buildApp({}, sessionRoutes)
    t.teardown(() => app.close())
    const jar = new CookieJar()

    await send(app, jar, 'POST', '/login/1')
    await send(app, jar, 'POST', '/session/draft', { value: 'alice private note' })
    await send(app, jar, 'POST', '/login/2', { fresh: false })

    t.same(await me(app, jar), { user: { id: '2', name: 'bob' }, authenticated: true, fresh: false, remembered: false })
    t.same((await send(app, jar, 'GET', '/session/draft')).json(), { value: null })
  })
})

t.test('logout keeps the other session keys', async (t) => {
  const { app } = await buildApp({}, sessionRoutes)
  t.teardown(() => app.close())
  const jar = new CookieJar()

  await send(app, jar, 'POST', '/login/1')
  await send(app, jar, 'POST', '/session/locale', { value: 'ja' })
  const res = await send(app, jar, 'POST', '/logout')
  t.equal(res.statusCode, 200)
  const session = setCookie(res, '__Host-session')
  t.ok(session, 'the session cookie is rewritten')
  t.not(session?.value, '', 'not deleted')

  t.same(await me(app, jar), ANONYMOUS)
  t.same((await send(app, jar, 'GET', '/session/locale')).json(), { value: 'ja' }, 'locale survives the logout')
  t.same((await send(app, jar, 'GET', '/session/_user_id')).json(), { value: null }, 'the user id is gone')
})

t.test('logout({ destroySession: true }) deletes the whole session cookie', async (t) => {
  const { app } = await buildApp({}, sessionRoutes)
  t.teardown(() => app.close())
  const jar = new CookieJar()

  await send(app, jar, 'POST', '/login/1', { remember: true })
  await send(app, jar, 'POST', '/session/locale', { value: 'ja' })
  t.ok(jar.cookies.has('__Host-session'), 'a session before the logout')

  const res = await send(app, jar, 'POST', '/logout-all')
  t.equal(res.statusCode, 200)
  const session = setCookie(res, '__Host-session')
  t.ok(session, 'the session cookie is answered')
  t.equal(session?.value, '', 'emptied')
  t.equal(session?.maxAge, 0, 'Max-Age=0')
  t.equal(setCookie(res, '__Host-remember_token')?.maxAge, 0, 'the remember cookie is cleared too')
  t.notOk(jar.cookies.has('__Host-session'))
  t.notOk(jar.cookies.has('__Host-remember_token'))

  t.same(await me(app, jar), ANONYMOUS)
  t.same((await send(app, jar, 'GET', '/session/locale')).json(), { value: null }, 'other keys are gone with it')
})

t.test('logout without a logged-in user works', async (t) => {
  const { app } = await buildApp()
  t.teardown(() => app.close())

  const res = await app.inject({ method: 'POST', url: '/logout' })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { ok: true })
  t.equal(setCookie(res, '__Host-remember_token'), undefined, 'no remember cookie to clear')

  const twice = new CookieJar()
  await send(app, twice, 'POST', '/login/1')
  await send(app, twice, 'POST', '/logout')
  const again = await send(app, twice, 'POST', '/logout')
  t.equal(again.statusCode, 200, 'a second logout is fine too')
  t.same(await me(app, twice), ANONYMOUS)
})

t.test('login without remember clears a remember cookie the request carried', async (t) => {
  const { app } = await buildApp()
  t.teardown(() => app.close())
  const jar = new CookieJar()

  await send(app, jar, 'POST', '/login/1', { remember: true })
  t.ok(jar.cookies.has('__Host-remember_token'), "alice's remember cookie")

  const res = await send(app, jar, 'POST', '/login/2')
  t.same(res.json(), { ok: true })
  const cleared = setCookie(res, '__Host-remember_token')
  t.equal(cleared?.maxAge, 0, "alice's remember cookie is cleared with Max-Age=0")
  t.notOk(jar.cookies.has('__Host-remember_token'))
  t.match(await me(app, jar), { user: { name: 'bob' }, remembered: false })

  // Without the session, nothing brings alice (or bob) back.
  jar.cookies.delete('__Host-session')
  t.same(await me(app, jar), ANONYMOUS)
})

t.test('login with remember replaces the remember cookie with the new user', async (t) => {
  const { app } = await buildApp()
  t.teardown(() => app.close())
  const jar = new CookieJar()

  await send(app, jar, 'POST', '/login/1', { remember: true })
  const res = await send(app, jar, 'POST', '/login/2', { remember: true })
  const cookie = setCookie(res, '__Host-remember_token')
  t.ok(cookie?.value, 'a new remember cookie')
  t.ok((cookie?.maxAge ?? 0) > 0)

  jar.cookies.delete('__Host-session')
  t.match(await me(app, jar), { user: { name: 'bob' }, authenticated: true, fresh: false, remembered: true }, 'restores bob')
})

t.test('a user whose id rule gives an empty id is refused with FST_LOGIN_INVALID_USER', async (t) => {
  const { app } = await buildApp({ getUserId: () => '' })
  t.teardown(() => app.close())
  const jar = new CookieJar()

  const res = await send(app, jar, 'POST', '/login/1', { remember: true })
  t.equal(res.statusCode, 500)
  t.equal(res.json().code, 'FST_LOGIN_INVALID_USER')
  t.equal(setCookie(res, '__Host-session'), undefined, 'no session written')
  t.equal(setCookie(res, '__Host-remember_token'), undefined, 'no remember cookie written')
  t.same(await me(app, jar), ANONYMOUS)
})

t.test('reply.login() with something that is not a user object is a 500 FST_LOGIN_INVALID_USER, not a login', async (t) => {
  const { app } = await buildApp({}, (app) => {
    // An app bug: the value handed to reply.login() is not the user record.
    app.post<{ Body: { user?: unknown } }>('/login-value', async (request, reply) => ({ ok: await reply.login(request.body.user as never, { remember: true }) }))
  })
  t.teardown(() => app.close())

  const values: Array<[string, Record<string, unknown>]> = [
    ['null', { user: null }],
    ['nothing', {}],
    ['a string', { user: 'alice' }],
    ['a number', { user: 1 }],
    ['a boolean', { user: true }]
  ]
  for (const [name, body] of values) {
    const jar = await loggedIn(app, '2')
    const res = await send(app, jar, 'POST', '/login-value', body)
    t.equal(res.statusCode, 500, `${name}: 500`)
    t.same(res.json(), {
      statusCode: 500,
      code: 'FST_LOGIN_INVALID_USER',
      error: 'Internal Server Error',
      message: 'fastify-login: login needs a user object'
    }, `${name}: Fastify's error format, with a message that names the mistake`)
    t.equal(setCookie(res, '__Host-session'), undefined, `${name}: no session written`)
    t.equal(setCookie(res, '__Host-remember_token'), undefined, `${name}: no remember cookie written`)
    t.match(await me(app, jar), { user: { name: 'bob' }, authenticated: true, fresh: true }, `${name}: the login the request had is untouched`)
  }
})

t.test('reply.login({ remember: true }) with rememberMe: false is an error', async (t) => {
  const { app } = await buildApp({ rememberMe: false })
  t.teardown(() => app.close())
  const jar = new CookieJar()

  const res = await send(app, jar, 'POST', '/login/1', { remember: true })
  t.equal(res.statusCode, 500)
  t.equal(res.json().code, 'FST_LOGIN_INVALID_USER')
  t.match(res.json().message, /rememberMe/)
  t.equal(setCookie(res, '__Host-session'), undefined, 'no login stored')
  t.same(await me(app, jar), ANONYMOUS)

  const plain = await send(app, jar, 'POST', '/login/1')
  t.same(plain.json(), { ok: true }, 'a login without remember still works')
  t.equal(setCookie(plain, '__Host-remember_token'), undefined)
})

t.test('a login with a duration that is not one is an error, not a login', async (t) => {
  const { app } = await buildApp()
  t.teardown(() => app.close())

  for (const duration of ['soon', -5, 1.5, 0, '', '10 years', '-1d']) {
    const jar = new CookieJar()
    const res = await send(app, jar, 'POST', '/login/1', { remember: true, duration })
    t.ok(res.statusCode >= 400, `${JSON.stringify(duration)}: an error status (${res.statusCode})`)
    t.equal(res.json().code, 'FST_LOGIN_INVALID_OPTION', `${JSON.stringify(duration)}: FST_LOGIN_INVALID_OPTION`)
    t.equal(setCookie(res, '__Host-session'), undefined, 'no session written')
    t.equal(setCookie(res, '__Host-remember_token'), undefined, 'no remember cookie written')
    t.same(await me(app, jar), ANONYMOUS)
  }

  const jar = new CookieJar()
  const ok = await send(app, jar, 'POST', '/login/1', { remember: true, duration: '2h' })
  t.same(ok.json(), { ok: true }, 'a real duration works')
  t.equal(setCookie(ok, '__Host-remember_token')?.maxAge, 7200)
})
