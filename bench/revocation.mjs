// How long another instance keeps accepting a revoked session: two RedisStores
// (each with its own ioredis client and its local cache on, the default) on
// one redis-server, as two app servers would have.
//
// 1. Store level: A reads a key (cached in A), B deletes it; the time from
//    B's delete resolving until A's `get` answers null, polled with
//    setImmediate (A's cache is dropped when B's invalidation message arrives).
// 2. App level: two Fastify apps (fastify.inject), one real session: logged
//    in, A serves it (cached), B logs it out; the time from B's logout
//    response until A refuses the session (401).
//
// Before each revocation A's cache is checked to hold the record (A's next
// read sends no command to Redis), else the measurement would be of a Redis
// read, not of the invalidation.
//
// `node bench/revocation.mjs` (starts its own redis-server, prints a table);
// run.mjs runs it with `--json` and BENCH_REDIS_URL. BENCH_REVOCATIONS sets
// the count per level (default 1000).
import Fastify from 'fastify'
import fastifyLogin from 'fastify-login'
import { loginCookie } from 'fastify-login/testing'
import { startRedis } from './redis.mjs'
import { benchRedisStore, SESSION_KEY } from './scenarios.mjs'

const COUNT = Number(process.env.BENCH_REVOCATIONS ?? 1000)
if (!(Number.isInteger(COUNT) && COUNT > 0)) throw new Error('BENCH_REVOCATIONS must be a positive whole number')
// A poll that never sees the revocation: a failure, not a long delay.
const GIVE_UP_MS = 2000

const now = () => Number(process.hrtime.bigint()) / 1e6
const nextTick = () => new Promise((resolve) => setImmediate(resolve))

/** Counts the commands a store's client sends (RedisStore runs everything through evalsha, or eval on a script miss). */
function countCommands (client) {
  const counter = { commands: 0 }
  for (const method of ['evalsha', 'eval']) {
    const original = client[method].bind(client)
    client[method] = (...args) => { counter.commands++; return original(...args) }
  }
  return counter
}

/** Reads until a read sends no command (the answer came from the cache); fails after 200 tries. */
async function untilCached (read, counter, what) {
  for (let i = 0; i < 200; i++) {
    const before = counter.commands
    await read()
    if (counter.commands === before) return
    await nextTick()
  }
  throw new Error(`revocation: ${what} never came from A's local cache`)
}

function percentile (sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]
}

function summary (delays) {
  const sorted = [...delays].sort((a, b) => a - b)
  return { count: sorted.length, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), max: sorted[sorted.length - 1] }
}

async function storeLevel (prefix) {
  const a = await benchRedisStore(prefix)
  const b = await benchRedisStore(prefix)
  const counter = countCommands(a.client)
  const delays = []
  try {
    for (let i = 0; i < COUNT; i++) {
      const key = `revoke:${i}`
      await b.store.set(key, { n: i }, { ttlMs: 60_000 })
      await untilCached(() => a.store.get(key), counter, key)
      await b.store.delete(key)
      const revoked = now()
      while ((await a.store.get(key)) !== null) {
        if (now() - revoked > GIVE_UP_MS) throw new Error(`revocation: A still answered ${key} ${GIVE_UP_MS} ms after B deleted it`)
        await nextTick()
      }
      delays.push(now() - revoked)
    }
  } finally {
    await a.close()
    await b.close()
  }
  return summary(delays)
}

async function appOf (prefix) {
  const redis = await benchRedisStore(prefix)
  const counter = countCommands(redis.client)
  const app = Fastify({ logger: false })
  await app.register(fastifyLogin, {
    session: { key: SESSION_KEY },
    store: redis.store,
    loadUser: (id) => (id === '1' ? { id: '1', name: 'alice' } : null)
  })
  app.get('/data', { preHandler: app.loginRequired }, async () => ({ hello: 'world' }))
  app.post('/logout', async (request, reply) => {
    await reply.logout()
    return { bye: true }
  })
  app.addHook('onClose', async () => { await redis.close() })
  await app.ready()
  return { app, counter }
}

async function appLevel (prefix) {
  const a = await appOf(prefix)
  const b = await appOf(prefix)
  const delays = []
  try {
    for (let i = 0; i < COUNT; i++) {
      // A login made on B (its record in Redis), used on A until A serves it from its cache.
      const cookie = await loginCookie(b.app, { id: '1', name: 'alice' })
      const read = async () => {
        const res = await a.app.inject({ url: '/data', headers: { cookie } })
        if (res.statusCode !== 200) throw new Error(`revocation: A refused a live session (${res.statusCode})`)
      }
      await untilCached(read, a.counter, 'the session record')
      const out = await b.app.inject({ method: 'POST', url: '/logout', headers: { cookie } })
      if (out.statusCode !== 200) throw new Error(`revocation: B's logout got ${out.statusCode}`)
      const revoked = now()
      for (;;) {
        const res = await a.app.inject({ url: '/data', headers: { cookie } })
        if (res.statusCode === 401) break
        if (res.statusCode !== 200) throw new Error(`revocation: A answered ${res.statusCode}`)
        if (now() - revoked > GIVE_UP_MS) throw new Error(`revocation: A still served the session ${GIVE_UP_MS} ms after B's logout`)
        await nextTick()
      }
      delays.push(now() - revoked)
    }
  } finally {
    await a.app.close()
    await b.app.close()
  }
  return summary(delays)
}

async function main () {
  let own = null
  if (process.env.BENCH_REDIS_URL === undefined || process.env.BENCH_REDIS_URL === '') {
    own = await startRedis()
    process.env.BENCH_REDIS_URL = own.url
  }
  try {
    const result = {
      count: COUNT,
      store: await storeLevel('bench:revocation-store:'),
      app: await appLevel('bench:revocation-app:')
    }
    if (process.argv.includes('--json')) {
      process.stdout.write(JSON.stringify(result) + '\n')
    } else {
      const ms = (x) => x.toFixed(2)
      console.log('| revocation seen by another instance | count | p50 ms | p99 ms | max ms |')
      console.log('| --- | ---: | ---: | ---: | ---: |')
      console.log(`| store: B.delete() resolved → A.get() null | ${result.store.count} | ${ms(result.store.p50)} | ${ms(result.store.p99)} | ${ms(result.store.max)} |`)
      console.log(`| app: logout on B answered → A refuses (401) | ${result.app.count} | ${ms(result.app.p50)} | ${ms(result.app.p99)} | ${ms(result.app.max)} |`)
    }
  } finally {
    await own?.stop()
  }
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
