import t, { type Test } from 'tap'
import Fastify from 'fastify'
import fastifyLogin, { MemoryStore, type LoginStore } from '../lib/index.js'
import { CookieJar, TEST_KEY } from './helpers.js'

/*
 * Remember-me series as devices: a series whose session timed out is listed
 * as `remembered` and can be revoked by its id; a password change (auth
 * version) ends it; refreshEachRequest moves its expiry; a store failure
 * during a restore is a 503, never a login.
 */

const REMEMBER = '__Host-remember_token'
const MINUTE = 60_000

async function setup (t: Test, options: { refreshEachRequest?: boolean, store?: LoginStore } = {}) {
  let now = Date.parse('2026-12-02T08:00:00Z')
  const clock = (): number => now
  const alice = { id: '1', name: 'alice', password: 'v1' }
  const app = Fastify()
  await app.register(fastifyLogin, {
    session: { key: TEST_KEY },
    store: options.store ?? new MemoryStore({ clock }),
    clock,
    authVersion: (user) => (user as typeof alice).password,
    rememberMe: { refreshEachRequest: options.refreshEachRequest ?? false, duration: '7d' },
    loadUser: (id) => id === '1' ? alice : null
  })
  app.post('/login', async (_request, reply) => ({ ok: await reply.login(alice, { remember: true }) }))
  app.get('/me', async (request) => ({ auth: request.isAuthenticated() }))
  app.get('/private', { preHandler: app.loginRequired }, async () => ({ ok: true }))
  await app.ready()
  t.teardown(() => app.close())
  const login = async (): Promise<CookieJar> => new CookieJar().store(await app.inject({ method: 'POST', url: '/login' }))
  const rememberOf = (jar: CookieJar): string => `${REMEMBER}=${encodeURIComponent(jar.cookies.get(REMEMBER) as string)}`
  const visit = async (cookie: string) => await app.inject({ url: '/me', headers: { cookie } })
  return { app, alice, login, rememberOf, visit, advance: (ms: number) => { now += ms }, now: clock }
}

t.test('a device whose session timed out is listed as remembered, until its series ends', async (t) => {
  const { app, login, now, advance } = await setup(t)
  await login()
  const loginAt = now()
  advance(31 * MINUTE)
  const [device, ...rest] = await app.loginSessions.list('1')
  t.same(rest, [], 'one device')
  t.equal(device?.kind, 'remembered')
  t.equal(device?.id.length, 22, 'named by its series id')
  t.equal(device?.createdAt.getTime(), loginAt, 'since the login')
  t.equal(device?.rememberedUntil?.getTime(), loginAt + 7 * 86400_000, 'until the series expires')
  t.same(device?.expiresAt, device?.rememberedUntil)
})

t.test('revoke() with a series id ends that remembered device: its cookie no longer restores', async (t) => {
  const { app, login, rememberOf, visit, advance } = await setup(t)
  const jar = await login()
  advance(31 * MINUTE)
  const [device] = await app.loginSessions.list('1')
  t.equal(await app.loginSessions.revoke('1', device?.id as string), true, 'revoked')
  t.equal(await app.loginSessions.revoke('1', device?.id as string), false, 'a second time: nothing left')
  const res = await visit(rememberOf(jar))
  t.equal(res.json().auth, false, 'the cookie no longer restores')
  t.equal(res.cookies.find((c) => c.name === REMEMBER)?.maxAge, 0, 'and is cleared')
  t.same(await app.loginSessions.list('1'), [])
})

t.test('a live session lists its series expiry; revoking the session ends its series too', async (t) => {
  const { app, login, rememberOf, visit } = await setup(t)
  const jar = await login()
  const [session] = await app.loginSessions.list('1')
  t.equal(session?.kind, 'session')
  t.ok(session?.rememberedUntil instanceof Date, 'rememberedUntil is set')
  await app.loginSessions.revoke('1', session?.id as string)
  t.equal((await visit(rememberOf(jar))).json().auth, false, 'the remember cookie died with it')
})

t.test('a password change (authVersion) ends a remembered device whose session had timed out', async (t) => {
  const { app, alice, login, rememberOf, visit, advance } = await setup(t)
  const jar = await login()
  advance(31 * MINUTE)
  alice.password = 'v2'
  const res = await visit(rememberOf(jar))
  t.equal(res.json().auth, false, 'the old cookie does not restore')
  t.equal(res.cookies.find((c) => c.name === REMEMBER)?.maxAge, 0, 'and is cleared')
  t.same(await app.loginSessions.list('1'), [], 'the series is gone')
})

t.test('refreshEachRequest: a restore gives the series (and its cookie) a new full duration', async (t) => {
  const { login, rememberOf, visit, advance } = await setup(t, { refreshEachRequest: true })
  const jar = await login()
  advance(6 * 86400_000)
  const res = await visit(rememberOf(jar))
  t.equal(res.json().auth, true)
  t.equal(res.cookies.find((c) => c.name === REMEMBER)?.maxAge, 7 * 86400, 'seven days from the restore')
  advance(3 * 86400_000)
  t.equal((await visit(rememberOf(new CookieJar().store(res)))).json().auth, true, 'past the first expiry it still restores')
})

t.test('a store that fails during a restore gives a 503 with Retry-After and no login', async (t) => {
  const inner = new MemoryStore()
  let failing = false
  const store: LoginStore = {
    get: (key) => inner.get(key),
    set: (key, value, options) => inner.set(key, value, options),
    delete: (key) => inner.delete(key),
    compareAndSet: ((key: string, expected: never, next: never, options: never) => {
      if (failing) throw new Error('connection lost')
      return inner.compareAndSet(key, expected, next, options)
    }) as LoginStore['compareAndSet'],
    increment: (key, options) => inner.increment(key, options),
    keysOfUser: (userId) => inner.keysOfUser(userId),
    deleteUser: (userId) => inner.deleteUser(userId)
  }
  const { app, login, rememberOf, visit } = await setup(t, { store })
  const jar = await login()
  failing = true
  const res = await app.inject({ url: '/private', headers: { cookie: rememberOf(jar) } })
  t.equal(res.statusCode, 503, 'a guarded page answers 503')
  t.equal(res.headers['retry-after'], '1')
  t.equal(res.json().code, 'FST_LOGIN_STORE_UNAVAILABLE')
  t.equal(res.cookies.find((c) => c.name === REMEMBER), undefined, 'the remember cookie is left as it was')
  failing = false
  t.equal((await visit(rememberOf(jar))).json().auth, true, 'once the store is back, the same cookie restores')
  t.equal((await app.loginSessions.list('1')).filter((s) => s.remembered).length, 1, 'one restored session: the failed attempt left none')
})
