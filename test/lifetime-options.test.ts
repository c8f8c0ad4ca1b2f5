import t from 'tap'
import { MemoryStore } from '../lib/index.js'
import type { FastifyLoginOptions } from '../lib/index.js'
import { buildApp, loggedIn, me, rejectsOption, TEST_KEY } from './helpers.js'

/* The lifetime options are checked while the plugin registers: a mistake stops ready(). */

const base: FastifyLoginOptions = { session: { key: TEST_KEY }, loadUser: () => null }

t.test('bad lifetime options fail at registration, naming the option', async (t) => {
  const cases: Array<[string, Partial<FastifyLoginOptions>, RegExp]> = [
    ['idleTimeout 0', { idleTimeout: 0 }, /idleTimeout must be/],
    ['idleTimeout garbage', { idleTimeout: 'soon' }, /idleTimeout must be/],
    ['idleTimeout true', { idleTimeout: true as unknown as false }, /idleTimeout must be/],
    ['absoluteTimeout negative', { absoluteTimeout: -5 }, /absoluteTimeout must be/],
    ['freshFor fractional', { freshFor: 1.5 }, /freshFor must be/],
    ['touchInterval false', { touchInterval: false as unknown as string }, /touchInterval must be/],
    ['touchInterval as long as idleTimeout', { idleTimeout: '10m', touchInterval: '10m' }, /touchInterval \(600 s\) must be shorter than idleTimeout \(600 s\)/],
    ['clock not a function', { clock: 5 as unknown as () => number }, /clock must be a function/],
    ['authVersion not a function', { authVersion: 'v1' as unknown as () => string }, /authVersion must be a function/],
    ['store null', { store: null as unknown as false }, /store must be a LoginStore/],
    ['store a string', { store: 'redis://localhost' as unknown as false }, /store must be a LoginStore/],
    ['store missing methods', { store: { get () {}, set () {} } as never }, /store is missing the LoginStore methods delete, compareAndSet, increment, keysOfUser, deleteUser/],
    ['store missing one method', { store: Object.assign(Object.create(null), { ...Object.fromEntries(['get', 'set', 'delete', 'compareAndSet', 'increment', 'keysOfUser'].map((m) => [m, () => null])) }) }, /store is missing the LoginStore method deleteUser$/],
    ['a misspelt option', { idleTimeOut: '5m' } as never, /unknown option idleTimeOut: did you mean idleTimeout\?/]
  ]
  for (const [label, options, message] of cases) {
    await rejectsOption(t, { ...base, ...options } as FastifyLoginOptions, message, { message: label })
  }
})

t.test('touchInterval may be anything when idleTimeout is off', async (t) => {
  const { app } = await buildApp({ idleTimeout: false, touchInterval: '1d' })
  t.teardown(() => app.close())
  t.equal((await me(app, await loggedIn(app, '1'))).authenticated, true)
})

t.test('a store given by the app is used, and closed with the app', async (t) => {
  let closed = 0
  const store = new MemoryStore()
  const close = store.close.bind(store)
  store.close = () => { closed++; close() }
  const { app } = await buildApp({ store })
  await loggedIn(app, '1')
  t.equal(store.keysOfUser('1').length, 1, 'the login went into the given store')
  await app.close()
  t.equal(closed, 1, 'app.close() closes the store')
})

t.test('with session: false the store still exists (API sessions live there) and lists no browser sessions', async (t) => {
  const { app } = await buildApp({ session: false, loadUser: undefined, loadUserFromRequest: () => null })
  t.teardown(() => app.close())
  t.same(await app.loginSessions.list('1'), [])
  t.equal(await app.loginSessions.revokeAll('1'), 0)
})

t.test('with store: false, loginSessions has nothing to read and says so', async (t) => {
  const { app } = await buildApp({ store: false })
  t.teardown(() => app.close())
  await t.rejects(app.loginSessions.list('1'), { code: 'FST_LOGIN_SESSIONS_DISABLED' })
})
