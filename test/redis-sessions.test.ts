import t, { type Test } from 'tap'
import fastifyRedis from '@fastify/redis'
import Fastify from 'fastify'
import Redis from 'ioredis'
import fastifyLogin from '../lib/index.js'
import { RedisStore } from '../lib/redis/index.js'
import { buildApp, CookieJar, eventually, loggedIn, me, send, TEST_KEY } from './helpers.js'
import { connected, startRedis } from './redis-server.js'

/*
 * The plugin on a real Redis: two Fastify instances (two processes of one
 * app) share sessions through one server; a logout or revoke on one is
 * honoured by the other once the invalidation reaches its local cache;
 * Redis stopped mid-test gives 503s, never a login, and the app recovers.
 */

async function instance (t: Test, url: string, prefix: string) {
  const client = new Redis(url, { maxRetriesPerRequest: 1, retryStrategy: () => 50 })
  client.on('error', () => {}) // the app's client: its reconnect errors while Redis is down are the app's to log
  t.teardown(() => client.disconnect())
  await connected(client)
  const store = new RedisStore({ client, prefix, commandTimeout: 500 })
  const { app } = await buildApp({ store })
  t.teardown(() => app.close())
  return app
}

t.test('two instances on one Redis share sessions; a logout on one is refused by the other', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const prefix = `t${process.pid}:${Date.now()}:`
  const a = await instance(t, redis.url, prefix)
  const b = await instance(t, redis.url, prefix)

  const jar = await loggedIn(a, '1')
  const copy = jar.header()
  t.equal((await me(b, jar)).authenticated, true, 'a login made on A works on B')
  t.equal((await a.inject({ url: '/private', headers: { cookie: copy } })).statusCode, 200, 'A has the session (now in its local cache)')
  t.equal((await b.loginSessions.list('1')).length, 1, 'both see one session')

  const out = await send(b, jar, 'POST', '/logout')
  t.equal(out.statusCode, 200, 'logout on B')
  const refused = await eventually(1000, async () => (await a.inject({ url: '/private', headers: { cookie: copy } })).statusCode === 401)
  t.ok(refused, 'A refuses the copied cookie within a second (the invalidation reached its cache)')
})

t.test('revoke on one instance ends the session on the other', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const prefix = `r${process.pid}:${Date.now()}:`
  const a = await instance(t, redis.url, prefix)
  const b = await instance(t, redis.url, prefix)
  const phone = await loggedIn(a, '1')
  const laptop = await loggedIn(a, '1')
  t.equal((await me(a, phone)).authenticated, true)
  const sessions = await b.loginSessions.list('1')
  t.equal(sessions.length, 2)
  const phoneId = sessions.find((s) => s.createdAt.getTime() === Math.min(...sessions.map((x) => x.createdAt.getTime())))?.id as string
  t.equal(await b.loginSessions.revokeAll('1', { except: phoneId }), 1, 'B ends the laptop')
  t.ok(await eventually(1000, async () => !(await me(a, laptop)).authenticated), 'A refuses the laptop')
  t.equal((await me(a, phone)).authenticated, true, 'and keeps the phone')
})

t.test('Redis stopped mid-test: 503s with Retry-After, pages still answer, then recovery by itself', async (t) => {
  const unhandled: unknown[] = []
  const onUnhandled = (reason: unknown): void => { unhandled.push(reason) }
  process.on('unhandledRejection', onUnhandled)
  t.teardown(() => { process.off('unhandledRejection', onUnhandled) })
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const app = await instance(t, redis.url, `d${process.pid}:`)
  const jar = await loggedIn(app, '1')
  t.equal((await send(app, jar, 'GET', '/private')).statusCode, 200)

  await redis.stop()
  const down = await send(app, jar, 'GET', '/private')
  t.equal(down.statusCode, 503, 'the guarded route answers 503')
  t.equal(down.headers['retry-after'], '1')
  t.equal(down.json().code, 'FST_LOGIN_STORE_UNAVAILABLE')
  t.equal((await send(app, jar, 'GET', '/me')).json().authenticated, false, 'a page answers, as anonymous (never a login from a stale cache)')
  t.equal((await app.inject({ method: 'POST', url: '/login/2' })).statusCode, 503, 'no login while down')

  await redis.restart()
  t.ok(await eventually(5000, async () => (await app.inject({ url: '/private', headers: { cookie: jar.header() } })).statusCode !== 503),
    'once Redis is back, requests are served again by themselves')
  t.same(unhandled, [], 'no unhandled rejection')
})

t.test('the README setup: @fastify/redis, then the store on fastify.redis; app.close() closes both, also with Redis down', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const app = Fastify()
  await app.register(fastifyRedis, { url: redis.url, maxRetriesPerRequest: 1 })
  app.redis.on('error', () => {}) // the app's own client: its reconnect errors while Redis is down are not this test's
  await app.register(fastifyLogin, {
    session: { key: TEST_KEY },
    loadUser: (id) => (id === '1' ? { id: '1', name: 'alice' } : null),
    store: new RedisStore({ client: app.redis, prefix: `fr${process.pid}:` })
  })
  app.post('/login', async (_request, reply) => ({ ok: await reply.login({ id: '1', name: 'alice' }) }))
  app.get('/private', { preHandler: app.loginRequired }, async () => ({ ok: true }))
  await app.ready()
  const jar = new CookieJar().store(await app.inject({ method: 'POST', url: '/login' }))
  t.equal((await app.inject({ url: '/private', headers: { cookie: jar.header() } })).statusCode, 200, 'a login through fastify.redis')
  t.equal((await app.redis.keys(`fr${process.pid}:*`)).length > 0, true, 'its record is in Redis under the prefix')

  await redis.stop()
  t.equal((await app.inject({ url: '/private', headers: { cookie: jar.header() } })).statusCode, 503)
  // A close that hung would fail this test by tap's timeout; one whose hooks threw would reject.
  await t.resolves(app.close(), 'app.close() resolves with Redis down')
})
