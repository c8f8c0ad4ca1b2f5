import t, { type Test } from 'tap'
import { MemoryStore, type LoginStore, type SessionEndedEvent } from '../lib/index.js'
import type { FastifyLoginOptions } from '../lib/index.js'
import { buildApp, loggedIn, me, send } from './helpers.js'

/*
 * Idle and absolute timeouts, the touch interval and freshness expiry, all
 * read from the record with the plugin's `clock` option: time moves in the
 * test, never by sleeping. secure-session's own cookie expiry (a day, on the
 * real clock) is not what ends these sessions.
 */

const MINUTE = 60_000
const HOUR = 60 * MINUTE

/** An app on a clock the test moves; `writes` counts the store's writes (set and compareAndSet). */
async function timedApp (t: Test, options: Partial<FastifyLoginOptions> = {}) {
  let now = Date.parse('2026-12-02T08:00:00Z')
  const clock = (): number => now
  const inner = new MemoryStore({ clock })
  let writes = 0
  const store: LoginStore = {
    get: (key) => inner.get(key),
    set: (key, value, opts) => { writes++; inner.set(key, value, opts) },
    delete: (key) => inner.delete(key),
    compareAndSet: (key: string, expected: any, next: any, opts?: any) => { writes++; return inner.compareAndSet(key, expected, next, opts) },
    increment: (key, opts) => inner.increment(key, opts),
    keysOfUser: (userId) => inner.keysOfUser(userId),
    deleteUser: (userId) => inner.deleteUser(userId)
  }
  const ended: SessionEndedEvent[] = []
  const { app } = await buildApp({ store, clock, ...options }, (app) => {
    app.loginEvents.on('sessionEnded', (event) => { ended.push(event) })
  })
  t.teardown(() => app.close())
  return {
    app,
    ended,
    advance: (ms: number) => { now += ms },
    writes: () => writes
  }
}

t.test('idleTimeout (default 30 minutes) ends a session left unused', async (t) => {
  const { app, advance, ended } = await timedApp(t)
  const jar = await loggedIn(app, '1')
  advance(29 * MINUTE)
  t.equal((await me(app, jar)).authenticated, true, 'used after 29 minutes: still logged in')
  advance(29 * MINUTE)
  t.equal((await me(app, jar)).authenticated, true, 'each use (touched) restarts the idle time')
  advance(30 * MINUTE)
  const res = await send(app, jar, 'GET', '/private')
  t.equal(res.statusCode, 401, '30 minutes unused: the session has ended')
  t.same(ended.map((event) => event.reason), ['idle'], 'sessionEnded with reason idle')
  t.equal(ended[0]?.session?.lastSeenAt.toISOString(), '2026-12-02T08:58:00.000Z', 'the event carries the session as it was')
  t.same(await app.loginSessions.list('1'), [], 'and it is gone from the store')
})

t.test('absoluteTimeout (default 12 hours) ends a session however busy', async (t) => {
  const { app, advance, ended } = await timedApp(t)
  const jar = await loggedIn(app, '1')
  for (let minutes = 0; minutes < 12 * 60 - 20; minutes += 20) {
    advance(20 * MINUTE)
    if (!(await me(app, jar)).authenticated) break
  }
  t.equal((await me(app, jar)).authenticated, true, 'active for 11 h 40: still logged in')
  advance(20 * MINUTE)
  t.equal((await me(app, jar)).authenticated, false, '12 hours after the login it ends')
  t.same(ended.map((event) => event.reason), ['absolute'])
})

t.test('custom timeouts, and false for none', async (t) => {
  t.test('idleTimeout: 5m', async (t) => {
    const { app, advance } = await timedApp(t, { idleTimeout: '5m' })
    const jar = await loggedIn(app, '1')
    advance(5 * MINUTE - 1)
    t.equal((await me(app, jar)).authenticated, true)
    advance(5 * MINUTE)
    t.equal((await me(app, jar)).authenticated, false)
  })
  t.test('both false: the session lives as long as its cookie', async (t) => {
    const { app, advance } = await timedApp(t, { idleTimeout: false, absoluteTimeout: false })
    const jar = await loggedIn(app, '1')
    const [session] = await app.loginSessions.list('1')
    t.equal(session?.expiresAt, null, 'no expiry to show')
    advance(20 * HOUR)
    t.equal((await me(app, jar)).authenticated, true, '20 hours unused: still there')
  })
  t.test('absoluteTimeout: 1h with idle off', async (t) => {
    const { app, advance } = await timedApp(t, { idleTimeout: false, absoluteTimeout: '1h' })
    const jar = await loggedIn(app, '1')
    advance(HOUR - 1)
    t.equal((await me(app, jar)).authenticated, true)
    advance(1)
    t.equal((await me(app, jar)).authenticated, false)
  })
})

t.test('lastSeenAt is written at most once per touchInterval', async (t) => {
  const { app, advance, writes } = await timedApp(t)
  const jar = await loggedIn(app, '1')
  const afterLogin = writes()
  for (let i = 0; i < 20; i++) {
    advance(2000)
    await me(app, jar)
  }
  t.equal(writes(), afterLogin, '20 requests within 40 s: no store write')
  advance(20_000)
  await me(app, jar)
  t.equal(writes(), afterLogin + 1, 'a minute after the last write: one write')
  const [session] = await app.loginSessions.list('1')
  t.equal(session?.lastSeenAt.toISOString(), '2026-12-02T08:01:00.000Z')
})

t.test('freshFor (default 1 hour): an older login is not fresh, and freshLoginRequired asks again', async (t) => {
  const { app, advance } = await timedApp(t, { idleTimeout: '2h' })
  const jar = await loggedIn(app, '1')
  t.equal((await send(app, jar, 'GET', '/fresh')).statusCode, 200, 'fresh right after the login')
  advance(59 * MINUTE)
  t.equal((await me(app, jar)).fresh, true, 'fresh for 59 minutes')
  advance(MINUTE)
  t.equal((await me(app, jar)).fresh, false, 'not fresh after an hour')
  t.equal((await send(app, jar, 'GET', '/fresh')).statusCode, 401, 'freshLoginRequired refuses it')
  t.equal((await send(app, jar, 'GET', '/private')).statusCode, 200, 'it is still a login')
  const confirmed = await send(app, jar, 'POST', '/confirm')
  t.same(confirmed.json(), { confirmed: true })
  t.equal((await send(app, jar, 'GET', '/fresh')).statusCode, 200, 'confirmLogin() makes it fresh for another hour')
  advance(HOUR)
  t.equal((await me(app, jar)).fresh, false)
})

t.test('freshFor: false keeps a login fresh until something marks it stale', async (t) => {
  const { app, advance } = await timedApp(t, { freshFor: false, idleTimeout: false })
  const jar = await loggedIn(app, '1')
  advance(11 * HOUR)
  t.equal((await me(app, jar)).fresh, true)
})

t.test('with store: false the timeouts and freshness are kept in the cookie', async (t) => {
  let now = Date.parse('2026-12-02T08:00:00Z')
  const { app } = await buildApp({ store: false, clock: () => now })
  t.teardown(() => app.close())
  const jar = await loggedIn(app, '1')
  now += 25 * MINUTE
  t.match(await me(app, jar), { authenticated: true, fresh: true })
  now += 25 * MINUTE
  t.match(await me(app, jar), { authenticated: true, fresh: true }, 'the touch rewrote the cookie: 50 minutes, 25 of them idle')
  now += 15 * MINUTE
  t.match(await me(app, jar), { authenticated: true, fresh: false }, 'over an hour since the login: not fresh')
  now += 31 * MINUTE
  t.equal((await me(app, jar)).authenticated, false, 'idle for 31 minutes: ended')
})
