import t from 'tap'
import { MemoryStore, type LoginStore, type SessionEndedEvent } from '../lib/index.js'
import { buildApp, CookieJar, login, loggedIn, me, send, setCookie } from './helpers.js'

/*
 * Server-side session records: every login makes one in the store, the
 * cookie carries only a secret that points at it, and deleting the record
 * ends every copy of the cookie. With `store: false` the old stateless
 * behaviour stays, weakness included.
 */

/** The store's keys and values, as a dump of it would show them. */
async function dump (store: LoginStore, userId: string): Promise<Array<[string, unknown]>> {
  const keys = await store.keysOfUser(userId)
  return await Promise.all(keys.map(async (key) => [key, await store.get(key)] as [string, unknown]))
}

t.test('a copy of the session cookie taken before logout is refused after it', async (t) => {
  const { app } = await buildApp()
  t.teardown(() => app.close())
  const jar = await loggedIn(app, '1')
  const copy = jar.header()
  t.equal((await me(app, jar)).authenticated, true, 'logged in')

  const out = await send(app, jar, 'POST', '/logout')
  t.equal(out.statusCode, 200)

  const stolen = await app.inject({ url: '/private', headers: { cookie: copy } })
  t.equal(stolen.statusCode, 401, 'the copy no longer logs in')
  const page = await app.inject({ url: '/me', headers: { cookie: copy } })
  t.same(page.json().authenticated, false, 'it is anonymous')
  const cleared = setCookie(page, '__Host-session')
  t.ok(cleared !== undefined, 'and its login is cleared from the cookie')
  const next = await app.inject({ url: '/me', headers: { cookie: `__Host-session=${encodeURIComponent(cleared?.value ?? '')}` } })
  t.equal(next.json().authenticated, false, 'the rewritten cookie holds no login')
})

t.test('with store: false a copied cookie still logs in after logout (the documented weakness)', async (t) => {
  const { app } = await buildApp({ store: false })
  t.teardown(() => app.close())
  const jar = await loggedIn(app, '1')
  const copy = jar.header()
  await send(app, jar, 'POST', '/logout')
  t.equal((await me(app, jar)).authenticated, false, 'the browser that logged out is anonymous')
  const stolen = await app.inject({ url: '/private', headers: { cookie: copy } })
  t.equal(stolen.statusCode, 200, 'but a copy of its old cookie is not ended')
  t.equal(app.loginSessions === undefined, false, 'loginSessions exists')
  await t.rejects(app.loginSessions.list('1'), { code: 'FST_LOGIN_SESSIONS_DISABLED' }, 'and has no sessions to list')
})

t.test('the record holds who, when and where; the store holds no usable secret', async (t) => {
  let now = Date.parse('2026-12-02T10:00:00Z')
  const store = new MemoryStore({ clock: () => now })
  const { app } = await buildApp({ store, clock: () => now }, (app) => {
    app.get('/session', async (request) => {
      await request.loadCurrentUser()
      return { session: request.loginSession }
    })
  })
  t.teardown(() => app.close())
  const res = await app.inject({ method: 'POST', url: '/login/1', headers: { 'user-agent': 'Phone/2.0' }, remoteAddress: '198.51.100.7' })
  const jar = new CookieJar().store(res)
  const cookieValue = jar.cookies.get('__Host-session') as string
  t.ok(cookieValue.length < 200, `the cookie stays small (${cookieValue.length} characters)`)

  now += 1000
  const seen = await app.inject({ url: '/session', headers: { cookie: jar.header(), 'user-agent': 'Phone/2.0' }, remoteAddress: '198.51.100.7' })
  const { session } = seen.json()
  t.match(session, {
    id: /^[A-Za-z0-9_-]{43}$/,
    createdAt: '2026-12-02T10:00:00.000Z',
    lastSeenAt: '2026-12-02T10:00:00.000Z',
    // The earlier of idle (30 min after last seen) and absolute (12 h after login).
    expiresAt: '2026-12-02T10:30:00.000Z',
    ip: '198.51.100.7',
    userAgent: 'Phone/2.0',
    remembered: false
  }, 'request.loginSession describes the session')
  t.notOk(Object.keys(session).includes('secret'), 'no secret in the public view')

  const entries = await dump(store, '1')
  t.equal(entries.length, 1, 'one record for the one session')
  const [key, record] = entries[0] as [string, Record<string, unknown>]
  t.ok(key.endsWith(session.id), 'stored under the public id (the hash of the secret)')
  t.match(record, { u: '1', ip: '198.51.100.7', ua: 'Phone/2.0', r: false, f: true })
  const text = JSON.stringify(entries)
  t.notOk(text.includes(cookieValue), 'the cookie value is not in the store')

  const anonymous = await app.inject({ url: '/session' })
  t.same(anonymous.json(), { session: null }, 'anonymous: loginSession is null')
})

t.test('reply.logout({ everywhere: true }) ends every session of the user, and only theirs', async (t) => {
  const ended: SessionEndedEvent[] = []
  const { app } = await buildApp({}, (app) => {
    app.post('/logout-everywhere', async (_request, reply) => {
      await reply.logout({ everywhere: true })
      return { ok: true }
    })
    app.loginEvents.on('sessionEnded', (event) => { ended.push(event) })
  })
  t.teardown(() => app.close())
  const laptop = await loggedIn(app, '1')
  const phone = await loggedIn(app, '1')
  const bobs = await loggedIn(app, '2')
  t.equal((await app.loginSessions.list('1')).length, 2, 'alice has two sessions')

  await send(app, laptop, 'POST', '/logout-everywhere')
  t.equal((await me(app, laptop)).authenticated, false, 'this device is logged out')
  t.equal((await me(app, phone)).authenticated, false, 'the other device is logged out')
  t.equal((await me(app, bobs)).authenticated, true, "another user's session is untouched")
  t.same(await app.loginSessions.list('1'), [], 'no session of alice is left')
  t.same(ended.map((event) => [event.userId, event.reason, event.request === null]).sort(), [['1', 'logout', false], ['1', 'revoked', false]],
    'sessionEnded: this one as logout, the other as revoked')
})

t.test('logout({ everywhere: true }) needs a store', async (t) => {
  const { app } = await buildApp({ store: false }, (app) => {
    app.post('/logout-everywhere', async (_request, reply) => {
      await reply.logout({ everywhere: true })
      return { ok: true }
    })
  })
  t.teardown(() => app.close())
  const jar = await loggedIn(app, '1')
  const res = await send(app, jar, 'POST', '/logout-everywhere')
  t.equal(res.statusCode, 500)
  t.equal(res.json().code, 'FST_LOGIN_SESSIONS_DISABLED', 'a clear setup error, not a silent partial logout')
})

t.test('a new login ends the session the cookie held before (no fixation, no leftover record)', async (t) => {
  const { app } = await buildApp()
  t.teardown(() => app.close())
  const jar = await loggedIn(app, '1')
  const before = jar.header()
  jar.store(await app.inject({ method: 'POST', url: '/login/1', headers: { cookie: before } }))
  t.equal((await app.loginSessions.list('1')).length, 1, 'the re-login replaced the session rather than adding one')
  const old = await app.inject({ url: '/private', headers: { cookie: before } })
  t.equal(old.statusCode, 401, 'the cookie from before the login is ended')
  t.equal((await me(app, jar)).authenticated, true, 'the new one works')

  // A login as another user over the first one's cookie ends the first session too.
  jar.store(await app.inject({ method: 'POST', url: '/login/2', headers: { cookie: jar.header() } }))
  t.same(await app.loginSessions.list('1'), [], "alice's session ended when bob logged in over it")
  t.equal((await app.loginSessions.list('2')).length, 1)
})

t.test('a cookie whose secret is garbage, or whose record is of another shape, is anonymous', async (t) => {
  const store = new MemoryStore()
  const { app } = await buildApp({ store })
  t.teardown(() => app.close())
  const jar = await loggedIn(app, '1')
  const [key] = await store.keysOfUser('1')
  store.set(key as string, { u: '1', something: 'else' }, { ttlMs: 60_000, userId: '1' })
  t.equal((await me(app, jar)).authenticated, false, 'a record that is not ours logs nobody in')

  const forged = app.createSecureSession({ _user_id: '1', _sid: 'x'.repeat(10) })
  const cookie = `__Host-session=${encodeURIComponent(app.encodeSecureSession(forged))}`
  const res = await app.inject({ url: '/private', headers: { cookie } })
  t.equal(res.statusCode, 401, 'a secret of the wrong shape is no session')
  const res2 = await login(app, '2')
  t.equal(res2.statusCode, 200)
})

t.test('a session whose user is deleted or deactivated is dropped, record and all', async (t) => {
  const store = new MemoryStore()
  const { app, users } = await buildApp({ store })
  t.teardown(() => app.close())
  const alice = await loggedIn(app, '1')
  const bob = await loggedIn(app, '2')
  users.delete('1')
  t.equal((await me(app, alice)).authenticated, false, 'a deleted user is anonymous')
  t.same(store.keysOfUser('1'), [], 'and the record is gone')
  ;(users.get('2') as { isActive?: boolean }).isActive = false
  t.equal((await me(app, bob)).authenticated, false, 'a deactivated user is anonymous')
  t.same(store.keysOfUser('2'), [])
})
