import t, { type Test } from 'tap'
import Fastify from 'fastify'
import Redis from 'ioredis'
import fastifyLogin from '../lib/index.js'
import { RedisStore } from '../lib/redis/index.js'
import { CookieJar, eventually, TEST_KEY } from './helpers.js'
import { connected, startRedis } from './redis-server.js'

/*
 * Two processes on one Redis, each with its local cache. Process B has the
 * remember-me series cached (a devices page read it); process A restores
 * with the cookie, rotating the series; the browser's next request reaches
 * B with the new cookie before B has heard of the rotation. B's cached
 * record says that cookie's secret is neither current nor just replaced:
 * a theft verdict acted on from that read would log the user out
 * everywhere. The verdict is confirmed by a compare-and-set (never served
 * from a cache), so B reads the series again and restores.
 */

const REMEMBER = '__Host-remember_token'

async function instance (t: Test, url: string, prefix: string, reused: string[]) {
  const client = new Redis(url, { maxRetriesPerRequest: 1 })
  t.teardown(() => client.disconnect())
  await connected(client)
  const store = new RedisStore({ client, prefix })
  t.teardown(() => store.close())
  const alice = { id: '1', name: 'alice' }
  const app = Fastify()
  await app.register(fastifyLogin, { session: { key: TEST_KEY }, store, loadUser: async (id) => id === '1' ? alice : null })
  app.post('/login', async (_request, reply) => ({ ok: await reply.login(alice, { remember: true }) }))
  app.get('/me', async (request) => ({ auth: request.isAuthenticated() }))
  app.loginEvents.on('rememberTokenReused', ({ userId }) => { reused.push(userId) })
  await app.ready()
  t.teardown(() => app.close())
  // The cache serves reads once its invalidation subscription is confirmed.
  t.ok(await eventually(3000, async () => store.localCacheActive), 'the local cache is on')
  return app
}

t.test('a new remember cookie reaching a process whose cache still has the old series restores, with no alarm', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  for (let round = 0; round < 10; round++) {
    const reused: string[] = []
    const prefix = `rc${process.pid}:${round}:`
    const a = await instance(t, redis.url, prefix, reused)
    const b = await instance(t, redis.url, prefix, reused)
    const login = new CookieJar().store(await a.inject({ method: 'POST', url: '/login' }))
    const first = `${REMEMBER}=${encodeURIComponent(login.cookies.get(REMEMBER) as string)}`
    await b.loginSessions.list('1') // B reads, and caches, the series
    const restored = new CookieJar().store(await a.inject({ url: '/me', headers: { cookie: first } }))
    const next = `${REMEMBER}=${encodeURIComponent(restored.cookies.get(REMEMBER) as string)}`
    // No turn of the event loop in between: B has not yet handled the invalidation.
    const res = await b.inject({ url: '/me', headers: { cookie: next } })
    t.equal(res.json().auth, true, `round ${round}: B restores with the new cookie`)
    t.same(reused, [], `round ${round}: no false alarm`)
  }
})
