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

async function setup (t: Test, options: { refreshEachRequest?: boolean, store?: LoginStore | false, idleTimeout?: string, duration?: string } = {}) {
  let now = Date.parse('2026-12-02T08:00:00Z')
  const clock = (): number => now
  const alice = { id: '1', name: 'alice', password: 'v1' }
  const app = Fastify()
  await app.register(fastifyLogin, {
    session: { key: TEST_KEY },
    store: options.store ?? new MemoryStore({ clock }),
    clock,
    ...(options.idleTimeout === undefined ? {} : { idleTimeout: options.idleTimeout, touchInterval: 1 }),
    authVersion: (user) => (user as typeof alice).password,
    rememberMe: { refreshEachRequest: options.refreshEachRequest ?? false, duration: options.duration ?? '7d' },
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

t.test('with store: false the remember cookie is a stateless token: not rotated, not ended, re-sent only with refreshEachRequest', async (t) => {
  const { login, rememberOf, visit } = await setup(t, { store: false })
  const cookie = rememberOf(await login())
  const first = await visit(cookie)
  t.equal(first.json().auth, true, 'it restores')
  t.equal(first.cookies.find((c) => c.name === REMEMBER), undefined, 'and is not replaced')
  t.equal((await visit(cookie)).json().auth, true, 'the same cookie again: nothing can notice a copy without a store')

  const fresh = await setup(t, { store: false, refreshEachRequest: true })
  const res = await fresh.visit(fresh.rememberOf(await fresh.login()))
  t.equal(res.cookies.find((c) => c.name === REMEMBER)?.maxAge, 7 * 86400, 'refreshEachRequest re-sends it for the full duration')
})

t.test('a tab within the grace whose winning session has already idled out is anonymous once, then restores without alarm', async (t) => {
  const { app, login, rememberOf, visit, advance } = await setup(t, { idleTimeout: '10s' })
  const reused: string[] = []
  app.loginEvents.on('rememberTokenReused', ({ userId }) => reused.push(userId))
  const cookie = rememberOf(await login())
  t.equal((await visit(cookie)).json().auth, true, 'the winner restores')
  advance(20_000)
  const late = await visit(cookie)
  t.equal(late.json().auth, false, '20 s later (within the grace) its session has idled out: this request is anonymous')
  const next = late.cookies.find((c) => c.name === REMEMBER)
  t.ok(next !== undefined && next.value !== '', 'but it got the current remember cookie')
  t.equal((await visit(`${REMEMBER}=${encodeURIComponent(next?.value as string)}`)).json().auth, true, 'which restores on the next request')
  t.same(reused, [], 'no alarm')
})

t.test('refreshEachRequest: a series that expired under a live session is not brought back by a touch', async (t) => {
  const { login, rememberOf, visit, advance } = await setup(t, { refreshEachRequest: true, duration: '60s' })
  const jar = await login()
  advance(61_000)
  t.equal((await visit(jar.header())).json().auth, true, 'the session still lives (its idle timeout is 30 minutes)')
  t.equal((await visit(rememberOf(jar))).json().auth, false, 'its remember cookie, whose series expired, does not restore')
})

t.test('a store failure in the middle of ending a theft: the alarm is raised, and the next use of the cookie finishes the job', async (t) => {
  const inner = new MemoryStore()
  // Set to n: the n-th listing from now on fails (ending a theft lists series, API sessions, then sessions).
  let failAt = 0
  const store: LoginStore = {
    get: (key) => inner.get(key),
    set: (key, value, options) => inner.set(key, value, options),
    delete: (key) => inner.delete(key),
    compareAndSet: ((key: string, expected: never, next: never, options: never) => inner.compareAndSet(key, expected, next, options)) as LoginStore['compareAndSet'],
    increment: (key, options) => inner.increment(key, options),
    keysOfUser: (userId) => {
      if (failAt > 0 && --failAt === 0) throw new Error('connection reset')
      return inner.keysOfUser(userId)
    },
    deleteUser: (userId) => inner.deleteUser(userId)
  }
  const { app, login, rememberOf, visit, advance } = await setup(t, { store })
  const reused: string[] = []
  app.loginEvents.on('rememberTokenReused', ({ userId }) => reused.push(userId))
  const victim = rememberOf(await login())
  advance(60_000)
  const thief = new CookieJar().store(await visit(victim))
  advance(60_000)
  failAt = 3 // the listing of the sessions, once the other series and the API sessions are ended
  const first = await app.inject({ url: '/private', headers: { cookie: victim } })
  t.equal(first.statusCode, 503, 'the cleanup could not finish: a 503')
  t.same(reused, ['1'], 'but the theft was reported')
  t.equal((await visit(thief.header())).json().auth, true, "the thief's session is still there")
  t.equal((await visit(victim)).json().auth, false, 'the victim comes back with the cookie')
  t.equal((await visit(thief.header())).json().auth, false, "and this time the thief's session ends")
  t.same(reused, ['1', '1'], 'reported again')
  t.same(await app.loginSessions.list('1'), [], 'nothing of the user is left')
})
