import { randomUUID } from 'node:crypto'
import Redis from 'ioredis'
import t from 'tap'
import { RedisStore, userTag, type RedisLikeClient } from '../lib/redis/index.js'
import { READ } from '../lib/store/redis-scripts.js'
import { connected, startRedis } from './redis-server.js'

/*
 * RedisStore's local cache: two stores with their own clients on one server,
 * as two app processes would be. What one changes, the other must stop
 * serving from its cache soon (pub/sub), a read in flight must not cache a
 * stale answer, and nothing is cached while the subscriber is down.
 */

const MINUTE = { ttlMs: 60_000 }
let url: string
let admin: Redis
t.before(async () => {
  const server = await startRedis()
  t.teardown(server.stop)
  url = server.url
  admin = new Redis(url)
  t.teardown(() => admin.disconnect())
  await connected(admin)
})

/** A client for one store that counts its reads and can hold their answers; `subscriber` is the store's own connection. */
interface Spy {
  client: RedisLikeClient
  reads: number
  subscriber: Redis | undefined
  /** When set, a read's answer waits for it (after Redis has answered) and `answered` is called first. */
  hold: { gate: Promise<void>, answered: () => void } | undefined
  /** The key prefix of the store using this client. */
  prefix: string
}

async function spyClient (): Promise<Spy> {
  const real = new Redis(url)
  t.teardown(() => real.disconnect())
  await connected(real)
  const read = async (isRead: boolean, sent: Promise<unknown>): Promise<unknown> => {
    const answer = await sent
    if (isRead) {
      spy.reads++
      const hold = spy.hold
      if (hold !== undefined) { hold.answered(); await hold.gate }
    }
    return answer
  }
  const spy: Spy = {
    reads: 0,
    subscriber: undefined,
    hold: undefined,
    prefix: '',
    client: {
      get status () { return real.status },
      evalsha: async (sha, ...rest) => await read(sha === READ.sha, real.evalsha(sha, ...rest)),
      // A new server answers NOSCRIPT to the first EVALSHA; the store then sends the script itself.
      eval: async (lua, ...rest) => await read(lua === READ.lua, real.eval(lua, ...rest)),
      duplicate: () => (spy.subscriber = real.duplicate())
    }
  }
  return spy
}

/**
 * Runs `write` and, when it replaces a key that was there, waits until its
 * message reached `spy`'s store, so that it cannot drop an entry cached
 * afterwards. Writing a new key sends no message (no process can have cached
 * an absent key): that is checked too.
 */
async function announcedTo (spy: Spy, key: string, write: () => Promise<unknown>): Promise<void> {
  const existed = await admin.exists(spy.prefix + key) === 1
  const messages: string[] = []
  const listener = (_channel: string, message: string): void => { messages.push(message) }
  spy.subscriber?.on('message', listener)
  const message = messageFor(spy, key)
  await write()
  if (existed) {
    await message
  } else {
    // A message would arrive after the write's own answer; a PING through the subscriber comes back after it.
    await (spy.subscriber as Redis).ping()
    if (messages.includes(key)) throw new Error(`writing the new key ${key} sent an invalidation message`)
  }
  spy.subscriber?.off('message', listener)
}

async function poll (what: string, ms: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms
  while (!await check()) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
}

/** Two stores on one prefix, each with its own client and cache, both active. */
async function pair (options: { clock?: () => number, localCache?: { max?: number, ttlMs?: number } } = {}): Promise<{ a: RedisStore, b: RedisStore, spyA: Spy }> {
  const prefix = `cache-${randomUUID().slice(0, 8)}:`
  const spyA = await spyClient()
  const spyB = await spyClient()
  spyA.prefix = prefix
  spyB.prefix = prefix
  const a = new RedisStore({ client: spyA.client, prefix, ...options })
  const b = new RedisStore({ client: spyB.client, prefix, ...options })
  t.teardown(() => { a.close(); b.close() })
  await poll('both caches active', 2000, async () => a.localCacheActive && b.localCacheActive)
  return { a, b, spyA }
}

/** The message for `key` on the store's subscriber; our listener runs after the store's own, so the store has acted on it. */
function messageFor (spy: Spy, key: string): Promise<void> {
  return new Promise((resolve) => {
    const listener = (_channel: string, message: string): void => {
      if (message !== key) return
      spy.subscriber?.off('message', listener)
      resolve()
    }
    spy.subscriber?.on('message', listener)
  })
}

t.test('what another store changes, this one stops serving from its cache within a second', async (t) => {
  const { a, b, spyA } = await pair()
  const key = `s:${userTag('u')}:1`
  await announcedTo(spyA, key, () => b.set(key, { v: 1 }, { ...MINUTE, userId: 'u' }))
  t.same(await a.get(key), { v: 1 })
  t.same(await a.get(key), { v: 1 })
  t.equal(spyA.reads, 1, 'the second get is answered from the cache')
  const copy = await a.get(key) as { v: number }
  copy.v = 99
  t.same(await a.get(key), { v: 1 }, 'a cached answer is a copy too')

  await b.set(key, { v: 2 }, { ...MINUTE, userId: 'u' })
  await poll('set seen', 1000, async () => (await a.get(key))?.v === 2)
  t.pass('a set elsewhere is seen')
  await b.compareAndSet(key, { v: 2 }, { v: 3 }, { ...MINUTE, userId: 'u' })
  await poll('compareAndSet seen', 1000, async () => (await a.get(key))?.v === 3)
  t.pass('so is a compareAndSet')
  await b.delete(key)
  await poll('delete seen', 1000, async () => (await a.get(key)) === null)
  t.pass('and a delete')

  await b.set(key, { v: 4 }, { ...MINUTE, userId: 'u' })
  await b.set(`s:${userTag('u')}:2`, { v: 5 }, { ...MINUTE, userId: 'u' })
  t.same(await a.get(key), { v: 4 })
  t.same(await a.get(`s:${userTag('u')}:2`), { v: 5 })
  t.equal(await b.deleteUser('u'), 2)
  await poll('deleteUser seen', 1000, async () => (await a.get(key)) === null && (await a.get(`s:${userTag('u')}:2`)) === null)
  t.pass('and every key of a deleteUser')

  const twice = await Promise.all([a.get(`s:${userTag('u')}:3`), a.get(`s:${userTag('u')}:3`)])
  t.same(twice, [null, null], 'two reads of one key in flight at once')

  await a.set(key, { v: 6 }, MINUTE)
  t.same(await a.get(key), { v: 6 })
  await a.set(key, { v: 7 }, MINUTE)
  t.same(await a.get(key), { v: 7 }, "the store's own writes drop its entry at once")
})

t.test('a get in flight when its key is invalidated does not cache its (stale) answer', async (t) => {
  const { a, b, spyA } = await pair()
  await b.set('k', { v: 'old' }, MINUTE)
  // Hold A's read after Redis answered 'old', until B's change has been announced to A.
  let release = (): void => {}
  let answered = (): void => {}
  const readDone = new Promise<void>((resolve) => { answered = resolve })
  spyA.hold = { gate: new Promise((resolve) => { release = resolve }), answered }
  const inFlight = a.get('k')
  await readDone
  spyA.hold = undefined
  const announced = messageFor(spyA, 'k')
  await b.set('k', { v: 'new' }, MINUTE)
  await announced
  release()
  t.same(await inFlight, { v: 'old' }, 'the read answers what Redis held when it read')
  const before = spyA.reads
  t.same(await a.get('k'), { v: 'new' }, 'the next get sees the change: the old answer was not cached')
  t.equal(spyA.reads, before + 1, 'it asked Redis')
})

t.test('a get in flight when the subscriber drops does not cache its answer', async (t) => {
  const { a, spyA } = await pair()
  await announcedTo(spyA, 'drop-k', () => a.set('drop-k', { v: 1 }, MINUTE))
  let release = (): void => {}
  let answered = (): void => {}
  const readDone = new Promise<void>((resolve) => { answered = resolve })
  spyA.hold = { gate: new Promise((resolve) => { release = resolve }), answered }
  const inFlight = a.get('drop-k')
  await readDone
  spyA.hold = undefined
  const subscriber = spyA.subscriber as Redis
  const closed = new Promise((resolve) => subscriber.once('close', resolve))
  await admin.client('KILL', 'TYPE', 'pubsub')
  await closed
  release()
  t.same(await inFlight, { v: 1 })
  await poll('subscriber back', 3000, async () => a.localCacheActive)
  const reads = spyA.reads
  await a.get('drop-k')
  t.equal(spyA.reads, reads + 1, 'the answer read across the drop was not cached (a message may have been lost)')
})

t.test('while the subscriber is down the cache is empty and unused', async (t) => {
  const { a, spyA } = await pair()
  await announcedTo(spyA, 'down-k', () => a.set('down-k', { v: 1 }, MINUTE))
  t.same(await a.get('down-k'), { v: 1 })
  const record = (await admin.keys('cache-*:down-k'))[0] as string
  const subscriber = spyA.subscriber as Redis
  const seen: Array<[string, boolean]> = []
  for (const event of ['close', 'ready']) subscriber.on(event, () => seen.push([event, a.localCacheActive]))
  // A change nobody announces, as one made while the subscriber is down would be: its message is lost.
  await admin.hset(record, 'v', JSON.stringify({ v: 2 }))
  t.same(await a.get('down-k'), { v: 1 }, 'the cached answer, before the drop')
  const closed = new Promise((resolve) => subscriber.once('close', resolve))
  await admin.client('KILL', 'TYPE', 'pubsub')
  await closed
  await poll('subscriber back', 3000, async () => a.localCacheActive)
  t.same(seen, [['close', false], ['ready', false]], 'off as soon as the connection closed, still off when it is back but not yet subscribed')
  const reads = spyA.reads
  t.same(await a.get('down-k'), { v: 2 }, 'once back, the cache starts empty: no lost message is trusted')
  t.equal(spyA.reads, reads + 1, 'that answer came from Redis')
  const announced = messageFor(spyA, 'down-k')
  await admin.publish(record.slice(0, -'down-k'.length) + 'invalidate', 'down-k')
  await announced
  t.pass('and invalidations arrive again after resubscribing')
})

t.test('entries live ttlMs at most, never past the record, and the oldest go first', async (t) => {
  let now = Date.now()
  const { a, b, spyA } = await pair({ clock: () => now, localCache: { max: 2, ttlMs: 1000 } })
  await announcedTo(spyA, 'k1', () => b.set('k1', { n: 1 }, MINUTE))
  await announcedTo(spyA, 'k2', () => b.set('k2', { n: 2 }, MINUTE))
  await announcedTo(spyA, 'k3', () => b.set('k3', { n: 3 }, { ttlMs: 500 }))
  const reads = (): number => spyA.reads
  await a.get('k1')
  now += 999
  await a.get('k1')
  t.equal(reads(), 1, 'a hit before ttlMs')
  now += 1
  await a.get('k1')
  t.equal(reads(), 2, 'a miss once ttlMs has passed')
  await a.get('k3')
  now += 500
  t.equal(await a.get('k3'), null, 'never served past the record\'s own expiry')
  t.equal(reads(), 4)
  await a.get('k2')
  await a.get('k1')
  t.equal(reads(), 5, 'k1 is still cached')
  await a.get('k3')
  await a.get('k2')
  t.equal(reads(), 6, 'a null answer is not cached, k2 is')
  await announcedTo(spyA, 'k3', () => b.set('k3', { n: 3 }, MINUTE))
  await a.get('k3')
  await a.get('k1')
  t.equal(reads(), 8, 'a third entry pushed out k1, the least recently used')
})

t.test('invalidation delay over 200 revocations (reported, not asserted)', async (t) => {
  const { a, b, spyA } = await pair()
  const sinceCall: number[] = []
  const sinceAnswer: number[] = []
  for (let i = 0; i < 200; i++) {
    const key = `s:${userTag('u' + i)}:x`
    await announcedTo(spyA, key, () => b.set(key, { i }, MINUTE))
    await a.get(key)
    const announced = messageFor(spyA, key)
    const start = performance.now()
    await b.delete(key)
    const answered = performance.now()
    await announced
    const dropped = performance.now()
    sinceCall.push(dropped - start)
    sinceAnswer.push(dropped - answered)
  }
  const pct = (list: number[], p: number): string => ([...list].sort((x, y) => x - y)[Math.ceil(list.length * p) - 1] as number).toFixed(2)
  t.comment(`invalidation delay, from B's delete call to A dropping the entry: p50 ${pct(sinceCall, 0.5)} ms, p99 ${pct(sinceCall, 0.99)} ms`)
  t.comment(`from B's delete answered: p50 ${pct(sinceAnswer, 0.5)} ms, p99 ${pct(sinceAnswer, 0.99)} ms`)
  t.equal(sinceCall.length, 200)
})
