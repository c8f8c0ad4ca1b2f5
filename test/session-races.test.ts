import t, { type Test } from 'tap'
import { MemoryStore, type LoginStore, type SessionEndedEvent, type StoreSetOptions, type StoreValue } from '../lib/index.js'
import { buildApp, loggedIn, me, send, heldPoint, type HeldPoint } from './helpers.js'

/*
 * Requests of one session running truly in parallel: a touch must not bring
 * back a session that a logout (another tab) deleted meanwhile; a confirm
 * racing a touch still confirms; two requests finding a session timed out
 * report it once. The store answers asynchronously, as Redis does, and a
 * gate holds one chosen write so that the interleaving is the one under test.
 */

const MINUTE = 60_000

/** An async MemoryStore whose next compareAndSet can be held at a gate until released. */
function gatedStore (clock: () => number) {
  const inner = new MemoryStore({ clock })
  let gate: HeldPoint | null = null
  const later = async <T>(fn: () => T): Promise<T> => { await new Promise((resolve) => setImmediate(resolve)); return fn() }
  const store: LoginStore = {
    get: (key) => later(() => inner.get(key)),
    set: (key, value, options) => later(() => inner.set(key, value, options)),
    delete: (key) => later(() => inner.delete(key)),
    compareAndSet: async (key: string, expected: StoreValue | null, next: any, options?: StoreSetOptions) => {
      const held = gate
      gate = null
      if (held !== null) {
        held.reached()
        await held.wait
      }
      return await later(() => inner.compareAndSet(key, expected, next, options as StoreSetOptions))
    },
    increment: (key, options) => later(() => inner.increment(key, options)),
    keysOfUser: (userId) => later(() => inner.keysOfUser(userId)),
    deleteUser: (userId) => later(() => inner.deleteUser(userId))
  }
  /** Holds the next compareAndSet; resolves `reached` once it is waiting; call `release()` to let it go on. */
  const hold = (): HeldPoint => {
    gate = heldPoint()
    return gate
  }
  return { store, inner, hold }
}

async function raceApp (t: Test) {
  let now = Date.parse('2026-12-02T08:00:00Z')
  const clock = (): number => now
  const { store, inner, hold } = gatedStore(clock)
  const ended: SessionEndedEvent[] = []
  const { app } = await buildApp({ store, clock, idleTimeout: '30m' }, (app) => {
    app.loginEvents.on('sessionEnded', (event) => { ended.push(event) })
  })
  t.teardown(() => app.close())
  return { app, inner, hold, ended, advance: (ms: number) => { now += ms } }
}

t.test('a touch racing a logout does not bring the session back', async (t) => {
  const { app, inner, hold, advance } = await raceApp(t)
  const jar = await loggedIn(app, '1')
  const copy = jar.header()
  advance(2 * MINUTE) // the next request touches the record

  const gate = hold()
  const touching = app.inject({ url: '/me', headers: { cookie: copy } })
  await gate.arrived // it read the record and waits to write the new lastSeenAt
  const out = await send(app, jar, 'POST', '/logout')
  t.equal(out.statusCode, 200, 'the logout (another tab) finishes first')
  gate.release()
  t.equal((await touching).json().authenticated, false, 'the touching request finds the session gone at its write: it answers as anonymous')

  t.same(inner.keysOfUser('1'), [], 'its write did not recreate the record')
  t.equal((await app.inject({ url: '/private', headers: { cookie: copy } })).statusCode, 401, 'the session stays ended')
})

t.test('confirmLogin() racing another tab\'s touch still confirms', async (t) => {
  const { app, hold, advance } = await raceApp(t)
  const jar = await loggedIn(app, '1', { fresh: false })
  advance(2 * MINUTE)
  const gate = hold()
  const confirming = send(app, jar, 'POST', '/confirm') // its own touch is held at the gate
  await gate.arrived
  // Meanwhile another tab touches the record, so the held write finds it changed.
  advance(1000)
  t.equal((await app.inject({ url: '/me', headers: { cookie: jar.header() } })).json().authenticated, true)
  gate.release()
  t.same((await confirming).json(), { confirmed: true }, 'the confirm retried on the record as it is now')
  t.equal((await me(app, jar)).fresh, true, 'and the login is fresh')
})

t.test('twenty parallel requests when a touch is due: all served, one record, still logged in', async (t) => {
  const { app, inner, advance } = await raceApp(t)
  const jar = await loggedIn(app, '1')
  advance(2 * MINUTE)
  const results = await Promise.all(Array.from({ length: 20 }, () => app.inject({ url: '/private', headers: { cookie: jar.header() } })))
  t.same(results.map((res) => res.statusCode), Array(20).fill(200))
  t.equal(inner.keysOfUser('1').length, 1, 'one record')
  const [session] = await app.loginSessions.list('1')
  t.equal(session?.lastSeenAt.toISOString(), '2026-12-02T08:02:00.000Z', 'touched')
})

t.test('two requests finding the session timed out report it once', async (t) => {
  const { app, ended, advance } = await raceApp(t)
  const jar = await loggedIn(app, '1')
  advance(31 * MINUTE)
  const results = await Promise.all([1, 2, 3].map(() => app.inject({ url: '/private', headers: { cookie: jar.header() } })))
  t.same(results.map((res) => res.statusCode), [401, 401, 401])
  t.same(ended.map((event) => event.reason), ['idle'], 'one sessionEnded')
})
