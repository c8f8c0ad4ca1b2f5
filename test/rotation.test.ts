import t from 'tap'
import { MemoryStore, type LoginStore, type StoreValue } from '../lib/index.js'
import { graceKeys, openAnswer, sealAnswer } from '../lib/rotation/answer.js'
import { firstFields, rotate, secretHash, standingOf, type RotatingRecord, type Rotation } from '../lib/rotation/rotate.js'

/*
 * The rotation model itself (lib/rotation/rotate.ts), under what the
 * remember-me and refresh tests cannot easily make happen: a grace answer
 * that does not open, a store that keeps losing the compare-and-set, and
 * sealed answers handled with the wrong secret or cut short.
 */

const NOW = 1_800_000_000_000
const KEY = 'rot:{dQ}:x'
const KEYS = graceKeys([Buffer.from('server key one'), Buffer.from('server key two')])
const isRecord = (value: StoreValue | null): value is RotatingRecord => value !== null && value.u === 'u'

function rotation (store: LoginStore, secret: string, overrides: Partial<Rotation<RotatingRecord, { next: string }>> = {}): Rotation<RotatingRecord, { next: string }> {
  return {
    store,
    key: KEY,
    secret,
    graceMs: 30_000,
    graceKeys: KEYS,
    clock: () => NOW,
    isRecord,
    successor: async () => ({ secret: 'second', answer: { next: 'second' }, record: {} }),
    discard: async () => {},
    options: () => ({ ttlMs: 60_000, userId: 'u' }),
    ...overrides
  }
}

t.test('a sealed answer opens only with its secret and a server key, and only whole', async (t) => {
  const sealed = sealAnswer({ a: 'b' }, 'secret', KEYS)
  t.same(openAnswer(sealed, 'secret', KEYS), { a: 'b' })
  t.same(openAnswer(sealed, 'secret', graceKeys([Buffer.from('new key'), Buffer.from('server key one')])), { a: 'b' }, 'after a key rotation (the old key second)')
  t.equal(openAnswer(sealed, 'secret', graceKeys([Buffer.from('another server')])), null, 'the secret alone (from a token in a log) does not open it')
  t.equal(openAnswer(sealed, 'other', KEYS), null, 'another secret')
  t.equal(openAnswer(sealed.slice(0, 30), 'secret', KEYS), null, 'cut short')
  t.equal(openAnswer('', 'secret', KEYS), null, 'empty')
  t.equal(openAnswer(sealAnswer(['x'] as unknown as StoreValue, 'secret', KEYS), 'secret', KEYS), null, 'not an object')
})

t.test('standing: current, graced within the grace only, reused otherwise', async (t) => {
  const record = { ...firstFields('u', 'second', NOW), p: secretHash('first'), g: 'sealed' }
  t.equal(standingOf(record, 'second', NOW, 30_000), 'current')
  t.equal(standingOf(record, 'first', NOW + 29_999, 30_000), 'graced')
  t.equal(standingOf(record, 'first', NOW + 30_000, 30_000), 'reused', 'at the end of the grace')
  t.equal(standingOf(record, 'first', NOW, 0), 'reused', 'no grace')
  t.equal(standingOf({ ...record, g: null }, 'first', NOW, 30_000), 'reused', 'no answer kept')
  t.equal(standingOf(record, 'older', NOW, 30_000), 'reused', 'any other secret')
})

t.test('a grace answer that does not open with the secret whose hash matched is refused as reuse', async (t) => {
  const store = new MemoryStore({ clock: () => NOW })
  store.set(KEY, { ...firstFields('u', 'second', NOW), p: secretHash('first'), g: sealAnswer({ next: 'second' }, 'not-first', KEYS) }, { ttlMs: 60_000, userId: 'u' })
  const outcome = await rotate(rotation(store, 'first'))
  t.equal(outcome.kind, 'reused')
})

t.test('a record that keeps changing under the rotation gives up with a 503 and discards each successor', async (t) => {
  const inner = new MemoryStore({ clock: () => NOW })
  inner.set(KEY, firstFields('u', 'first', NOW), { ttlMs: 60_000, userId: 'u' })
  const store: LoginStore = {
    get: (key) => inner.get(key),
    set: (key, value, options) => inner.set(key, value, options),
    delete: (key) => inner.delete(key),
    compareAndSet: (() => false) as LoginStore['compareAndSet'],
    increment: (key, options) => inner.increment(key, options),
    keysOfUser: (userId) => inner.keysOfUser(userId),
    deleteUser: (userId) => inner.deleteUser(userId)
  }
  let discarded = 0
  await t.rejects(async () => await rotate(rotation(store, 'first', { discard: async () => { discarded++ } })), { code: 'FST_LOGIN_STORE_UNAVAILABLE', statusCode: 503 })
  t.equal(discarded, 5, 'every successor made was discarded')
})

t.test('accept() false refuses before any successor is made', async (t) => {
  const store = new MemoryStore({ clock: () => NOW })
  store.set(KEY, firstFields('u', 'first', NOW), { ttlMs: 60_000, userId: 'u' })
  let made = 0
  const outcome = await rotate(rotation(store, 'first', { accept: () => false, successor: async () => { made++; return { secret: 's', answer: { next: 's' }, record: {} } } }))
  t.equal(outcome.kind, 'refused')
  t.equal(made, 0)
  t.same(store.get(KEY), firstFields('u', 'first', NOW), 'the record is unchanged')
})

t.test('a store that fails at the swap: the error is the store\'s (503), also when undoing the successor fails too', async (t) => {
  const inner = new MemoryStore({ clock: () => NOW })
  inner.set(KEY, firstFields('u', 'first', NOW), { ttlMs: 60_000, userId: 'u' })
  const failing = (mode: 'sync' | 'async'): LoginStore => ({
    get: (key) => inner.get(key),
    set: (key, value, options) => inner.set(key, value, options),
    delete: (key) => inner.delete(key),
    compareAndSet: (() => {
      if (mode === 'sync') throw new Error('connection lost')
      return Promise.reject(new Error('connection lost'))
    }) as LoginStore['compareAndSet'],
    increment: (key, options) => inner.increment(key, options),
    keysOfUser: (userId) => inner.keysOfUser(userId),
    deleteUser: (userId) => inner.deleteUser(userId)
  })
  for (const mode of ['sync', 'async'] as const) {
    for (const discard of [() => { throw new Error('undo failed') }, async () => { throw new Error('undo failed') }, () => {}]) {
      await t.rejects(async () => await rotate(rotation(failing(mode), 'first', { discard })), { code: 'FST_LOGIN_STORE_UNAVAILABLE' }, `${mode} store, ${discard.constructor.name} undo`)
    }
  }
  t.same(inner.get(KEY), firstFields('u', 'first', NOW), 'the record is unchanged')
})
