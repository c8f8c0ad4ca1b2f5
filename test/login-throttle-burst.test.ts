import t, { type Test } from 'tap'
import Redis from 'ioredis'
import { MemoryStore, type LoginStore } from '../lib/index.js'
import { RedisStore } from '../lib/redis/index.js'
import { buildApp, heldPoint } from './helpers.js'
import { connected, startRedis, type TestRedis } from './redis-server.js'

/*
 * Password spraying from one address: a burst of guesses over many
 * usernames, all sent before any of them has failed. The password checks
 * are held open until every request has been answered or has reached its
 * check, so the burst is truly concurrent; at most perAddress passwords are
 * tested, on a MemoryStore and on Redis.
 */

const START = Date.parse('2026-12-02T08:00:00.200Z')
let redis: TestRedis | null = null
t.teardown(async () => { await redis?.stop() })

const stores: Array<[string, (t: Test, clock: () => number) => Promise<LoginStore>]> = [
  ['MemoryStore', async (_t, clock) => new MemoryStore({ clock })],
  ['RedisStore', async (t, clock) => {
    redis ??= await startRedis()
    const client = new Redis(redis.url)
    t.teardown(() => client.disconnect())
    await connected(client)
    return new RedisStore({ client, clock, prefix: `burst${process.pid}:${Math.random().toString(36).slice(2)}:` })
  }]
]

for (const [name, makeStore] of stores) {
  t.test(`${name}: 200 guesses over 200 usernames from one address at once test at most perAddress passwords`, async (t) => {
    let now = START
    const clock = (): number => now
    const gate = heldPoint()
    let tested = 0
    const { app } = await buildApp({
      clock,
      store: await makeStore(t, clock),
      loginThrottle: { perAddress: 10 },
      jwt: {
        secret: 'throttle-burst-secret-0123456789abcdefgh',
        authenticate: async () => {
          tested++
          await gate.wait
          return null
        }
      }
    })
    t.teardown(() => app.close())
    const answered: number[] = []
    const pending = Array.from({ length: 200 }, async (_, i) => {
      const res = await app.inject({ method: 'POST', url: '/auth', payload: { username: `user${i}`, password: 'Winter2025!' }, remoteAddress: '203.0.113.7' })
      answered.push(res.statusCode)
      return res
    })
    // Every request has either been refused or is inside its password check.
    while (answered.length + tested < 200) await new Promise((resolve) => setImmediate(resolve))
    gate.release()
    const codes = (await Promise.all(pending)).map((res) => res.statusCode)
    t.equal(tested, 10, 'ten passwords were tested')
    t.equal(codes.filter((c) => c === 429).length, 190, 'the other 190 were refused without a test')
    t.equal(codes.filter((c) => c === 401).length, 10)

    // The next second (a new burst count), within the lock of one second that the tenth failure wrote.
    now += 900
    const next = await app.inject({ method: 'POST', url: '/auth', payload: { username: 'user500', password: 'x' }, remoteAddress: '203.0.113.7' })
    t.equal(next.statusCode, 429, 'the ten failures locked the address')
    t.equal(next.json().code, 'FST_LOGIN_THROTTLED')
    const elsewhere = await app.inject({ method: 'POST', url: '/auth', payload: { username: 'user500', password: 'x' }, remoteAddress: '198.51.100.1' })
    t.equal(elsewhere.statusCode, 401, 'another address is not throttled')
  })
}
