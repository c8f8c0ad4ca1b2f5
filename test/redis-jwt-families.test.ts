import t, { type Test } from 'tap'
import Redis from 'ioredis'
import { RedisStore } from '../lib/redis/index.js'
import { familyApp, familyCases, refresh, testClock, type TestClock, type Tokens } from './jwt-family-cases.js'
import { assertRefused, assertUser, bearer, callMe, eventually, getTokens, payloadOf } from './helpers.js'
import { connected, startRedis, type TestRedis } from './redis-server.js'

/*
 * Refresh-token families on a real Redis: the cases every store passes,
 * then two app instances (two processes of one API) on one server: a race
 * split between them still makes one successor, and a reuse or a logout on
 * one ends the family on the other.
 */

let counter = 0

async function redisStore (t: Test, redis: TestRedis, clock: TestClock['now'], prefix = `jf${process.pid}:${++counter}:`): Promise<RedisStore> {
  const client = new Redis(redis.url, { maxRetriesPerRequest: 1 })
  t.teardown(() => client.disconnect())
  await connected(client)
  return new RedisStore({ client, prefix, clock })
}

t.test('RedisStore', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  familyCases(t, (clock) => redisStore(t, redis, clock))
})

t.test('two instances on one Redis', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())

  async function pair (t: Test, grace?: number) {
    const clock = testClock()
    const prefix = `jf2${process.pid}:${++counter}:`
    const jwt = grace === undefined ? {} : { refreshReuseGrace: grace }
    const a = await familyApp(t, await redisStore(t, redis, clock.now, prefix), clock, jwt)
    const b = await familyApp(t, await redisStore(t, redis, clock.now, prefix), clock, jwt)
    return { clock, a, b }
  }

  t.test('50 concurrent refreshes split between them: one successor', async (t) => {
    const { a, b } = await pair(t)
    const first = await getTokens(a.app)
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => refresh(i % 2 === 0 ? a.app : b.app, first.refresh_token)))
    t.same(answers.map((res) => res.statusCode), answers.map(() => 200))
    t.equal(new Set(answers.map((res) => res.json<Tokens>().refresh_token)).size, 1, 'one successor for both')
    t.equal(a.refreshed.length + b.refreshed.length, 1, 'one rotation in all')
  })

  t.test('the same without grace: at most one successor, and the family ends', async (t) => {
    const { a, b } = await pair(t, 0)
    const first = await getTokens(a.app)
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => refresh(i % 2 === 0 ? a.app : b.app, first.refresh_token)))
    const won = answers.filter((res) => res.statusCode === 200)
    t.equal(won.length, 1)
    t.ok(a.reused.length + b.reused.length >= 1, 'reuse raised the alarm')
    const successor = won[0]?.json<Tokens>().refresh_token as string
    t.ok(await eventually(2000, async () => (await refresh(a.app, successor)).statusCode === 401), 'the successor is refused')
  })

  t.test('reuse on A after the grace ends the family for B, access tokens included', async (t) => {
    const { clock, a, b } = await pair(t)
    const first = await getTokens(a.app)
    const second = (await refresh(b.app, first.refresh_token)).json<Tokens>()
    assertUser(t, await callMe(b.app, second.access_token))
    clock.advance(31_000)
    assertRefused(t, await refresh(a.app, first.refresh_token), 'FST_LOGIN_JWT_REVOKED')
    t.same(a.reused, ['1 jwt'])
    t.ok(await eventually(2000, async () => (await callMe(b.app, second.access_token)).statusCode === 401), "B refuses the family's access token")
    assertRefused(t, await callMe(b.app, second.access_token), 'FST_LOGIN_JWT_REVOKED')
    assertRefused(t, await refresh(b.app, second.refresh_token), 'FST_LOGIN_JWT_REVOKED')
  })

  t.test('logout on B ends the family on A; the listing is shared', async (t) => {
    const { a, b } = await pair(t)
    const first = await getTokens(a.app)
    const other = await getTokens(a.app)
    assertUser(t, await callMe(a.app, first.access_token))
    t.equal((await b.app.loginSessions.list('1')).length, 2)
    t.equal((await b.app.inject({ method: 'POST', url: '/auth/logout', headers: bearer(first.access_token) })).statusCode, 204)
    t.ok(await eventually(2000, async () => (await callMe(a.app, first.access_token)).statusCode === 401), 'A refuses the access token')
    assertRefused(t, await refresh(a.app, first.refresh_token), 'FST_LOGIN_JWT_REVOKED')
    t.same((await a.app.loginSessions.list('1')).map((s) => s.id), [payloadOf(other.refresh_token).fam])
  })
})
