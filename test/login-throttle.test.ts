import t, { type Test } from 'tap'
import Redis from 'ioredis'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { MemoryStore, type LoginEventMap, type LoginStore, type LoginThrottleOptions } from '../lib/index.js'
import { RedisStore } from '../lib/redis/index.js'
import { authenticate, buildApp, PASSWORD } from './helpers.js'
import { connected, startRedis } from './redis-server.js'
import { addLoginForm } from './throttle-form.js'

/*
 * Login throttling as a client meets it, on a MemoryStore and on a real
 * Redis, through both doors: the token endpoint (POST /auth) and an app's
 * own login form that calls fastify.loginThrottle.check() / fail(). Time is
 * the plugin's clock (and the store's), moved by the tests: no sleeps.
 */

const SECRET = 'login-throttle-test-secret-0123456789abc'
const START = 1_700_000_000_000

type StoreFactory = (clock: () => number, shared?: string) => LoginStore
type Post = (app: FastifyInstance, username: string, password: string, ip?: string) => Promise<LightMyRequestResponse>

interface ThrottledApp {
  app: FastifyInstance
  /** Moves the plugin's and the store's clock forward. */
  advance: (ms: number) => void
  failed: Array<LoginEventMap['loginFailed']>
  throttled: Array<LoginEventMap['loginThrottled']>
}

async function throttledApp (t: Test, stores: StoreFactory, throttle: LoginThrottleOptions = {}, shared?: string): Promise<ThrottledApp> {
  let now = START
  const clock = (): number => now
  const { app } = await buildApp({ clock, store: stores(clock, shared), loginThrottle: throttle, jwt: { secret: SECRET, authenticate } }, addLoginForm)
  t.teardown(() => app.close())
  const failed: ThrottledApp['failed'] = []
  const throttled: ThrottledApp['throttled'] = []
  app.loginEvents.on('loginFailed', (event) => { failed.push(event) })
  app.loginEvents.on('loginThrottled', (event) => { throttled.push(event) })
  return { app, advance: (ms) => { now += ms }, failed, throttled }
}

const viaAuth: Post = async (app, username, password, ip = '127.0.0.1') =>
  await app.inject({ method: 'POST', url: '/auth', payload: { username, password }, remoteAddress: ip })
const viaForm: Post = async (app, username, password, ip = '127.0.0.1') =>
  await app.inject({ method: 'POST', url: '/form', payload: { username, password }, remoteAddress: ip })
const DOORS = [['POST /auth', viaAuth, 'jwt'], ['the app\'s form', viaForm, 'session']] as const

async function failTimes (t: Test, post: Post, app: FastifyInstance, n: number, username = 'alice', ip?: string): Promise<void> {
  for (let i = 0; i < n; i++) t.equal((await post(app, username, 'wrong', ip)).statusCode, 401, `failure ${i + 1} of ${username} is a 401`)
}

/** A 429 FST_LOGIN_THROTTLED asking to wait `seconds`. */
function assertThrottled (t: Test, res: LightMyRequestResponse, seconds: number, what: string): void {
  t.equal(res.statusCode, 429, `${what}: 429`)
  t.equal(res.headers['retry-after'], String(seconds), `${what}: Retry-After ${seconds}`)
  t.equal(res.json<{ code: string }>().code, 'FST_LOGIN_THROTTLED', `${what}: FST_LOGIN_THROTTLED`)
}

async function storesOf (t: Test, kind: 'memory' | 'redis'): Promise<StoreFactory> {
  if (kind === 'memory') return (clock) => new MemoryStore({ clock })
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const client = new Redis(redis.url)
  t.teardown(() => client.disconnect())
  await connected(client)
  let n = 0
  return (clock, shared) => new RedisStore({ client, clock, prefix: shared ?? `thr${process.pid}:${n++}:` })
}

for (const kind of ['memory', 'redis'] as const) {
  t.test(`on a ${kind === 'memory' ? 'MemoryStore' : 'RedisStore'}`, async (t) => {
    const stores = await storesOf(t, kind)

    for (const [door, post, via] of DOORS) {
      t.test(`${door}: the 6th attempt is throttled even with the right password; other accounts are not; a success clears`, async (t) => {
        const { app, advance, failed, throttled } = await throttledApp(t, stores)
        await failTimes(t, post, app, 5)
        assertThrottled(t, await post(app, 'alice', PASSWORD), 1, 'alice with her password')
        t.equal((await post(app, 'bob', PASSWORD)).statusCode, 200, 'bob, from the same address, logs in')
        advance(1000)
        t.equal((await post(app, 'alice', PASSWORD)).statusCode, 200, 'once the second has passed, alice logs in')
        await failTimes(t, post, app, 4)
        t.equal((await post(app, 'alice', PASSWORD)).statusCode, 200, 'her count started again at the success: 4 failures do not throttle')
        t.same(failed.map((e) => [e.username, e.via, e.request.url]), Array(9).fill(['alice', via, door === 'POST /auth' ? '/auth' : '/form']), 'loginFailed for each wrong password')
        t.same(throttled.map((e) => [e.username, e.via, e.limit, e.retryAfter]), [['alice', via, 'account', 1]], 'loginThrottled once')
        t.notOk(JSON.stringify(failed.map(({ request: _r, ...rest }) => rest)).includes('wrong'), 'no password in the events')
      })

      t.test(`${door}: 30 guesses sent at once: only perAccount of them test a password, the rest are 429s`, async (t) => {
        // maxDelay below the window: the count is still there when the wait ends (past the window it starts again).
        const { app, advance } = await throttledApp(t, stores, { maxDelay: '1m' })
        const answers = await Promise.all(Array.from({ length: 30 }, async () => await post(app, 'alice', 'wrong')))
        const codes = answers.map((res) => res.statusCode)
        t.equal(codes.filter((c) => c === 401).length, 5, 'five were tested (and failed)')
        t.equal(codes.filter((c) => c === 429).length, 25, 'the other 25 were throttled without a password test')
        const next = await post(app, 'alice', PASSWORD)
        t.equal(next.statusCode, 429, 'right after, even the right password waits')
        advance(Number(next.headers['retry-after']) * 1000)
        const again = await Promise.all(Array.from({ length: 10 }, async () => await post(app, 'alice', 'wrong')))
        t.same(again.map((res) => res.statusCode).sort(), [401, ...Array(9).fill(429)], 'once the lock has run out, of 10 at once exactly one is tested')
        const last = await post(app, 'alice', PASSWORD)
        advance(Number(last.headers['retry-after']) * 1000)
        t.equal((await post(app, 'alice', PASSWORD)).statusCode, 200, 'and the right password gets in once the Retry-After has passed')
      })

      t.test(`${door}: the delay doubles with each further failure up to maxDelay, then the backoff ends`, async (t) => {
        const { app, advance } = await throttledApp(t, stores, { maxDelay: '8s' })
        await failTimes(t, post, app, 5)
        for (const seconds of [1, 2, 4, 8, 8]) {
          assertThrottled(t, await post(app, 'alice', PASSWORD), seconds, `after ${seconds} s of backoff`)
          advance(seconds * 1000 - 1)
          assertThrottled(t, await post(app, 'alice', 'wrong'), 1, 'a millisecond before the end (not counted)')
          advance(1)
          await failTimes(t, post, app, 1)
        }
        advance(8000)
        t.equal((await post(app, 'alice', PASSWORD)).statusCode, 200, 'the backoff ends: the right password logs in')
      })

      t.test(`${door}: failures older than the window no longer count`, async (t) => {
        const { app, advance } = await throttledApp(t, stores, { window: '1m' })
        await failTimes(t, post, app, 4)
        advance(60_000)
        await failTimes(t, post, app, 4)
        t.equal((await post(app, 'alice', PASSWORD)).statusCode, 200, 'two windows of 4 failures: never throttled')
      })

      t.test(`${door}: an unknown account gets the very same answer; spellings of one name share a counter`, async (t) => {
        const { app } = await throttledApp(t, stores)
        await failTimes(t, post, app, 5, 'nobody-here')
        for (const spelling of ['Alice', ' alice', 'ＡＬＩＣＥ', 'ALICE ', 'alice']) await failTimes(t, post, app, 1, spelling)
        const unknown = await post(app, 'nobody-here', PASSWORD)
        const known = await post(app, 'alice', PASSWORD)
        assertThrottled(t, known, 1, 'alice, after failures under five spellings')
        t.same([unknown.statusCode, unknown.headers['retry-after'], unknown.body], [known.statusCode, known.headers['retry-after'], known.body], 'the same status, Retry-After and body')
      })

      t.test(`${door}: per address, for every username; a success from there does not clear the address`, async (t) => {
        const { app, advance, throttled } = await throttledApp(t, stores, { perAddress: 3 })
        for (const name of ['u1', 'u2', 'u3']) await failTimes(t, post, app, 1, name, '10.0.0.1')
        assertThrottled(t, await post(app, 'bob', PASSWORD, '10.0.0.1'), 1, 'bob from the guessing address')
        t.same(throttled.map((e) => [e.username, e.limit]), [['bob', 'address']], 'loginThrottled says it was the address')
        t.equal((await post(app, 'bob', PASSWORD, '10.0.0.2')).statusCode, 200, 'bob from another address logs in')
        advance(1000)
        t.equal((await post(app, 'bob', PASSWORD, '10.0.0.1')).statusCode, 200, 'after the second, bob logs in from there too')
        await failTimes(t, post, app, 1, 'u4', '10.0.0.1')
        assertThrottled(t, await post(app, 'bob', PASSWORD, '10.0.0.1'), 2, 'the address count went on: 2 s now')
      })
    }

    t.test('a logout everywhere does not reset it; fastify.loginThrottle.reset() does, for the account only', async (t) => {
      const { app } = await throttledApp(t, stores, { perAddress: 6 })
      await failTimes(t, viaForm, app, 5)
      t.equal(await app.loginSessions.revokeAll('1'), 0, 'alice has no session to end')
      assertThrottled(t, await viaForm(app, 'alice', PASSWORD), 1, 'still throttled after revokeAll')
      await app.loginThrottle.reset(' ALICE')
      t.equal((await viaForm(app, 'alice', PASSWORD)).statusCode, 200, 'reset() unlocks the account (normalised like the counter)')
      await failTimes(t, viaForm, app, 1, 'bob')
      assertThrottled(t, await viaForm(app, 'bob', PASSWORD), 1, 'the address kept its 6 failures')
    })

    if (kind === 'redis') {
      t.test('two instances on one Redis share the counters', async (t) => {
        const shared = `thr${process.pid}:shared:`
        const a = await throttledApp(t, stores, {}, shared)
        const b = await throttledApp(t, stores, {}, shared)
        await failTimes(t, viaAuth, a.app, 3)
        await failTimes(t, viaForm, b.app, 2)
        assertThrottled(t, await viaAuth(a.app, 'alice', PASSWORD), 1, 'A throttles after failures on both')
        assertThrottled(t, await viaForm(b.app, 'alice', PASSWORD), 1, 'and so does B')
      })
    }
  })
}
