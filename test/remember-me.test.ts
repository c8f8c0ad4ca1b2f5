import t from 'tap'
import Fastify, { type FastifyInstance, type LightMyRequestResponse } from 'fastify'
import secureSession from '@fastify/secure-session'
import fastifyLogin, { MemoryStore } from '../lib/index.js'
import { loginCookie, rememberCookie } from '../lib/testing/index.js'
import { ANONYMOUS, buildApp, CookieJar, fakeClock, login, makeUsers, setCookie, TEST_KEY, type MeBody, type TestUser, testKey } from './helpers.js'

const MONTH = 30 * 86400
const OTHER_KEY = testKey('k9')

async function me (app: FastifyInstance, cookie: string): Promise<{ res: LightMyRequestResponse, body: MeBody }> {
  const res = await app.inject({ url: '/me', headers: { cookie } })
  return { res, body: res.json<MeBody>() }
}

/** The `name=value` Cookie header for the cookie of that name set by `res`. */
function cookieFrom (res: LightMyRequestResponse, name: string): string {
  const cookie = setCookie(res, name)
  if (cookie === undefined || cookie.value === '') throw new Error(`no ${name} cookie was set`)
  return `${name}=${encodeURIComponent(cookie.value)}`
}

/** The raw Set-Cookie line of `name`, to check attributes as the browser sees them. */
function rawSetCookie (res: LightMyRequestResponse, name: string): string | undefined {
  const header = res.headers['set-cookie']
  const lines = header === undefined ? [] : Array.isArray(header) ? header : [header]
  return lines.find((line) => line.startsWith(`${name}=`))
}

function assertCleared (t: tap.Test, res: LightMyRequestResponse, name = '__Host-remember_token'): void {
  const cookie = setCookie(res, name)
  t.ok(cookie, `${name} is cleared`)
  t.equal(cookie?.value, '')
  t.equal(cookie?.maxAge, 0)
  t.equal(cookie?.expires?.getTime(), 0, 'Expires is the epoch')
}

t.test('login with remember sets a 30-day, HttpOnly, Secure, SameSite=Lax remember_token', async (t) => {
  const { app } = await buildApp()
  t.teardown(() => app.close())

  const before = Date.now()
  const res = await login(app, '1', { remember: true })
  const cookie = setCookie(res, '__Host-remember_token')
  t.ok(cookie, 'remember_token is set')
  t.match(cookie?.value, /^[A-Za-z0-9_-]{40,}$/, 'an opaque base64url token')
  t.notMatch(cookie?.value, /alice/, 'the token does not show the user')
  t.equal(cookie?.httpOnly, true)
  t.equal(cookie?.secure, true)
  t.equal(cookie?.sameSite, 'Lax')
  t.equal(cookie?.path, '/')
  t.equal(cookie?.domain, undefined)
  t.equal(cookie?.maxAge, MONTH)
  const expires = cookie?.expires?.getTime() ?? 0
  t.ok(Math.abs(expires - (before + MONTH * 1000)) < 5000, 'Expires is 30 days ahead (ASVS 3.3.2)')
  t.match(rawSetCookie(res, '__Host-remember_token'), /; HttpOnly/)
  t.match(rawSetCookie(res, '__Host-remember_token'), /; Secure/)
  t.match(rawSetCookie(res, '__Host-remember_token'), /; SameSite=Lax/)

  const plain = await login(app, '1')
  t.equal(setCookie(plain, '__Host-remember_token'), undefined, 'no remember cookie without remember: true')
})

t.test('the remember cookie alone restores a login that is not fresh', async (t) => {
  const { app } = await buildApp()
  t.teardown(() => app.close())
  const remember = cookieFrom(await login(app, '1', { remember: true }), '__Host-remember_token')

  const anonymous = await me(app, '')
  t.equal(anonymous.body.authenticated, false, 'control: no cookie, no user')

  const restored = await me(app, remember)
  t.equal(restored.res.statusCode, 200)
  t.same(restored.body, { user: { id: '1', name: 'alice' }, authenticated: true, fresh: false, remembered: true })
  const rotated = setCookie(restored.res, '__Host-remember_token')
  t.not(rotated?.value, decodeURIComponent(remember.split('=')[1] as string), 'the restore replaced the remember cookie (a new secret)')
  t.ok(Math.abs((rotated?.maxAge ?? 0) - MONTH) <= 2, 'which keeps the expiry of the login, not a new 30 days')

  const session = cookieFrom(restored.res, '__Host-session')
  const next = await me(app, session)
  t.same(next.body, { user: { id: '1', name: 'alice' }, authenticated: true, fresh: false, remembered: false },
    'the new session cookie alone holds the login')
  const priv = await app.inject({ url: '/private', headers: { cookie: session } })
  t.equal(priv.statusCode, 200)
  const fresh = await app.inject({ url: '/fresh', headers: { cookie: session } })
  t.equal(fresh.statusCode, 401, 'a restored login is not fresh')
})

t.test('a restored login fires userLoadedFromCookie once', async (t) => {
  const { app, users } = await buildApp()
  t.teardown(() => app.close())
  const loaded: unknown[] = []
  app.loginEvents.on('userLoadedFromCookie', ({ user }) => loaded.push(user))

  const { res } = await me(app, await rememberCookie(app, users.get('2') as TestUser))
  t.same(loaded, [{ id: '2', name: 'bob' }])
  await me(app, cookieFrom(res, '__Host-session'))
  t.equal(loaded.length, 1, 'the session carries the login afterwards')
})

t.test('custom cookieName, path and domain', async (t) => {
  const { app } = await buildApp({ rememberMe: { cookieName: 'keep_me', path: '/app', domain: 'example.com' } })
  t.teardown(() => app.close())

  const res = await login(app, '1', { remember: true })
  t.equal(setCookie(res, '__Host-remember_token'), undefined, 'the default name is not used')
  const cookie = setCookie(res, 'keep_me')
  t.equal(cookie?.path, '/app')
  t.equal(cookie?.domain, 'example.com')
  t.equal(cookie?.maxAge, MONTH)

  const value = cookie?.value ?? ''
  const restored = await me(app, `keep_me=${value}`)
  t.equal(restored.body.authenticated, true, 'the custom name restores the login')
  const wrongName = await me(app, `__Host-remember_token=${value}`)
  t.equal(wrongName.body.authenticated, false, 'the default name is not read')
  t.equal(setCookie(wrongName.res, '__Host-remember_token'), undefined, 'and not touched')

  const logout = await app.inject({ method: 'POST', url: '/logout', headers: { cookie: `keep_me=${value}` } })
  const cleared = setCookie(logout, 'keep_me')
  t.equal(cleared?.maxAge, 0, 'logout clears the custom cookie')
  t.equal(cleared?.path, '/app', 'with the same path, or the browser would keep it')
  t.equal(cleared?.domain, 'example.com', 'with the same domain')
})

t.test('rememberMe.duration in seconds sets Max-Age and the server-side expiry', async (t) => {
  const { app } = await buildApp({ rememberMe: { duration: 3600 } })
  t.teardown(() => app.close())

  const before = Date.now()
  const res = await login(app, '1', { remember: true })
  const cookie = setCookie(res, '__Host-remember_token')
  t.equal(cookie?.maxAge, 3600)
  t.ok(Math.abs((cookie?.expires?.getTime() ?? 0) - (before + 3600_000)) < 5000, 'Expires is an hour ahead')

  const remember = cookieFrom(res, '__Host-remember_token')
  const soon = await fakeClock(t).during(3590_000, () => me(app, remember))
  t.equal(soon.body.authenticated, true, 'valid just before its expiry')
  const past = await fakeClock(t).during(3601_000, () => me(app, remember))
  t.equal(past.body.authenticated, false, 'refused after its expiry, whatever the browser keeps')
  assertCleared(t, past.res)
})

t.test("rememberMe.duration as a string ('2d')", async (t) => {
  const { app } = await buildApp({ rememberMe: { duration: '2d' } })
  t.teardown(() => app.close())

  const before = Date.now()
  const cookie = setCookie(await login(app, '1', { remember: true }), '__Host-remember_token')
  t.equal(cookie?.maxAge, 2 * 86400)
  t.ok(Math.abs((cookie?.expires?.getTime() ?? 0) - (before + 2 * 86400_000)) < 5000)
})

t.test('a per-login duration overrides rememberMe.duration', async (t) => {
  const { app } = await buildApp({ rememberMe: { duration: '2d' } })
  t.teardown(() => app.close())

  const seconds = await login(app, '1', { remember: true, duration: 60 })
  t.equal(setCookie(seconds, '__Host-remember_token')?.maxAge, 60)
  const text = await login(app, '1', { remember: true, duration: '15m' })
  t.equal(setCookie(text, '__Host-remember_token')?.maxAge, 900)

  const remember = cookieFrom(seconds, '__Host-remember_token')
  const past = await fakeClock(t).during(61_000, () => me(app, remember))
  t.equal(past.body.authenticated, false, 'the token itself expires after the per-login duration')
})

t.test('secure: false drops the Secure attribute', async (t) => {
  const { app } = await buildApp({ rememberMe: { secure: false } })
  t.teardown(() => app.close())

  const res = await login(app, '1', { remember: true })
  t.equal(setCookie(res, 'remember_token')?.secure, undefined)
  t.notMatch(rawSetCookie(res, 'remember_token'), /Secure/)
  t.match(rawSetCookie(res, 'remember_token'), /; HttpOnly/, 'still HttpOnly')
})

t.test("sameSite: 'strict'", async (t) => {
  const { app } = await buildApp({ rememberMe: { sameSite: 'strict' } })
  t.teardown(() => app.close())

  const res = await login(app, '1', { remember: true })
  t.equal(setCookie(res, '__Host-remember_token')?.sameSite, 'Strict')
  t.match(rawSetCookie(res, '__Host-remember_token'), /; SameSite=Strict/)
})

t.test('refreshEachRequest: false (default) does not re-send the cookie', async (t) => {
  const { app } = await buildApp({ rememberMe: { refreshEachRequest: false } })
  t.teardown(() => app.close())
  const jar = new CookieJar().store(await login(app, '1', { remember: true }))
  t.ok(jar.cookies.has('__Host-remember_token'))

  for (let i = 0; i < 2; i++) {
    const { res, body } = await me(app, jar.header())
    t.equal(body.authenticated, true)
    t.equal(setCookie(res, '__Host-remember_token'), undefined, `request ${i + 1}: no new remember cookie`)
  }
})

t.test('refreshEachRequest: true re-sends the cookie with a new expiry', async (t) => {
  const { app } = await buildApp({ rememberMe: { refreshEachRequest: true, duration: 100 } })
  t.teardown(() => app.close())
  const first = await login(app, '1', { remember: true })
  const original = cookieFrom(first, '__Host-remember_token')
  const jar = new CookieJar().store(first)
  const start = Date.now()

  const refreshed = await fakeClock(t).during(60_000, async () => {
    const { res, body } = await me(app, jar.header())
    t.equal(body.authenticated, true)
    const cookie = setCookie(res, '__Host-remember_token')
    t.equal(cookie?.maxAge, 100, 'the same lifetime')
    t.ok(Math.abs((cookie?.expires?.getTime() ?? 0) - (start + 160_000)) < 5000, 'counted from this request')
    return cookieFrom(res, '__Host-remember_token')
  })
  t.not(refreshed, original, 'a new token')

  const afterOriginalExpiry = await fakeClock(t).during(130_000, async () => ({
    original: await me(app, original),
    refreshed: await me(app, refreshed)
  }))
  t.equal(afterOriginalExpiry.original.body.authenticated, false, 'control: the first token has expired')
  t.equal(afterOriginalExpiry.refreshed.body.authenticated, true, 'the refreshed token is valid past the first expiry')
  t.equal(setCookie(afterOriginalExpiry.refreshed.res, '__Host-remember_token')?.maxAge, 100, 'a restore is refreshed too')
})

t.test('refreshEachRequest: true does not create a remember cookie for a login without remember (Flask-Login #424)', async (t) => {
  const { app } = await buildApp({ rememberMe: { refreshEachRequest: true } })
  t.teardown(() => app.close())
  const res = await login(app, '1')
  t.equal(setCookie(res, '__Host-remember_token'), undefined)
  const jar = new CookieJar().store(res)

  for (let i = 0; i < 2; i++) {
    const next = await me(app, jar.header())
    t.equal(next.body.authenticated, true)
    t.equal(setCookie(next.res, '__Host-remember_token'), undefined, `request ${i + 1}: still no remember cookie`)
  }
})

t.test('logout clears the remember cookie', async (t) => {
  const { app } = await buildApp()
  t.teardown(() => app.close())
  const first = await login(app, '1', { remember: true })
  const stolen = cookieFrom(first, '__Host-remember_token')
  const jar = new CookieJar().store(first)

  const logout = await app.inject({ method: 'POST', url: '/logout', headers: { cookie: jar.header() } })
  t.equal(logout.statusCode, 200)
  assertCleared(t, logout)
  const raw = rawSetCookie(logout, '__Host-remember_token') ?? ''
  t.match(raw, /Max-Age=0/)
  t.match(raw, /Expires=Thu, 01 Jan 1970/)
  t.match(raw, /Path=\//)
  jar.store(logout)
  t.notOk(jar.cookies.has('__Host-remember_token'), 'the browser drops it')

  for (let i = 0; i < 2; i++) {
    const after = await me(app, jar.header())
    t.equal(after.body.authenticated, false, `request ${i + 1} after logout: logged out`)
  }

  // The logout ended the session and its remember-me device in the store:
  // a copy taken before it (another device, a thief) no longer restores.
  const copy = await me(app, stolen)
  t.equal(copy.body.authenticated, false, 'a copied remember cookie no longer restores the login')
  assertCleared(t, copy.res)
})

t.test('with store: false a copied remember cookie still restores after logout (the documented limit)', async (t) => {
  const { app } = await buildApp({ store: false })
  t.teardown(() => app.close())
  const jar = new CookieJar().store(await login(app, '1', { remember: true }))
  const stolen = jar.header()
  jar.store(await app.inject({ method: 'POST', url: '/logout', headers: { cookie: jar.header() } }))
  t.equal((await me(app, jar.header())).body.authenticated, false)
  t.equal((await me(app, stolen)).body.authenticated, true, 'nothing on the server can end it')
})

t.test('an expired remember token gives an anonymous request and is cleared', async (t) => {
  const { app, users } = await buildApp()
  t.teardown(() => app.close())
  const remember = await rememberCookie(app, users.get('1') as TestUser, { duration: 1 })

  const now = await me(app, remember)
  t.equal(now.body.authenticated, true, 'control: valid right away')

  const expired = await fakeClock(t).during(2000, () => me(app, remember))
  t.equal(expired.res.statusCode, 200)
  t.same(expired.body, ANONYMOUS)
  assertCleared(t, expired.res)
  t.equal(setCookie(expired.res, '__Host-session'), undefined, 'no session is created for it')
})

t.test('a remember token of a user that no longer exists gives anonymous and is cleared', async (t) => {
  const { app, users } = await buildApp()
  t.teardown(() => app.close())
  const remember = await rememberCookie(app, users.get('1') as TestUser)
  users.delete('1')

  const { res, body } = await me(app, remember)
  t.same(body, ANONYMOUS, 'anonymous, and not reported as remembered')
  assertCleared(t, res)
  const priv = await app.inject({ url: '/private', headers: { cookie: remember } })
  t.equal(priv.statusCode, 401)
})

t.test("an inactive user's remember token gives anonymous", async (t) => {
  const { app, users } = await buildApp()
  t.teardown(() => app.close())
  const remember = await rememberCookie(app, users.get('3') as TestUser)

  const { res, body } = await me(app, remember)
  t.same(body, ANONYMOUS, 'anonymous, and not reported as remembered')
  assertCleared(t, res)
  t.equal(setCookie(res, '__Host-session'), undefined, 'no session login is stored')
})

t.test('a remember token sealed with another key gives anonymous and is cleared', async (t) => {
  const { app, users } = await buildApp()
  t.teardown(() => app.close())
  const other = await buildApp({ session: { key: OTHER_KEY } })
  t.teardown(() => other.app.close())
  const foreign = await rememberCookie(other.app, users.get('1') as TestUser)

  t.equal((await me(other.app, foreign)).body.authenticated, true, 'control: valid where it was made')
  const { res, body } = await me(app, foreign)
  t.same(body, ANONYMOUS)
  assertCleared(t, res)
})

t.test('key rotation: session.key [new, old] accepts old cookies and reissues them with the new key', async (t) => {
  const oldKey = testKey('k1')
  const newKey = testKey('k2')
  // One deployment before and after the key change: the session records are in the same store.
  const store = new MemoryStore()
  const a = await buildApp({ session: { key: oldKey }, store })
  t.teardown(() => a.app.close())
  const b = await buildApp({ session: { key: [newKey, oldKey] }, store })
  t.teardown(() => b.app.close())
  const alice = a.users.get('1') as TestUser

  t.test('a remember token made with the old key', async (t) => {
    const restored = await me(b.app, await rememberCookie(a.app, alice))
    t.equal(restored.body.authenticated, true, 'restores the login')
    const session = cookieFrom(restored.res, '__Host-session')
    t.equal((await me(b.app, session)).body.authenticated, true, 'the new session cookie works on the new app')
    t.equal((await me(a.app, session)).body.authenticated, false, 'and is sealed with the new key')
  })

  t.test('a session cookie made with the old key', async (t) => {
    const old = await loginCookie(a.app, alice)
    t.equal((await me(a.app, old)).body.authenticated, true, 'control: valid on the old app')
    const { res, body } = await me(b.app, old)
    t.equal(body.authenticated, true, 'accepted by the new app')
    const reissued = cookieFrom(res, '__Host-session')
    t.equal((await me(b.app, reissued)).body.authenticated, true)
    t.equal((await me(a.app, reissued)).body.authenticated, false, 'reissued with the new key')
  })

  t.test('a remember token made after the rotation', async (t) => {
    const remember = cookieFrom(await login(b.app, '1', { remember: true }), '__Host-remember_token')
    t.equal((await me(b.app, remember)).body.authenticated, true)
    const onOld = await me(a.app, remember)
    t.equal(onOld.body.authenticated, false, 'is sealed with the new key')
    assertCleared(t, onOld.res)
  })
})

t.test('rememberMe.key works with an app-registered @fastify/secure-session', async (t) => {
  async function appWith (rememberKey: string): Promise<FastifyInstance> {
    const users = makeUsers()
    const app = Fastify()
    await app.register(secureSession, { key: TEST_KEY, cookie: { path: '/', httpOnly: true } })
    await app.register(fastifyLogin, {
      loadUser: (id) => users.get(id) ?? null,
      rememberMe: { key: rememberKey }
    })
    app.post<{ Params: { id: string } }>('/login/:id', async (request, reply) => {
      return { ok: await reply.login(users.get(request.params.id) as TestUser, { remember: true }) }
    })
    app.get('/me', async (request) => ({
      user: request.currentUser,
      authenticated: request.isAuthenticated(),
      fresh: request.loginFresh(),
      remembered: request.loginRemembered()
    }))
    await app.ready()
    return app
  }
  const app = await appWith('a remember-me secret of 32+ bytes, for tests')
  t.teardown(() => app.close())
  const other = await appWith('another remember-me secret, 32+ bytes long!')
  t.teardown(() => other.close())

  const res = await login(app, '2', { remember: true })
  t.equal(setCookie(res, '__Host-remember_token')?.maxAge, MONTH)
  const remember = cookieFrom(res, '__Host-remember_token')
  const restored = await me(app, remember)
  t.same(restored.body, { user: { id: '2', name: 'bob' }, authenticated: true, fresh: false, remembered: true })
  t.equal((await me(app, cookieFrom(restored.res, 'session'))).body.authenticated, true, 'the restored session holds')

  const withOtherKey = await me(other, remember)
  t.equal(withOtherKey.body.authenticated, false, 'a different rememberMe.key refuses the token, though the session key is the same')
  assertCleared(t, withOtherKey.res)

  const bare = Fastify()
  t.teardown(() => bare.close())
  await bare.register(secureSession, { key: TEST_KEY })
  await t.rejects(async () => { await bare.register(fastifyLogin, { loadUser: () => null }) }, { code: 'FST_LOGIN_INVALID_OPTION' },
    'without rememberMe.key (or rememberMe: false) registration fails')
})
