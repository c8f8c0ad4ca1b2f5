import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { MemoryStore, type FastifyLoginOptions, type LoginStore, type StoreSetOptions, type StoreValue } from '../lib/index.js'
import { buildApp, CookieJar, eventually, heldPoint, me, rejectsOption, send, type TestUser } from './helpers.js'

/*
 * The `userCache` option (session side): how often loadUser runs, when an
 * entry expires or is dropped, and that a cached user never refuses or ends
 * a session a fresh load would keep.
 */

interface Account extends TestUser {
  password: string
}

function accounts (): Map<string, Account> {
  return new Map<string, Account>([
    ['1', { id: '1', name: 'alice', password: 'a1' }],
    ['2', { id: '2', name: 'bob', password: 'b1' }],
    ['3', { id: '3', name: 'carol', password: 'c1' }]
  ])
}

/** A controllable clock for the plugin's `clock` option. */
function manualClock (): { now: () => number, advance: (ms: number) => void } {
  let now = Date.now()
  return { now: () => now, advance: (ms) => { now += ms } }
}

interface CacheApp {
  app: FastifyInstance
  users: Map<string, Account>
  /** The ids loadUser was called with, in order. */
  loads: string[]
}

/**
 * buildApp() with `userCache: true`, a counting loader over `users` (a copy of the account,
 * as a database answers), and POST /relogin/:id, which logs in the account as it is now.
 */
async function cacheApp (t: Test, options: Partial<FastifyLoginOptions> = {}, users = accounts()): Promise<CacheApp> {
  const loads: string[] = []
  const { app } = await buildApp({
    userCache: true,
    authVersion: (user) => (user as Account).password,
    loadUser: (id) => {
      loads.push(id)
      const user = users.get(id)
      return user === undefined ? null : { ...user }
    },
    ...options
  }, (app) => {
    app.post<{ Params: { id: string }, Body: { force?: boolean, remember?: boolean } | undefined }>('/relogin/:id', async (request, reply) =>
      ({ ok: await reply.login({ ...users.get(request.params.id) as Account }, request.body ?? {}) }))
  })
  t.teardown(() => app.close())
  return { app, users, loads }
}

async function relogin (app: FastifyInstance, id: string, jar = new CookieJar(), body?: Record<string, unknown>): Promise<CookieJar> {
  const res = await send(app, jar, 'POST', `/relogin/${id}`, body)
  if (res.statusCode !== 200) throw new Error(`login failed: ${res.statusCode}`)
  return jar
}

t.test('six requests of one user: one load with the cache, six without', async (t) => {
  for (const userCache of [true, false]) {
    const { app, loads } = await cacheApp(t, { userCache })
    const jar = await relogin(app, '1')
    const urls = ['/me', '/private', '/no-such-page', '/favicon.ico', '/me', '/private']
    for (const url of urls) await send(app, jar, 'GET', url)
    t.equal(loads.length, userCache ? 1 : 6, `userCache: ${userCache}`)
    t.match(await me(app, jar), { user: { name: 'alice' }, authenticated: true })
  }
})

t.test('an entry lasts ttl from the start of its load, on the plugin clock', async (t) => {
  const clock = manualClock()
  const { app, loads } = await cacheApp(t, { clock: clock.now, userCache: { ttl: '10s' } })
  const jar = await relogin(app, '1')
  await me(app, jar)
  clock.advance(9999)
  await me(app, jar)
  t.equal(loads.length, 1, 'still cached just before ttl')
  clock.advance(1)
  await me(app, jar)
  t.equal(loads.length, 2, 'loaded again at ttl')
  await me(app, jar)
  t.equal(loads.length, 2, 'and cached again')
})

t.test('userCache: true keeps a user for 5 seconds', async (t) => {
  const clock = manualClock()
  const { app, loads } = await cacheApp(t, { clock: clock.now })
  const jar = await relogin(app, '1')
  await me(app, jar)
  clock.advance(4999)
  await me(app, jar)
  clock.advance(1)
  await me(app, jar)
  t.same(loads, ['1', '1'])
})

t.test('at max users, the least recently used is dropped', async (t) => {
  const { app, loads } = await cacheApp(t, { userCache: { max: 2 } })
  const alice = await relogin(app, '1')
  const bob = await relogin(app, '2')
  const carol = await relogin(app, '3')
  await me(app, alice)
  await me(app, bob)
  await me(app, alice) // alice is now the most recently used
  await me(app, carol) // carol pushes bob out
  t.same(loads, ['1', '2', '3'])
  await me(app, alice)
  await me(app, carol)
  t.same(loads, ['1', '2', '3'], 'alice and carol are kept')
  await me(app, bob)
  t.same(loads, ['1', '2', '3', '2'], 'bob was dropped')
})

t.test('a user nobody found, or a failed load, is not kept', async (t) => {
  let fail = true
  const users = accounts()
  const loads: string[] = []
  const { app } = await buildApp({
    userCache: true,
    loadUser: async (id) => {
      loads.push(id)
      if (fail) throw new Error('database down')
      return users.get(id) ?? null
    }
  }, (app) => {
    app.post('/as-alice', async (_request, reply) => ({ ok: await reply.login(users.get('1') as Account) }))
  })
  t.teardown(() => app.close())
  const jar = new CookieJar()
  await send(app, jar, 'POST', '/as-alice')
  t.equal((await send(app, jar, 'GET', '/private')).statusCode, 500, 'the failure refuses the guard')
  fail = false
  t.equal((await send(app, jar, 'GET', '/private')).statusCode, 200, 'the next request loads again')
  t.equal(loads.length, 2)
  await send(app, jar, 'GET', '/private')
  t.equal(loads.length, 2, 'and that user is kept')

  // A user gone from the database: the session is dropped at once, nothing cached.
  const other = new CookieJar()
  await send(app, other, 'POST', '/as-alice')
  users.delete('1')
  app.loginUserCache.clear()
  t.equal((await send(app, other, 'GET', '/private')).statusCode, 401)
  t.equal((await send(app, jar, 'GET', '/private')).statusCode, 401, 'the other session of the gone user too: null was not cached')
  t.equal(loads.length, 4)
})

t.test('concurrent requests for one user share one load', async (t) => {
  const held = heldPoint()
  const users = accounts()
  const loads: string[] = []
  const store = new MemoryStore()
  let sessionReads = 0
  const counting: LoginStore = {
    get: (key) => {
      if (key.startsWith('sess:')) sessionReads++
      return store.get(key)
    },
    set: (key, value, options) => store.set(key, value, options),
    delete: (key) => store.delete(key),
    compareAndSet: (key: string, expected: StoreValue | null, next: any, options?: StoreSetOptions) => store.compareAndSet(key, expected, next, options as StoreSetOptions),
    increment: (key, options) => store.increment(key, options),
    keysOfUser: (userId) => store.keysOfUser(userId),
    deleteUser: (userId) => store.deleteUser(userId)
  }
  const { app } = await buildApp({
    store: counting,
    userCache: true,
    loadUser: async (id) => {
      loads.push(id)
      held.reached()
      await held.wait
      return users.get(id) ?? null
    }
  }, (app) => {
    app.post('/as-alice', async (_request, reply) => ({ ok: await reply.login(users.get('1') as Account) }))
  })
  t.teardown(() => app.close())
  t.teardown(() => store.close())
  const jar = new CookieJar()
  await send(app, jar, 'POST', '/as-alice')
  sessionReads = 0
  const requests = Array.from({ length: 5 }, () => app.inject({ url: '/private', headers: { cookie: jar.header() } }))
  await held.arrived
  // The store answers synchronously: a request that has read its session has asked the cache too.
  t.ok(await eventually(5000, async () => sessionReads >= 5), 'every request reached the user load')
  held.release()
  const answers = await Promise.all(requests)
  t.same(answers.map((res) => res.statusCode), [200, 200, 200, 200, 200])
  t.same(answers.map((res) => res.json().name), ['alice', 'alice', 'alice', 'alice', 'alice'])
  t.same(loads, ['1'], 'one load for all five')

  // Gone from the database meanwhile: whoever joined a load that found nobody asks once more, together.
  app.loginUserCache.clear()
  users.delete('1')
  loads.length = 0
  sessionReads = 0
  const again = heldPoint()
  const first = held
  Object.assign(first, again)
  const late = Array.from({ length: 3 }, () => app.inject({ url: '/private', headers: { cookie: jar.header() } }))
  await again.arrived
  t.ok(await eventually(5000, async () => sessionReads >= 3))
  again.release()
  t.same((await Promise.all(late)).map((res) => res.statusCode), [401, 401, 401])
  t.same(loads, ['1', '1'], 'the first load, and one more for the two that joined it')
})

t.test('a load in flight when the user is dropped is not kept', async (t) => {
  const held = heldPoint()
  const users = accounts()
  const loads: string[] = []
  let hold = false
  const { app } = await buildApp({
    userCache: true,
    loadUser: async (id) => {
      loads.push(id)
      if (hold) {
        held.reached()
        await held.wait
      }
      return users.get(id) ?? null
    }
  }, (app) => {
    app.post('/as-alice', async (_request, reply) => ({ ok: await reply.login(users.get('1') as Account) }))
  })
  t.teardown(() => app.close())
  const slow = new CookieJar()
  await send(app, slow, 'POST', '/as-alice')
  hold = true
  const loading = send(app, slow, 'GET', '/private')
  await held.arrived
  hold = false
  // The user is dropped (an admin changed her) while the request's load is in flight: that load must not be kept.
  app.loginUserCache.delete('1')
  held.release()
  t.equal((await loading).statusCode, 200)
  await send(app, slow, 'GET', '/private')
  t.equal(loads.length, 2, 'the next request loads again')
  await send(app, slow, 'GET', '/private')
  t.equal(loads.length, 2, 'and that load is kept')
})

t.test('a logout, a revoke or a new login drops the user', async (t) => {
  t.test('logout', async (t) => {
    const { app, loads } = await cacheApp(t)
    const phone = await relogin(app, '1')
    const laptop = await relogin(app, '1')
    await me(app, phone)
    t.equal(loads.length, 1)
    await send(app, laptop, 'POST', '/logout')
    t.match(await me(app, phone), { user: { name: 'alice' } }, 'the other session goes on')
    t.equal(loads.length, 2, 'with a fresh load (the logout used the cached user)')
  })

  t.test('loginSessions.revoke() and revokeAll()', async (t) => {
    const { app, loads } = await cacheApp(t)
    const phone = await relogin(app, '1')
    const laptop = await relogin(app, '1')
    await me(app, phone)
    const [, other] = await app.loginSessions.list('1')
    const first = (await app.loginSessions.list('1'))[0]
    t.ok(first !== undefined && other !== undefined)
    await me(app, laptop)
    t.equal(loads.length, 1)
    t.equal(await app.loginSessions.revoke('1', (other as { id: string }).id), true)
    const [a, b] = [await send(app, phone, 'GET', '/private'), await send(app, laptop, 'GET', '/private')]
    t.same([a.statusCode, b.statusCode].sort(), [200, 401], 'one session ended at once')
    t.equal(loads.length, 2, 'the user was loaded again')
    t.equal(await app.loginSessions.revokeAll('1'), 1)
    t.equal((await send(app, phone, 'GET', '/private')).statusCode, 401)
    t.equal((await send(app, laptop, 'GET', '/private')).statusCode, 401)
    const again = await relogin(app, '1')
    await me(app, again)
    t.equal(loads.length, 3, 'loaded afresh after the revokeAll')
  })

  t.test('a login with a new password ends the old sessions at their next request', async (t) => {
    const { app, users, loads } = await cacheApp(t)
    const old = await relogin(app, '1')
    t.match(await me(app, old), { authenticated: true })
    ;(users.get('1') as Account).password = 'a2'
    // Django's update_session_auth_hash: the password form logs the user in again.
    const renewed = await relogin(app, '1')
    t.match(await me(app, old), { authenticated: false }, 'the old session ends: its version is old')
    t.equal(loads.length, 2, 'the login dropped the cached copy: the old session was judged on a fresh load')
    t.match(await me(app, renewed), { authenticated: true, user: { name: 'alice' } })
    t.equal(loads.length, 3, 'the ended session dropped it again')
  })

  t.test('fastify.loginUserCache.delete() and clear()', async (t) => {
    const { app, users, loads } = await cacheApp(t)
    const jar = await relogin(app, '1')
    await me(app, jar)
    ;(users.get('1') as Account).name = 'alicia'
    t.match(await me(app, jar), { user: { name: 'alice' } }, 'a change the plugin was not told of is seen within ttl')
    app.loginUserCache.delete('1')
    t.match(await me(app, jar), { user: { name: 'alicia' } }, 'and at once after delete()')
    ;(users.get('1') as Account).name = 'ali'
    app.loginUserCache.clear()
    t.match(await me(app, jar), { user: { name: 'ali' } }, 'or clear()')
    t.equal(loads.length, 3)
    t.throws(() => app.loginUserCache.delete(''), TypeError)
    t.throws(() => app.loginUserCache.delete(1 as unknown as string), TypeError)
  })
})

t.test('a cached user that a check would refuse is loaded again before anything is ended', async (t) => {
  // Two processes on one store: B cached alice before her password changed on A.
  const store = new MemoryStore()
  t.teardown(() => store.close())
  const users = accounts()
  const a = await cacheApp(t, { store }, users)
  const b = await cacheApp(t, { store }, users)
  const before = await relogin(a.app, '1')
  t.match(await me(b.app, before), { authenticated: true })
  ;(users.get('1') as Account).password = 'a2'
  const after = await relogin(a.app, '1')
  t.match(await me(b.app, after), { authenticated: true, user: { name: 'alice' } }, 'the new session is accepted on B')
  t.equal(b.loads.length, 2, 'B loaded her again rather than end the session')
  t.match(await me(b.app, before), { authenticated: false }, 'and the old session now ends on B at once')
  t.match(await me(a.app, after), { authenticated: true }, 'the new one lives on')

  // Deactivated, then active again: a cached inactive copy must not drop a forced login's neighbour.
  const carol = users.get('3') as Account
  carol.isActive = false
  const forced = await relogin(b.app, '3', new CookieJar(), { force: true })
  t.match(await me(b.app, forced), { authenticated: true }, 'a forced login of an inactive user is kept (and cached)')
  carol.isActive = true
  const normal = await relogin(a.app, '3')
  t.match(await me(b.app, normal), { authenticated: true }, 'a login made once she was active again is accepted')
})

t.test('the remember-me restore always calls the loader', async (t) => {
  const { app, loads } = await cacheApp(t)
  const jar = await relogin(app, '1')
  await me(app, jar)
  const remembered = new CookieJar()
  const res = await app.inject({ method: 'POST', url: '/relogin/1', payload: { remember: true } })
  for (const cookie of res.cookies) if (cookie.name === '__Host-remember_token') remembered.cookies.set(cookie.name, cookie.value)
  loads.length = 0
  t.match(await me(app, remembered), { authenticated: true, remembered: true })
  t.same(loads, ['1'], 'the restore loaded, though alice was cached')
})

t.test('userCache option checks', async (t) => {
  const options = (userCache: unknown): FastifyLoginOptions => ({ loadUser: () => null, session: false, userCache } as unknown as FastifyLoginOptions)
  await rejectsOption(t, options('yes'), /userCache must be an object, true or false/)
  await rejectsOption(t, options([]), /userCache must be an object/)
  await rejectsOption(t, options({ max: 0 }), /userCache.max must be a whole number from 1 to 1000000/)
  await rejectsOption(t, options({ max: 2.5 }), /userCache.max/)
  await rejectsOption(t, options({ max: '10' }), /userCache.max/)
  await rejectsOption(t, options({ max: 1_000_001 }), /userCache.max/)
  await rejectsOption(t, options({ ttl: '2m' }), /userCache.ttl must be at most 1 minute/)
  await rejectsOption(t, options({ ttl: 0 }), /userCache.ttl must be a positive/)
  await rejectsOption(t, options({ size: 10 }), /unknown option userCache.size/)
  for (const ok of [true, false, {}, { max: 1, ttl: 60 }, { ttl: '1s' }]) {
    const { app } = await buildApp({ userCache: ok as FastifyLoginOptions['userCache'] })
    t.teardown(() => app.close())
    app.loginUserCache.clear()
    app.loginUserCache.delete('1')
    t.pass(`userCache ${JSON.stringify(ok)} is accepted`)
  }
})
