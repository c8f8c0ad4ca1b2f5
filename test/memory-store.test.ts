import { setImmediate as tick, setTimeout as sleep } from 'node:timers/promises'
import { isDeepStrictEqual } from 'node:util'
import t from 'tap'
import { MemoryStore, type LoginStore, type StoreSetOptions, type StoreValue } from '../lib/index.js'
import { runStoreContract, type ContractTest } from '../lib/testing/index.js'
import { jsonEqual } from '../lib/store/json-equal.js'
import { asyncStore } from './helpers.js'

/*
 * MemoryStore: the store contract (directly, behind promises, and the
 * contract's own power to catch a racy store), then what only MemoryStore
 * does: the cluster warning, the sweep, option checks and key kinds.
 */

const MINUTE = { ttlMs: 60_000 }

t.test('MemoryStore passes the store contract', async (t) => {
  await runStoreContract((name, fn) => t.test(name, fn), ({ clock }) => new MemoryStore({ clock, sweepInterval: false }))
})

t.test('behind promises, as a networked store answers, it passes the contract too', async (t) => {
  await runStoreContract((name, fn) => t.test(name, fn), ({ clock }) => asyncStore(new MemoryStore({ clock })), { parallel: 8 })
})

t.test('the contract catches a compareAndSet that reads, waits, then writes', async (t) => {
  const racy = (inner: LoginStore): LoginStore => ({
    ...asyncStore(inner),
    async compareAndSet (key: string, expected: StoreValue | null, next: StoreValue | null, options?: StoreSetOptions) {
      const current = await inner.get(key)
      await tick()
      const matches = current === null || expected === null ? current === expected : jsonEqual(current, expected)
      if (!matches) return false
      if (next === null) await inner.delete(key)
      else await inner.set(key, next, options as StoreSetOptions)
      return true
    }
  })
  // A node:test-style adapter: assertions that record failures instead of throwing.
  const failed = new Set<string>()
  const recording: ContractTest = async (name, fn) => {
    const check = (pass: boolean): void => { if (!pass) failed.add(name) }
    await fn({ equal: (a, b) => check(a === b), same: (a, b) => check(isDeepStrictEqual(a, b)) })
  }
  await runStoreContract(recording, ({ clock }) => racy(new MemoryStore({ clock, sweepInterval: false })))
  t.same([...failed], ['store contract: of parallel compareAndSet calls, exactly one wins'], 'only the race check fails')
})

t.test('jsonEqual compares as JSON', async (t) => {
  t.ok(jsonEqual({ a: [1, { b: null }] }, { a: [1, { b: null }] }))
  t.notOk(jsonEqual({ a: [1] }, { a: [1, 2] }), 'arrays of other lengths')
  t.notOk(jsonEqual({ a: [1] }, { a: { 0: 1 } }), 'an array is not an object')
  t.notOk(jsonEqual({ a: { 0: 1 } }, { a: [1] }), 'nor the other way round')
  t.notOk(jsonEqual({ a: 1 }, { b: 1 }), 'the same number of other keys')
  t.notOk(jsonEqual({ a: null }, { a: {} }), 'null is not an object')
})

t.test('in a cluster worker it warns once, at construction', async (t) => {
  const warnings: string[] = []
  const store = new MemoryStore({ clusterWorker: true, warn: (message) => warnings.push(message), sweepInterval: false })
  store.set('k', { n: 1 }, MINUTE)
  store.get('k')
  t.equal(warnings.length, 1, 'one warning')
  t.match(warnings[0], /cluster worker: the other workers will not see its sessions/)
  new MemoryStore({ clusterWorker: false, warn: (message) => warnings.push(message), sweepInterval: false }).close()
  new MemoryStore({ warn: (message) => warnings.push(message), sweepInterval: false }).close()
  t.equal(warnings.length, 1, 'none outside a worker (tap runs this file in the primary)')

  const emitted = new Promise<Error>((resolve) => process.once('warning', resolve))
  new MemoryStore({ clusterWorker: true, sweepInterval: false }).close()
  const warning = await emitted as Error & { code?: string }
  t.equal(warning.code, 'FST_LOGIN_MEMORY_STORE_CLUSTER', 'by default a process warning with a code')
})

t.test('the sweep frees expired keys nobody reads, a batch at a time, and stops on close', async (t) => {
  let now = 1_000_000
  const store = new MemoryStore({ clock: () => now, sweepInterval: 2 })
  t.teardown(() => store.close())
  for (let i = 0; i < 2500; i++) store.set(`s:${i}`, { i }, { ttlMs: 1000, userId: i % 2 === 0 ? 'even' : undefined })
  store.set('kept', { n: 1 }, { ...MINUTE, userId: 'even' })
  now += 1000
  t.equal(store.size, 2501, 'expired keys are held until something reclaims them')
  for (let waited = 0; store.size > 1 && waited < 5000; waited += 10) await sleep(10)
  t.equal(store.size, 1, 'the sweep reclaimed them without a read (over several batches)')
  t.same(store.keysOfUser('even'), ['kept'], 'and took them out of the index')

  store.close()
  store.close()
  store.set('late', { n: 1 }, { ttlMs: 1 })
  now += 1
  await sleep(20)
  t.equal(store.size, 2, 'after close() nothing sweeps')
  t.equal(store.get('late'), null, 'expiry still holds on read')
  t.equal(store.size, 1, 'and the read reclaims the key')
})

t.test('the sweep timer does not keep the process alive', async (t) => {
  const timers = (): number => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length
  const before = timers()
  const store = new MemoryStore()
  t.equal(timers(), before, 'the default sweep adds no timer that holds the event loop')
  store.close()
})

t.test('ttlMs must be a positive integer', async (t) => {
  const store = new MemoryStore({ sweepInterval: false })
  for (const ttlMs of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '1000', undefined]) {
    t.throws(() => store.set('k', { n: 1 }, { ttlMs } as any), RangeError, `set refuses ttlMs ${String(ttlMs)}`)
  }
  t.throws(() => store.increment('c', { ttlMs: 0 }), RangeError, 'so does increment')
  t.throws(() => (store.compareAndSet as any)('k', { n: 0 }, { n: 1 }), /ttlMs must be a positive integer/,
    'compareAndSet with a next value needs options, even when it would not swap')
  t.equal(store.size, 0, 'nothing was stored')
})

t.test('a key holds a value or a counter, never both', async (t) => {
  const store = new MemoryStore({ sweepInterval: false })
  store.increment('c', MINUTE)
  store.set('v', { n: 1 }, MINUTE)
  t.throws(() => store.get('c'), TypeError, 'get of a counter throws')
  t.throws(() => store.compareAndSet('c', null, { n: 1 }, MINUTE), /holds a counter/, 'so does compareAndSet')
  t.throws(() => store.increment('v', MINUTE), /holds a value, not a counter/, 'increment of a value throws')
  t.equal(store.delete('c'), true, 'delete takes either')
})

t.test('a sweep frees every expired key in one pass, a batch per turn of the event loop, and stops when closed', async (t) => {
  let now = 1_000_000
  const store = new MemoryStore({ clock: () => now, sweepInterval: 1 })
  t.teardown(() => store.close())
  for (let i = 0; i < 5000; i++) store.set(`s:${i}`, { i }, { ttlMs: 1000 })
  now += 1000
  // Wait (turns of the event loop, no clock) until the first batch is done, then close during the pass.
  while (store.size === 5000) await tick()
  const during = store.size
  t.ok(during < 5000 && during >= 5000 - 1000, `one batch of at most 1000 freed in one turn (${5000 - during})`)
  store.close()
  for (let i = 0; i < 10; i++) await tick()
  t.equal(store.size, during, 'after close() the pass stops where it was')
})
