import { randomUUID } from 'node:crypto'
import { Cluster } from 'ioredis'
import t from 'tap'
import { RedisStore, userTag } from '../lib/redis/index.js'
import { runStoreContract } from '../lib/testing/index.js'
import { connected, startRedisCluster } from './redis-server.js'

/*
 * RedisStore on a three-node Redis Cluster started for this file, through
 * ioredis' Cluster client. The contract's keys carry tags like `{u1}` that
 * are not userTag('u1'), so the index writes take the two-step path there;
 * the plugin's own keys (userTag) take the one-script path, checked after.
 */

t.setTimeout(120_000)
let client: Cluster
t.before(async () => {
  const cluster = await startRedisCluster(3)
  t.teardown(cluster.stop)
  client = new Cluster(cluster.nodes)
  t.teardown(() => client.disconnect())
  await connected(client)
})

const prefix = (): string => `c-${randomUUID().slice(0, 8)}:`

t.test('RedisStore passes the store contract on a Redis Cluster', async (t) => {
  await runStoreContract((name, fn) => t.test(name, fn), ({ clock }) => new RedisStore({ client, clock, prefix: prefix(), localCache: false }))
})

t.test('with its local cache too', async (t) => {
  await runStoreContract((name, fn) => t.test(name, fn), async ({ clock }) => {
    const store = new RedisStore({ client, clock, prefix: prefix() })
    for (let waited = 0; !store.localCacheActive && waited < 5000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10))
    return store
  })
})

t.test("keys tagged with userTag share the index's slot: one script per write", async (t) => {
  const p = prefix()
  const store = new RedisStore({ client, prefix: p, localCache: false })
  const users = ['alice', 'bob', 'ü {x} "q"']
  for (const user of users) {
    for (let i = 0; i < 3; i++) await store.set(`s:${userTag(user)}:${i}`, { i }, { ttlMs: 60_000, userId: user })
  }
  const slots = await Promise.all(users.map(async (user) => new Set([
    await client.cluster('KEYSLOT', `${p}idx:${userTag(user)}`),
    await client.cluster('KEYSLOT', `${p}s:${userTag(user)}:0`)
  ]).size))
  t.same(slots, [1, 1, 1], "each user's record and index keys hash to one slot")
  t.same((await store.keysOfUser('bob')).sort(), [0, 1, 2].map((i) => `s:${userTag('bob')}:${i}`))
  t.equal(await store.deleteUser('alice'), 3, 'deleteUser removes them')
  t.same(await store.keysOfUser('alice'), [])
  t.equal((await store.keysOfUser('bob')).length, 3, 'and only them')
})
