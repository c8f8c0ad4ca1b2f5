import t from 'tap'
import { MemoryStore, type LoginStore } from '../lib/index.js'
import { buildApp, CookieJar, loggedIn, me, send, setCookie } from './helpers.js'

/*
 * A store that fails (Redis down, a database error): requests that need the
 * session answer 503 FST_LOGIN_STORE_UNAVAILABLE with Retry-After, pages that
 * do not need a user still answer as anonymous, nothing is let through, and
 * nothing crashes. The real Redis outage is in redis-down.test.ts.
 */

/** A MemoryStore that throws (sync) or rejects (async) while `down` is set. */
function flakyStore (mode: 'throw' | 'reject') {
  const inner = new MemoryStore()
  const state = { down: false }
  const fail = (): never => { throw new Error('ECONNREFUSED 127.0.0.1:6379') }
  const wrap = <A extends unknown[], R>(fn: (...args: A) => R) => (...args: A): R | Promise<R> => {
    if (!state.down) return fn(...args)
    return mode === 'throw' ? fail() : Promise.reject(new Error('Connection is closed.'))
  }
  const store: LoginStore = {
    get: wrap((key: string) => inner.get(key)),
    set: wrap((key: string, value: any, options: any) => inner.set(key, value, options)),
    delete: wrap((key: string) => inner.delete(key)),
    compareAndSet: wrap((key: string, expected: any, next: any, options?: any) => inner.compareAndSet(key, expected, next, options)),
    increment: wrap((key: string, options: any) => inner.increment(key, options)),
    keysOfUser: wrap((userId: string) => inner.keysOfUser(userId)),
    deleteUser: wrap((userId: string) => inner.deleteUser(userId))
  }
  return { store, state }
}

for (const mode of ['throw', 'reject'] as const) {
  t.test(`a store that fails (${mode === 'throw' ? 'throws' : 'rejects'}) refuses with 503, then recovers`, async (t) => {
    const unhandled: unknown[] = []
    const onUnhandled = (reason: unknown): void => { unhandled.push(reason) }
    process.on('unhandledRejection', onUnhandled)
    t.teardown(() => { process.off('unhandledRejection', onUnhandled) })
    const { store, state } = flakyStore(mode)
    const { app } = await buildApp({ store }, (app) => {
      app.get('/public', async (request) => ({ authenticated: request.isAuthenticated() }))
    })
    t.teardown(() => app.close())
    const jar = await loggedIn(app, '1')

    state.down = true
    const guarded = await send(app, jar, 'GET', '/private')
    t.equal(guarded.statusCode, 503, 'a guarded route answers 503')
    t.equal(guarded.headers['retry-after'], '1', 'with Retry-After')
    t.match(guarded.json(), { code: 'FST_LOGIN_STORE_UNAVAILABLE', statusCode: 503 })
    t.notOk(guarded.body.includes('ECONNREFUSED'), "the store's own error is not sent to the client")
    t.equal((await send(app, jar, 'GET', '/fresh')).statusCode, 503, 'the fresh guard too')
    const page = await send(app, jar, 'GET', '/public')
    t.same([page.statusCode, page.json()], [200, { authenticated: false }], 'a page that needs no user answers, as anonymous')
    t.equal(setCookie(page, '__Host-session'), undefined, 'and the session cookie is left alone')

    const loginRes = await app.inject({ method: 'POST', url: '/login/2' })
    t.equal(loginRes.statusCode, 503, 'a login cannot be made')
    t.equal(setCookie(loginRes, '__Host-session'), undefined, 'and sets no cookie pointing at nothing')

    const other = await loggedIn(app, '2').catch((err: Error) => err)
    t.ok(other instanceof Error, 'no login while down')

    state.down = false
    t.equal((await send(app, jar, 'GET', '/private')).statusCode, 200, 'back up: the session works again')
    t.same(unhandled, [], 'no unhandled rejection')
  })
}

t.test('logout while the store is down clears this browser and says 503', async (t) => {
  const { store, state } = flakyStore('reject')
  const { app } = await buildApp({ store })
  t.teardown(() => app.close())
  const jar = await loggedIn(app, '1')
  const copy = jar.header()
  state.down = true
  const out = await send(app, jar, 'POST', '/logout')
  t.equal(out.statusCode, 503, 'the server-side end could not be made')
  t.equal((await me(app, jar)).authenticated, false, 'but this browser is logged out')
  state.down = false
  // The record survived the outage: the copy still works until a timeout or a revoke ends it.
  t.equal((await app.inject({ url: '/private', headers: { cookie: copy } })).statusCode, 200, 'the record survived (documented)')
  t.equal(await app.loginSessions.revokeAll('1'), 1, 'revokeAll ends it')
  t.equal((await app.inject({ url: '/private', headers: { cookie: copy } })).statusCode, 401)
})

t.test('fastify.loginSessions rejects with FST_LOGIN_STORE_UNAVAILABLE while the store is down', async (t) => {
  const { store, state } = flakyStore('throw')
  const { app } = await buildApp({ store })
  t.teardown(() => app.close())
  await loggedIn(app, '1')
  state.down = true
  await t.rejects(app.loginSessions.list('1'), { code: 'FST_LOGIN_STORE_UNAVAILABLE' })
  await t.rejects(app.loginSessions.revoke('1', 'a'.repeat(43)), { code: 'FST_LOGIN_STORE_UNAVAILABLE' })
  await t.rejects(app.loginSessions.revokeAll('1'), { code: 'FST_LOGIN_STORE_UNAVAILABLE' })
  t.equal(new CookieJar().header(), '')
})
