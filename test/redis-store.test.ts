import { randomUUID } from 'node:crypto'
import Redis from 'ioredis'
import t from 'tap'
import { RedisStore, userTag, type RedisLikeClient } from '../lib/redis/index.js'
import { runStoreContract } from '../lib/testing/index.js'
import { canonicalJson, hashTagOf } from '../lib/store/keys.js'
import { connected, startRedis } from './redis-server.js'

/*
 * RedisStore on one real redis-server: the store contract with and without
 * the local cache, then what only RedisStore does: key layout and TTLs,
 * slots, option checks, and leaving the app's client alone.
 */

const MINUTE = { ttlMs: 60_000 }
let client: Redis
t.before(async () => {
  const server = await startRedis()
  t.teardown(server.stop)
  client = new Redis(server.url)
  t.teardown(() => client.disconnect())
  await connected(client)
})

const prefix = (): string => `t-${randomUUID().slice(0, 8)}:`

/** Resolves once the store's cache is in use (its subscription confirmed). */
async function cacheActive (store: RedisStore): Promise<RedisStore> {
  for (let waited = 0; !store.localCacheActive; waited += 5) {
    if (waited > 2000) throw new Error('the local cache never came on')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  return store
}

t.test('RedisStore passes the store contract (no local cache)', async (t) => {
  await runStoreContract((name, fn) => t.test(name, fn), ({ clock }) => new RedisStore({ client, clock, prefix: prefix(), localCache: false }))
})

t.test('RedisStore passes the store contract with its local cache on', async (t) => {
  await runStoreContract((name, fn) => t.test(name, fn), ({ clock }) => cacheActive(new RedisStore({ client, clock, prefix: prefix() })))
})

t.test('keys carry the prefix and a real PX TTL; the index shares the user tag', async (t) => {
  const p = prefix()
  const store = new RedisStore({ client, prefix: p, localCache: false })
  const key = `s:${userTag('alice')}:x`
  await store.set(key, { n: 1 }, { ttlMs: 5000, userId: 'alice' })
  t.equal(await client.exists(p + key), 1, 'the record is under prefix + key')
  const pttl = await client.pttl(p + key)
  t.ok(pttl > 4000 && pttl <= 5000, `with a PX TTL of about ttlMs (${pttl})`)
  const index = `${p}idx:${userTag('alice')}`
  t.same(await client.zrange(index, 0, -1), [key], 'the index lists the key, unprefixed')
  const indexTtl = await client.pttl(index)
  t.ok(indexTtl > 4000 && indexTtl <= 5000, 'the index expires with its longest member')
  await store.set(`s:${userTag('alice')}:y`, { n: 2 }, { ttlMs: 60_000, userId: 'alice' })
  t.ok(await client.pttl(index) > 50_000, 'a longer member extends it')
  await store.set(`s:${userTag('alice')}:z`, { n: 3 }, { ttlMs: 1000, userId: 'alice' })
  t.ok(await client.pttl(index) > 50_000, 'a shorter one does not shorten it')
  t.equal(await client.cluster('KEYSLOT', p + key).catch(() => null), null, 'CLUSTER KEYSLOT needs cluster mode, so slots are checked by tag:')
  t.equal(hashTagOf(index), hashTagOf(p + key), 'record and index hash by the same tag')
  t.equal(userTag('alice'), '{YWxpY2U}', 'userTag is the base64url of the id')
  t.match(userTag('ü {x} "q"'), /^\{[\w-]+\}$/, 'any id becomes key-safe text')
  const counter = `f:${randomUUID()}`
  await store.increment(counter, { ttlMs: 3000 })
  const counterTtl = await client.pttl(p + counter)
  t.ok(counterTtl > 2000 && counterTtl <= 3000, 'a counter has a PX TTL too')
  await store.increment(counter, { ttlMs: 3000 })
  t.ok(await client.pttl(p + counter) <= counterTtl, 'which counting does not extend')
})

t.test('the index is pruned of deleted, moved and expired members', async (t) => {
  let now = Date.now()
  const p = prefix()
  const store = new RedisStore({ client, prefix: p, clock: () => now, localCache: false })
  const index = `${p}idx:${userTag('u')}`
  for (const name of ['a', 'b', 'c', 'd']) await store.set(name, { n: 1 }, { ttlMs: name === 'd' ? 1000 : 60_000, userId: 'u' })
  await store.delete('a')
  await store.set('b', { n: 2 }, { ...MINUTE, userId: 'v' })
  now += 1000
  t.equal((await client.zrange(index, 0, -1)).length, 4, 'writes elsewhere leave stale members behind')
  t.same(await store.keysOfUser('u'), ['c'], 'which keysOfUser never lists')
  t.same(await client.zrange(index, 0, -1), ['c'], 'and prunes')
  await store.set('c', { n: 1 }, { ...MINUTE, userId: 'u' })
  await client.eval("redis.call('ZADD', KEYS[1], ARGV[1], 'c')", 1, index, String(now + 99_999))
  t.same(await store.keysOfUser('u'), ['c'], 'a member written again since it was seen keeps its place')
})

t.test('a user id may be any text; canonical JSON sorts keys at every depth', async (t) => {
  const store = new RedisStore({ client, prefix: prefix(), localCache: false })
  await store.set('k', { n: 1 }, { ...MINUTE, userId: '__proto__' })
  t.same(await store.keysOfUser('__proto__'), ['k'])
  t.equal(canonicalJson({ b: [{ d: 1, c: 2 }], a: null }), '{"a":null,"b":[{"c":2,"d":1}]}')
  t.equal(canonicalJson(JSON.parse('{"__proto__":1,"a":2}')), '{"__proto__":1,"a":2}', 'a __proto__ key stays a key')
})

t.test('a key holds a value or a counter, never both', async (t) => {
  const store = new RedisStore({ client, prefix: prefix(), localCache: false })
  await store.increment('c', MINUTE)
  await store.set('v', { n: 1 }, MINUTE)
  await t.rejects(store.get('c'), TypeError, 'get of a counter')
  await t.rejects(store.compareAndSet('c', null, { n: 1 }, MINUTE), /holds a counter/, 'compareAndSet of a counter')
  await t.rejects(store.increment('v', MINUTE), /holds a value, not a counter/, 'increment of a value')
  t.equal(await store.delete('c'), true, 'delete takes either')
})

t.test('options are checked', async (t) => {
  t.throws(() => new RedisStore({} as any), /needs a Redis client/)
  t.throws(() => new RedisStore({ client, commandTimeout: 0 }), RangeError)
  t.throws(() => new RedisStore({ client, commandTimeout: Number.NaN }), RangeError)
  t.throws(() => new RedisStore({ client, localCache: { max: 0 } }), /localCache.max must be a positive integer/)
  t.throws(() => new RedisStore({ client, localCache: { ttlMs: 1.5 } }), /localCache.ttlMs/)
  const store = new RedisStore({ client, localCache: false })
  for (const ttlMs of [0, -1, 1.5, Number.NaN, '1000', undefined]) {
    await t.rejects(store.set('k', { n: 1 }, { ttlMs } as any), RangeError, `set refuses ttlMs ${String(ttlMs)}`)
  }
  await t.rejects((store.compareAndSet as any)('k', { n: 0 }, { n: 1 }), /ttlMs must be a positive integer/, 'compareAndSet with a next value needs options')
  t.equal(new RedisStore({ client, localCache: false }).localCacheActive, false, 'no cache, never active')
})

t.test('close() ends only the store\'s own subscriber, never the app\'s client', async (t) => {
  let subscriber: Redis | undefined
  const spy: RedisLikeClient = {
    get status () { return client.status },
    evalsha: (...args) => client.evalsha(...args),
    eval: (...args) => client.eval(...args),
    duplicate: () => (subscriber = client.duplicate())
  }
  const store = await cacheActive(new RedisStore({ client: spy, prefix: prefix() }))
  await store.set('k', { n: 1 }, MINUTE)
  await store.close()
  await store.close()
  t.equal(client.status, 'ready', 'the app\'s client is still connected')
  const sub = subscriber as Redis
  if (sub.status !== 'end') await new Promise((resolve) => sub.once('end', resolve))
  t.pass('the subscriber connection ended')
  t.equal(store.localCacheActive, false, 'and the cache off')
  t.same(await store.get('k'), { n: 1 }, 'the store still works, uncached')
})

t.test('the default prefix and clock', async (t) => {
  const store = new RedisStore({ client, localCache: false })
  const key = `default:${randomUUID()}`
  await store.set(key, { n: 1 }, { ttlMs: 1000 })
  t.equal(await client.exists('fastify-login:' + key), 1)
  t.equal(await store.delete(key), true)
})
