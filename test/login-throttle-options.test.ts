import fc from 'fast-check'
import t, { type Test } from 'tap'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { MemoryStore, type FastifyLoginOptions, type LoginStore } from '../lib/index.js'
import { authenticate, buildApp, PASSWORD, rejectsOption, TEST_KEY } from './helpers.js'
import { addLoginForm } from './throttle-form.js'

/*
 * loginThrottle's options and defaults, turned off, with `store: false`, and
 * what it does with bad input and a failing store: a clear 4xx, a TypeError
 * for the app's own mistakes, a 503 when the store is down; never a 500 of
 * ours, never an attempt let through uncounted.
 */

const SECRET = 'login-throttle-options-secret-0123456789'
const START = 1_700_000_000_000

async function app (t: Test, options: Partial<FastifyLoginOptions> = {}): Promise<{ app: FastifyInstance, advance: (ms: number) => void }> {
  let now = START
  const clock = (): number => now
  const store = options.store ?? new MemoryStore({ clock })
  const { app } = await buildApp({ clock, jwt: { secret: SECRET, authenticate }, ...options, store }, (app) => {
    addLoginForm(app)
    // The app's mistakes: the arguments come from the body as they are.
    app.post<{ Body: { method: 'check' | 'fail' | 'reset', request: boolean, username: unknown } }>('/misuse', async (request) => {
      const { method, username } = request.body
      const target = request.body.request ? request : null
      const call = method === 'reset'
        ? app.loginThrottle.reset(username as string)
        : app.loginThrottle[method](target as typeof request, username as string)
      return await call.then(() => ({ ok: true }), (err: Error) => ({ name: err.name, message: err.message }))
    })
  })
  t.teardown(() => app.close())
  return { app, advance: (ms) => { now += ms } }
}

const post = async (app: FastifyInstance, url: string, payload: unknown, ip = '127.0.0.1'): Promise<LightMyRequestResponse> =>
  await app.inject({ method: 'POST', url, payload: payload as Record<string, unknown>, remoteAddress: ip })

async function fails (t: Test, app: FastifyInstance, n: number, username = 'alice', url = '/form'): Promise<void> {
  for (let i = 0; i < n; i++) t.equal((await post(app, url, { username, password: 'wrong' })).statusCode, 401, `${url}: failure ${i + 1} of ${username.slice(0, 20)}`)
}

/** The Retry-After of a throttled attempt, or the status when it was not throttled. */
async function retryAfter (app: FastifyInstance, username = 'alice', url = '/form'): Promise<string | number> {
  const res = await post(app, url, { username, password: PASSWORD })
  return res.statusCode === 429 ? res.headers['retry-after'] as string : res.statusCode
}

t.test('invalid options stop registration with FST_LOGIN_INVALID_OPTION', async (t) => {
  const base = { session: { key: TEST_KEY }, loadUser: () => null }
  const cases: Array<[unknown, RegExp]> = [
    [true, /loginThrottle must be an object or false/],
    [null, /loginThrottle must be an object or false/],
    [[], /loginThrottle must be an object or false/],
    [{ perAccount: 0 }, /loginThrottle\.perAccount must be a whole number from 1 to 100000/],
    [{ perAccount: 1.5 }, /loginThrottle\.perAccount/],
    [{ perAccount: '5' }, /loginThrottle\.perAccount/],
    [{ perAddress: 100_001 }, /loginThrottle\.perAddress/],
    [{ window: 'soon' }, /loginThrottle\.window must be a positive whole number of seconds/],
    [{ window: 0 }, /loginThrottle\.window/],
    [{ maxDelay: -1 }, /loginThrottle\.maxDelay/],
    [{ perAcount: 5 }, /unknown option loginThrottle\.perAcount: did you mean loginThrottle\.perAccount\?/]
  ]
  for (const [value, message] of cases) {
    await rejectsOption(t, { ...base, loginThrottle: value } as FastifyLoginOptions, message, { message: JSON.stringify(value) })
  }
})

t.test('the defaults: 50 failures per address, a 15 minute window, a delay of at most 15 minutes', async (t) => {
  const { app: a } = await app(t)
  for (let i = 0; i < 49; i++) await post(a, '/form', { username: `user${i}`, password: 'wrong' })
  t.equal(await retryAfter(a, 'bob'), 200, '49 failures from one address: bob logs in')
  await fails(t, a, 1, 'user49')
  t.equal(await retryAfter(a, 'bob'), '1', 'the 50th throttles the address')

  const { app: b, advance } = await app(t)
  await fails(t, b, 4)
  advance(15 * 60_000 - 1)
  await fails(t, b, 1)
  t.equal(await retryAfter(b), '1', 'a failure a millisecond inside the window is the 5th')
  await fails(t, b, 4, 'bob')
  advance(15 * 60_000)
  await fails(t, b, 1, 'bob')
  t.equal(await retryAfter(b, 'bob'), 200, 'one 15 minutes later starts a new count')

  const { app: c, advance: wait } = await app(t, { loginThrottle: { window: '1h' } })
  await fails(t, c, 5)
  const delays: Array<string | number> = []
  for (let i = 0; i < 12; i++) {
    const seconds = await retryAfter(c)
    delays.push(seconds)
    wait(Number(seconds) * 1000)
    await fails(t, c, 1)
  }
  t.same(delays, ['1', '2', '4', '8', '16', '32', '64', '128', '256', '512', '900', '900'], 'doubling from 1 s, capped at 900 s')
})

t.test('loginThrottle: false: nothing is counted, the decorator still exists and resolves', async (t) => {
  const { app: a } = await app(t, { loginThrottle: false })
  let events = 0
  a.loginEvents.on('loginFailed', () => { events++ })
  a.loginEvents.on('loginThrottled', () => { events++ })
  await fails(t, a, 10, 'alice', '/auth')
  await fails(t, a, 10)
  t.equal(await retryAfter(a, 'alice', '/auth'), 200, '/auth after 10 failures')
  t.equal(await retryAfter(a), 200, 'the form after 10 failures')
  t.same((await post(a, '/misuse', { method: 'reset', username: 'alice' })).json(), { ok: true }, 'reset() resolves')
  t.equal(events, 0, 'no events')
  t.same((await post(a, '/misuse', { method: 'check', request: true, username: 42 })).json().name, 'TypeError', 'misuse is still a TypeError')
})

t.test('with store: false the counters live in a MemoryStore of the process', async (t) => {
  const { app: a } = await app(t, { store: false })
  await fails(t, a, 5, 'alice', '/auth')
  t.equal(await retryAfter(a, 'alice', '/auth'), '1')
})

t.test('bad input: 400s from /auth, TypeErrors for the app, long usernames counted', async (t) => {
  const { app: a } = await app(t)
  for (const body of [{ username: 5, password: 'wrong' }, { password: 'wrong' }, { username: 'alice'.repeat(300), password: 'wrong' }, { username: ['alice'], password: 'x' }]) {
    t.equal((await post(a, '/auth', body)).statusCode, 400, `/auth refuses ${JSON.stringify(body).slice(0, 40)}`)
  }
  await fails(t, a, 4, 'alice', '/auth')
  t.equal(await retryAfter(a, 'alice', '/auth'), 200, 'refused bodies were not counted as failures')

  const misuse = [
    [{ method: 'check', request: true, username: 42 }, 'fastify-login: loginThrottle.check() needs the username as a string'],
    [{ method: 'fail', request: true }, 'fastify-login: loginThrottle.fail() needs the username as a string'],
    [{ method: 'check', request: false, username: 'alice' }, 'fastify-login: loginThrottle.check() needs the Fastify request as its first argument'],
    [{ method: 'fail', request: false, username: 'alice' }, 'fastify-login: loginThrottle.fail() needs the Fastify request as its first argument'],
    [{ method: 'reset', username: null }, 'fastify-login: loginThrottle.reset() needs the username as a string']
  ] as const
  for (const [body, message] of misuse) t.same((await post(a, '/misuse', body)).json(), { name: 'TypeError', message }, message)

  const long = 'x'.repeat(1024)
  await fails(t, a, 3, `${long}a`)
  await fails(t, a, 2, `${long}b`.repeat(50))
  t.equal(await retryAfter(a, `${long}c`), '1', 'usernames are compared by their first 1024 characters')
})

t.test('any username: never a 5xx from the form', async (t) => {
  const { app: a } = await app(t, { loginThrottle: { perAccount: 2, perAddress: 100_000 } })
  await fc.assert(fc.asyncProperty(fc.string({ unit: 'binary', maxLength: 40 }), async (username) => {
    const res = await post(a, '/form', { username, password: 'wrong' })
    if (res.statusCode !== 401 && res.statusCode !== 429) throw new Error(`${res.statusCode} for ${JSON.stringify(username)}`)
  }), { numRuns: 300 })
})

/** A MemoryStore whose methods named in `down` fail, as a Redis that went away would. */
function flaky (down: Set<string>): LoginStore {
  const inner = new MemoryStore({ clock: () => START })
  return new Proxy(inner, {
    get (target, name, receiver) {
      const value = Reflect.get(target, name, receiver) as unknown
      if (typeof value !== 'function') return value
      return (...args: unknown[]) => down.has(String(name)) ? Promise.reject(new Error('Connection is closed.')) : (value as Function).apply(target, args)
    }
  })
}

t.test('a failing store refuses with 503 and Retry-After: never a login, never an uncounted failure', async (t) => {
  const down = new Set<string>()
  const { app: a } = await app(t, { store: flaky(down) })
  await fails(t, a, 5, 'alice', '/auth')
  down.add('get')
  for (const url of ['/auth', '/form']) {
    const res = await post(a, url, { username: 'alice', password: PASSWORD })
    t.same([res.statusCode, res.headers['retry-after'], res.json().code], [503, '1', 'FST_LOGIN_STORE_UNAVAILABLE'], `${url}: the lock cannot be read: 503`)
  }
  down.clear()
  t.equal(await retryAfter(a), '1', 'the lock outlived the outage')
  down.add('increment')
  for (const url of ['/auth', '/form']) {
    t.equal((await post(a, url, { username: 'bob', password: 'wrong' })).statusCode, 503, `${url}: a failure that cannot be counted is a 503, not a 401`)
  }
})

t.test('fail() without a check() on the same request still counts the account', async (t) => {
  const { app: server } = await app(t)
  for (let i = 0; i < 5; i++) {
    t.same((await post(server, '/misuse', { method: 'fail', request: true, username: 'alice' })).json(), { ok: true }, `failure ${i + 1} reported alone`)
  }
  t.equal(await retryAfter(server), '1', 'the next attempt through the form waits a second')
  t.equal(await retryAfter(server, 'bob'), 200, 'another account does not')
})
