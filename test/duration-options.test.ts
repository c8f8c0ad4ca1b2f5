import t from 'tap'
import Fastify from 'fastify'
import fastifyLogin, { type FastifyLoginOptions, type JwtOptions } from '../lib/index.js'
import { rememberCookie } from '../lib/testing/index.js'
import { authenticate, buildApp, rejectsOption, TEST_KEY, testKey, type TestUser } from './helpers.js'

/*
 * Numbers are seconds. A number that is a multiple of 1000 looks like
 * milliseconds (fast-jwt, @fastify/rate-limit, cookie maxAge count in ms) and
 * is refused, with the duration it would be in ms; every duration option also
 * has a maximum. So `accessTokenExpires: 900000` (meant: 15 minutes) is never
 * silently a 10-day token.
 */

const base: FastifyLoginOptions = { session: { key: TEST_KEY }, loadUser: () => null }
const jwt = (more: Partial<JwtOptions>): Partial<FastifyLoginOptions> => ({ jwt: { secret: testKey('jwt').toString('base64'), authenticate, ...more } })

interface Case {
  /** The option's name in messages. */
  name: string
  /** The plugin options with this option set to `value`. */
  set: (value: unknown) => Partial<FastifyLoginOptions>
  /** Values in ms that are refused, and the string each message suggests. */
  ms: Array<[number, string]>
  /** Accepted values. */
  ok: unknown[]
  /** The maximum as a string, and a value just past it. */
  max: [string, string]
}

const cases: Case[] = [
  { name: 'session.expiry', set: (expiry) => ({ session: { key: TEST_KEY, expiry } as never }), ms: [[86_400_000, '1d'], [3_600_000, '1h']], ok: [86_400, '1d', 3_600, '400d'], max: ['400d', '401d'] },
  { name: 'session.cookie.maxAge', set: (maxAge) => ({ session: { key: TEST_KEY, cookie: { maxAge } } as never }), ms: [[86_400_000, '1d'], [3_600_000, '1h']], ok: [86_400, 3_600, '1d'], max: ['400d', '401d'] },
  { name: 'idleTimeout', set: (idleTimeout) => ({ idleTimeout, touchInterval: 10 }) as never, ms: [[1_800_000, '30m'], [900_000, '15m']], ok: [1_800, '30m', '30d'], max: ['30d', '31d'] },
  { name: 'absoluteTimeout', set: (absoluteTimeout) => ({ absoluteTimeout }) as never, ms: [[43_200_000, '12h'], [3_600_000, '1h']], ok: [43_200, '12h', '400d'], max: ['400d', '401d'] },
  { name: 'touchInterval', set: (touchInterval) => ({ idleTimeout: false, touchInterval }) as never, ms: [[60_000, '1m'], [30_000, '30s']], ok: [60, '1m', '1d'], max: ['1d', '25h'] },
  { name: 'freshFor', set: (freshFor) => ({ freshFor }) as never, ms: [[3_600_000, '1h'], [600_000, '10m']], ok: [3_600, '1h', '30d'], max: ['30d', '31d'] },
  { name: 'rememberMe.duration', set: (duration) => ({ rememberMe: { duration } as never }), ms: [[2_592_000_000, '30d'], [604_800_000, '7d']], ok: [604_800, '30d', '400d'], max: ['400d', '401d'] },
  { name: 'rememberMe.reuseGrace', set: (reuseGrace) => ({ rememberMe: { reuseGrace } as never }), ms: [[30_000, '30s'], [5_000, '5s']], ok: [0, '0s', 30, '30s', '5m'], max: ['5m', '301s'] },
  { name: 'jwt.accessTokenExpires', set: (accessTokenExpires) => jwt({ accessTokenExpires } as never), ms: [[900_000, '15m'], [60_000, '1m'], [3_600_000, '1h']], ok: [900, '15m', 3_600, '1d'], max: ['1d', '2d'] },
  { name: 'jwt.refreshTokenExpires', set: (refreshTokenExpires) => jwt({ refreshTokenExpires } as never), ms: [[2_592_000_000, '30d'], [3_600_000, '1h'], [86_400_000, '1d']], ok: [604_800, '30d', '365d'], max: ['365d', '366d'] },
  { name: 'jwt.refreshReuseGrace', set: (refreshReuseGrace) => jwt({ refreshReuseGrace } as never), ms: [[30_000, '30s'], [10_000, '10s']], ok: [0, 30, '30s', '5m'], max: ['5m', '6m'] },
  { name: 'jwt.leeway', set: (leeway) => jwt({ leeway } as never), ms: [[5_000, '5s'], [60_000, '1m']], ok: [0, 30, '30s', '5m'], max: ['5m', '301s'] },
  { name: 'jwt.notBefore', set: (notBefore) => jwt({ notBefore } as never), ms: [[30_000, '30s'], [1_000, '1s']], ok: [0, 30, '1h', '1d'], max: ['1d', '2d'] },
  { name: 'loginThrottle.window', set: (window) => ({ loginThrottle: { window } as never }), ms: [[900_000, '15m'], [60_000, '1m']], ok: [900, '15m', '1d'], max: ['1d', '25h'] },
  { name: 'loginThrottle.maxDelay', set: (maxDelay) => ({ loginThrottle: { maxDelay } as never }), ms: [[900_000, '15m'], [5_000, '5s']], ok: [900, '15m', '1d'], max: ['1d', '2d'] }
]

const quote = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

for (const { name, set, ms, ok, max } of cases) {
  t.test(name, async (t) => {
    for (const [value, meant] of ms) {
      await rejectsOption(t, { ...base, ...set(value) } as FastifyLoginOptions,
        new RegExp(`${quote(name)}.*numbers are seconds, and ${value} is .*did you mean '${meant}' \\(${value} ms\\)\\?`),
        { message: `${value}: refused, as ms of '${meant}'` })
    }
    await rejectsOption(t, { ...base, ...set(max[1]) } as FastifyLoginOptions, new RegExp(`${quote(name)} must be at most .* \\('${max[0]}'\\)`), { message: `${max[1]}: past the maximum` })
    for (const value of ok) {
      const app = Fastify()
      t.teardown(() => app.close())
      await t.resolves(async () => { await app.register(fastifyLogin, { ...base, ...set(value) } as FastifyLoginOptions).ready() }, `${JSON.stringify(value)}: accepted`)
    }
  })
}

t.test('the messages say what the number is, and what to write', async (t) => {
  await rejectsOption(t, { ...base, ...jwt({ accessTokenExpires: 900000 }) } as FastifyLoginOptions,
    /^fastify-login: jwt\.accessTokenExpires must be at most 1 day \('1d'\): numbers are seconds, and 900000 is 10 days 10 hours; did you mean '15m' \(900000 ms\)\?$/)
  // Below the maximum, a multiple of 1000 is ambiguous: seconds it is a plausible 16 hours 40 minutes, ms it is 1 minute.
  await rejectsOption(t, { ...base, ...jwt({ accessTokenExpires: 60000 }) } as FastifyLoginOptions,
    /^fastify-login: jwt\.accessTokenExpires: numbers are seconds, and 60000 is 16 hours 40 minutes, but it looks like milliseconds; did you mean '1m' \(60000 ms\)\? To mean seconds, write it as a string: '1000m'$/)
  // 30 days in seconds is a multiple of 1000 too: written as a string, it is accepted.
  await rejectsOption(t, { ...base, rememberMe: { duration: 2592000 } }, /rememberMe\.duration: numbers are seconds, and 2592000 is 30 days, but it looks like milliseconds; did you mean '2592s' \(2592000 ms\)\? To mean seconds, write it as a string: '30d'$/)
  // A number past the maximum whose ms reading is past it too: no ms hint.
  await rejectsOption(t, { ...base, ...jwt({ accessTokenExpires: 86_401_000 }) } as FastifyLoginOptions, /jwt\.accessTokenExpires must be at most 1 day \('1d'\): numbers are seconds, and 86401000 is 1000 days 16 minutes 40 seconds$/)
  await rejectsOption(t, { ...base, rememberMe: { duration: 34_560_001 } }, /rememberMe\.duration must be at most 400 days \('400d'\): numbers are seconds, and 34560001 is 400 days 1 second$/)
  await rejectsOption(t, { ...base, ...jwt({ accessTokenExpires: '2d' }) } as FastifyLoginOptions, /jwt\.accessTokenExpires must be at most 1 day \('1d'\)$/, { message: 'a string says its unit: only the maximum applies' })
  await rejectsOption(t, { ...base, idleTimeout: 'soon' }, /idleTimeout must be a positive whole number of seconds or a string like '30d', at most 30 days$/)
  await rejectsOption(t, { ...base, ...jwt({ leeway: -1 }) } as FastifyLoginOptions, /jwt\.leeway must be a positive whole number of seconds/)
  await rejectsOption(t, { ...base, ...jwt({ leeway: 1.5 }) } as FastifyLoginOptions, /jwt\.leeway must be/)
})

t.test('durations given at run time follow the same rule', async (t) => {
  const { app, users } = await buildApp({ jwt: { secret: testKey('jwt').toString('base64'), authenticate } }, (app) => {
    app.post<{ Body: { expiresIn: number | string, type: 'access' | 'refresh' } }>('/token', async (request) => {
      const alice = { id: '1', name: 'alice' } satisfies TestUser
      return request.body.type === 'access'
        ? app.createAccessToken(alice, { expiresIn: request.body.expiresIn })
        : app.createRefreshToken(alice, { expiresIn: request.body.expiresIn })
    })
  })
  t.teardown(() => app.close())
  app.log.level = 'silent'

  const login = await app.inject({ method: 'POST', url: '/login/1', payload: { remember: true, duration: 604_800_000 } })
  t.equal(login.statusCode, 500, 'reply.login() with a ms duration: a programming error')
  t.match(login.json(), { code: 'FST_LOGIN_INVALID_OPTION', message: /reply\.login\(\) duration must be at most 400 days.*did you mean '7d'/ })
  t.equal((await app.inject({ method: 'POST', url: '/login/1', payload: { remember: true, duration: '7d' } })).statusCode, 200)

  const token = async (expiresIn: number | string, type: 'access' | 'refresh') => app.inject({ method: 'POST', url: '/token', payload: { expiresIn, type } })
  t.match((await token(900_000, 'access')).json(), { code: 'FST_LOGIN_INVALID_OPTION', message: /expiresIn must be at most 1 day.*did you mean '15m'/ })
  t.match((await token(3_600_000, 'refresh')).json(), { code: 'FST_LOGIN_INVALID_OPTION', message: /expiresIn: numbers are seconds.*did you mean '1h'/ })
  t.equal((await token(900, 'access')).statusCode, 200)
  t.equal((await token('30d', 'refresh')).statusCode, 200)
  t.match((await token('2d', 'access')).json(), { message: /expiresIn must be at most 1 day/ })

  await t.rejects(rememberCookie(app, users.get('1') as TestUser, { duration: 86_400_000 }), { code: 'FST_LOGIN_INVALID_OPTION', message: /duration must be at most 400 days.*did you mean '1d'/ })
  t.match(await rememberCookie(app, users.get('1') as TestUser, { duration: '1d' }), /remember_token=/)
})

t.test('session.cookie.maxAge reaches the cookie in seconds, a string converted', async (t) => {
  for (const maxAge of [3600, '1h']) {
    const { app } = await buildApp({ session: { key: TEST_KEY, cookie: { maxAge: maxAge as number } } })
    t.teardown(() => app.close())
    const res = await app.inject({ method: 'POST', url: '/login/1' })
    t.equal(res.cookies.find((cookie) => cookie.name === '__Host-session')?.maxAge, 3600, JSON.stringify(maxAge))
  }
})
