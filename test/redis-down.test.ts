import Redis from 'ioredis'
import t, { type Test } from 'tap'
import { RedisStore } from '../lib/redis/index.js'
import { connected, startRedis, type TestRedis } from './redis-server.js'

/*
 * RedisStore while Redis is gone, stalled or erring: every operation fails
 * closed with FST_LOGIN_STORE_UNAVAILABLE within about commandTimeout, never
 * hangs and never leaves an unhandled rejection; the cache is not served;
 * once the server is back the store works again by itself.
 */

const TIMEOUT = 300
const MINUTE = { ttlMs: 60_000 }
const CODE = 'FST_LOGIN_STORE_UNAVAILABLE'

const unhandled: unknown[] = []
const onUnhandled = (reason: unknown): void => { unhandled.push(reason) }
process.on('unhandledRejection', onUnhandled)
t.teardown(() => { process.off('unhandledRejection', onUnhandled) })

let server: TestRedis
let client: Redis
t.before(async () => {
  server = await startRedis()
  t.teardown(server.stop)
  client = new Redis(server.url)
  // The app's own concern: an ioredis client without an 'error' listener crashes the process while Redis is down.
  client.on('error', () => {})
  t.teardown(() => client.disconnect())
  await connected(client)
})

async function poll (what: string, ms: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms
  while (!await check().catch(() => false)) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** Every operation of the port, each answering how it failed and how long that took. */
function everyOperation (store: RedisStore): Record<string, () => Promise<unknown>> {
  return {
    get: () => store.get('cached'),
    set: () => store.set('k', { n: 1 }, { ...MINUTE, userId: 'u' }),
    delete: () => store.delete('k'),
    compareAndSet: () => store.compareAndSet('k', null, { n: 1 }, MINUTE),
    increment: () => store.increment('c', MINUTE),
    keysOfUser: () => store.keysOfUser('u'),
    deleteUser: () => store.deleteUser('u')
  }
}

async function assertAllFail (t: Test, store: RedisStore, how: string): Promise<void> {
  for (const [name, operation] of Object.entries(everyOperation(store))) {
    const start = Date.now()
    const err = await operation().then(() => null, (err: unknown) => err) as { code?: string, statusCode?: number } | null
    const took = Date.now() - start
    t.equal(err?.code, CODE, `${name} rejects with ${CODE} ${how}`)
    t.ok(took < TIMEOUT + 250, `${name} failed in ${took} ms (commandTimeout ${TIMEOUT})`)
  }
}

t.test('Redis stopped, then started again on the same port', async (t) => {
  const store = new RedisStore({ client, prefix: 'down:', commandTimeout: TIMEOUT })
  t.teardown(() => store.close())
  await poll('cache active', 2000, async () => store.localCacheActive)
  await store.set('cached', { n: 1 }, MINUTE)
  // Wait out the set's own invalidation message, then cache the value.
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.same(await store.get('cached'), { n: 1 })

  const closed = new Promise((resolve) => client.once('close', resolve))
  await server.stop()
  await closed
  await assertAllFail(t, store, 'while Redis is down')
  t.equal(store.localCacheActive, false, 'the cache is off, so the cached value was not served')

  await server.restart()
  await poll('the store answers again', 8000, async () => (await store.get('cached')) === null)
  t.pass('operations succeed again without anyone reconnecting by hand (the restarted server is empty)')
  await store.set('cached', { n: 2 }, MINUTE)
  t.same(await store.get('cached'), { n: 2 })
  await poll('cache back', 5000, async () => store.localCacheActive)
  t.pass('and the cache comes back once the subscriber has resubscribed')
  t.same(unhandled, [], 'no unhandled rejection')
})

t.test('a server that does not answer: each operation fails after commandTimeout', async (t) => {
  const store = new RedisStore({ client, prefix: 'stall:', commandTimeout: TIMEOUT, localCache: false })
  const admin = new Redis(server.url)
  admin.on('error', () => {})
  t.teardown(() => admin.disconnect())
  await connected(admin)
  // WRITE mode stalls EVAL and EVALSHA (Redis counts them as writes) but lets our UNPAUSE through.
  await admin.client('PAUSE', 5000, 'WRITE')
  t.teardown(() => admin.client('UNPAUSE'))
  await assertAllFail(t, store, 'while Redis stalls')
  const err = await store.get('x').catch((err: Error) => err) as Error & { cause?: Error }
  t.match(err.message, /did not answer in time/, 'the message says why')
  t.match(err.cause?.message, /no answer to read in 300 ms/, 'and the cause which script')
  await admin.client('UNPAUSE')
  t.equal(await store.get('x'), null, 'and it answers again once Redis does')
  // Let the commands that timed out settle: their late answers must not surface as rejections.
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.same(unhandled, [], 'no unhandled rejection')
})

t.test('a Redis error is a 503 too, with the error as cause', async (t) => {
  const store = new RedisStore({ client, prefix: 'err:', localCache: false })
  await client.set('err:plain', 'not a hash')
  const err = await store.get('plain').catch((err: Error) => err) as Error & { code: string, statusCode: number, cause: Error, headers: object }
  t.equal(err.code, CODE)
  t.equal(err.statusCode, 503)
  t.same(err.headers, { 'retry-after': '1' })
  t.match(err.message, /Redis failed/, 'a fixed message: nothing of Redis reaches a client')
  t.match(err.cause.message, /WRONGTYPE/)
})

t.test('close() returns at once while Redis is down', async (t) => {
  const store = new RedisStore({ client, prefix: 'close:' })
  await poll('cache active', 2000, async () => store.localCacheActive)
  await server.stop()
  const start = Date.now()
  await store.close()
  t.ok(Date.now() - start < 50, `close took ${Date.now() - start} ms`)
  await server.restart()
})
