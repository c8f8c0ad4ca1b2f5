import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import type { Test } from 'tap'
import type { FastifyLoginOptions, JwtOptions, LoginStore } from '../lib/index.js'
import { assertRefused, assertUser, authenticate, bearer, buildApp, callMe, fakeClock, getTokens, payloadOf, type TestUser } from './helpers.js'

/*
 * The refresh-family cases every store must pass (MemoryStore, the same
 * behind promises, a real Redis): rotation, 50 concurrent refreshes of one
 * token, reuse after the grace, logout. Time is the plugin's `clock`, which
 * the store shares: the tests move it, never sleep.
 */

export const SECRET = 'jwt-family-test-secret-0123456789abcdef'

/** A clock that stands still until the test moves it: `now()` for the plugin and the store, `advance(ms)`. */
export interface TestClock {
  now: () => number
  advance: (ms: number) => void
}

export function testClock (): TestClock {
  let now = Date.now()
  return { now: () => now, advance: (ms) => { now += ms } }
}

/** Makes the store of one app (several apps of one test share one with `shared`). */
export type StoreMaker = (clock: () => number) => LoginStore | Promise<LoginStore>

/** The token response of /auth and /auth/refresh. */
export interface Tokens {
  access_token: string
  refresh_token: string
  expires_in: number
  token_type: string
}

/**
 * An app on `store` with the JWT part, GET /api/me behind jwtRequired (200 { name }),
 * POST /logout-everywhere (`reply.logout({ everywhere: true })`), and logs of the
 * `refreshTokenReused` ('<user id> <via>') and `tokenRefreshed` events; `setup` may add routes.
 */
export async function familyApp (
  t: Test,
  store: LoginStore,
  clock: TestClock,
  jwt: Partial<JwtOptions> = {},
  core: Partial<FastifyLoginOptions> = {},
  setup?: (app: FastifyInstance) => void
): Promise<{ app: FastifyInstance, reused: string[], refreshed: number[] }> {
  const reused: string[] = []
  const refreshed: number[] = []
  const { app } = await buildApp({ store, clock: clock.now, ...core, jwt: { secret: SECRET, authenticate, ...jwt } }, (app) => {
    app.get('/api/me', { preHandler: app.jwtRequired }, async (request) => ({ name: (request.currentUser as TestUser).name }))
    app.post('/logout-everywhere', async (_request, reply) => {
      await reply.logout({ everywhere: true })
      return { ok: true }
    })
    app.loginEvents.on('refreshTokenReused', ({ userId, via }) => { reused.push(`${userId} ${via}`) })
    app.loginEvents.on('tokenRefreshed', () => { refreshed.push(1) })
    setup?.(app)
  })
  t.teardown(() => app.close())
  return { app, reused, refreshed }
}

export function refresh (app: FastifyInstance, token: string): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'POST', url: '/auth/refresh', headers: bearer(token) })
}

/** A refresh that must succeed; its tokens. */
export async function refreshed (t: Test, app: FastifyInstance, token: string): Promise<Tokens> {
  const res = await refresh(app, token)
  t.equal(res.statusCode, 200, `refreshed (${res.body.slice(0, 100)})`)
  return res.json<Tokens>()
}

/** The cases, run against the stores `makeStore` makes. */
export function familyCases (t: Test, makeStore: StoreMaker): void {
  t.test('a refresh answers a new refresh token and spends the one presented', async (t) => {
    const clock = testClock()
    const { app, reused } = await familyApp(t, await makeStore(clock.now), clock)
    const first = await getTokens(app)
    const second = await refreshed(t, app, first.refresh_token)
    t.not(second.refresh_token, first.refresh_token, 'a new refresh token')
    t.equal(payloadOf(second.refresh_token).fam, payloadOf(first.refresh_token).fam, 'of the same family')
    t.equal(payloadOf(second.access_token).fam, payloadOf(first.access_token).fam)
    assertUser(t, await callMe(app, second.access_token))
    assertUser(t, await callMe(app, first.access_token), 'alice')
    const third = await refreshed(t, app, second.refresh_token)
    const fourth = await refreshed(t, app, third.refresh_token)
    assertUser(t, await callMe(app, fourth.access_token))
    t.same(reused, [], 'no alarm along a chain of refreshes')
  })

  t.test('reply.jwtLogout() with only a refresh token (the access token expired) ends its family', async (t) => {
    const clock = testClock()
    const { app } = await familyApp(t, await makeStore(clock.now), clock, {}, {}, (app) => {
      app.post('/bye', async (_request, reply) => { await reply.jwtLogout(); return await reply.code(204).send() })
    })
    const tokens = await getTokens(app)
    t.equal((await app.inject({ method: 'POST', url: '/bye', payload: { refresh_token: tokens.refresh_token } })).statusCode, 204)
    t.equal((await refresh(app, tokens.refresh_token)).statusCode, 401, 'the refresh token no longer refreshes')
    t.equal((await callMe(app, tokens.access_token)).statusCode, 401, 'nor does its access token work')
  })

  t.test('a spent refresh token is refused by refreshJwtRequired on an app route too, as a theft', async (t) => {
    const clock = testClock()
    const { app, reused } = await familyApp(t, await makeStore(clock.now), clock, {}, {}, (app) => {
      app.post('/my-refresh', { preHandler: app.refreshJwtRequired }, async () => ({ ok: true }))
    })
    const first = await getTokens(app)
    const next = await refreshed(t, app, first.refresh_token)
    t.equal((await app.inject({ method: 'POST', url: '/my-refresh', headers: bearer(first.refresh_token) })).statusCode, 200, 'within the grace the spent one still passes')
    clock.advance(10 * 60_000)
    const res = await app.inject({ method: 'POST', url: '/my-refresh', headers: bearer(first.refresh_token) })
    assertRefused(t, res, 'FST_LOGIN_JWT_REVOKED', 'the spent token after the grace')
    t.same(reused, ['1 jwt'], 'refreshTokenReused fired')
    t.equal((await refresh(app, next.refresh_token)).statusCode, 401, 'and the family ended: the current token is refused too')
  })

  t.test('refreshing does not extend a family: it ends refreshTokenExpires after its login', async (t) => {
    const clock = testClock()
    const real = fakeClock(t)
    const { app } = await familyApp(t, await makeStore(clock.now), clock, { refreshTokenExpires: 3600 })
    const first = await getTokens(app)
    // Token times follow Date.now, the family's the plugin clock: both move together.
    let offset = 0
    const later = (ms: number): void => { offset += ms; clock.advance(ms); real.set(offset) }
    let tokens = first
    for (const minutes of [20, 20, 15]) {
      later(minutes * 60_000)
      tokens = await refreshed(t, app, tokens.refresh_token)
      t.equal(payloadOf(tokens.refresh_token).exp, payloadOf(first.refresh_token).exp, `after ${minutes} more minutes the successor keeps the login's expiry`)
    }
    later(6 * 60_000)
    const late = await refresh(app, tokens.refresh_token)
    t.equal(late.statusCode, 401, 'an hour and a minute after the login, the family has ended however often it was refreshed')
  })

  t.test('within the grace a spent token gets the first answer again, without an alarm', async (t) => {
    const clock = testClock()
    const { app, reused, refreshed: events } = await familyApp(t, await makeStore(clock.now), clock)
    const first = await getTokens(app)
    const answer = await refresh(app, first.refresh_token)
    clock.advance(29_000)
    const again = await refresh(app, first.refresh_token)
    t.equal(again.statusCode, 200)
    t.equal(again.body, answer.body, 'the same body: the same successor')
    t.equal(again.headers['cache-control'], 'no-store')
    t.same(reused, [])
    t.equal(events.length, 1, 'tokenRefreshed once: the retry gave out nothing new')
    assertUser(t, await callMe(app, answer.json<Tokens>().access_token))
  })

  t.test('50 concurrent refreshes of one token: one successor, never two', async (t) => {
    const clock = testClock()
    const { app, reused, refreshed: events } = await familyApp(t, await makeStore(clock.now), clock)
    const first = await getTokens(app)
    const answers = await Promise.all(Array.from({ length: 50 }, () => refresh(app, first.refresh_token)))
    t.same(answers.map((res) => res.statusCode), answers.map(() => 200), 'every presenter is answered (within the grace)')
    const successors = new Set(answers.map((res) => res.json<Tokens>().refresh_token))
    t.equal(successors.size, 1, 'all got the same successor')
    t.equal(events.length, 1, 'one rotation')
    t.same(reused, [])
    const successor = [...successors][0] as string
    const next = await refreshed(t, app, successor)
    assertUser(t, await callMe(app, next.access_token))
  })

  t.test('50 concurrent refreshes without grace: one wins, the rest is reuse and the family ends', async (t) => {
    const clock = testClock()
    const { app, reused } = await familyApp(t, await makeStore(clock.now), clock, { refreshReuseGrace: 0 })
    const first = await getTokens(app)
    const answers = await Promise.all(Array.from({ length: 50 }, () => refresh(app, first.refresh_token)))
    const won = answers.filter((res) => res.statusCode === 200)
    t.equal(won.length, 1, 'exactly one successor was made')
    for (const res of answers.filter((res) => res.statusCode !== 200)) assertRefused(t, res, 'FST_LOGIN_JWT_REVOKED', 'a loser')
    t.ok(reused.length >= 1, 'reuse raised the alarm')
    assertRefused(t, await refresh(app, won[0]?.json<Tokens>().refresh_token as string), 'FST_LOGIN_JWT_REVOKED', 'the successor died with its family')
  })

  t.test('reuse after the grace revokes the family: its refresh and access tokens', async (t) => {
    const clock = testClock()
    const { app, reused } = await familyApp(t, await makeStore(clock.now), clock)
    const first = await getTokens(app)
    const other = await getTokens(app)
    const second = await refreshed(t, app, first.refresh_token)
    clock.advance(31_000)
    assertRefused(t, await refresh(app, first.refresh_token), 'FST_LOGIN_JWT_REVOKED', 'the spent token after the grace')
    t.same(reused, ['1 jwt'], 'refreshTokenReused with the user id')
    assertRefused(t, await refresh(app, second.refresh_token), 'FST_LOGIN_JWT_REVOKED', "the thief's or the victim's successor")
    assertRefused(t, await callMe(app, second.access_token), 'FST_LOGIN_JWT_REVOKED', 'the access token of the rotation')
    assertRefused(t, await callMe(app, first.access_token), 'FST_LOGIN_JWT_REVOKED', 'the access token of the login')
    assertUser(t, await callMe(app, other.access_token), 'alice')
    await refreshed(t, app, other.refresh_token)
    t.same(reused, ['1 jwt'], 'one alarm')
  })

  t.test('logout ends the family: every token of it, also successors', async (t) => {
    const clock = testClock()
    const { app } = await familyApp(t, await makeStore(clock.now), clock)
    const first = await getTokens(app)
    const second = await refreshed(t, app, first.refresh_token)
    const other = await getTokens(app)
    const out = await app.inject({ method: 'POST', url: '/auth/logout', headers: bearer(first.access_token) })
    t.equal(out.statusCode, 204)
    for (const token of [first.access_token, second.access_token]) assertRefused(t, await callMe(app, token), 'FST_LOGIN_JWT_REVOKED')
    for (const token of [first.refresh_token, second.refresh_token]) assertRefused(t, await refresh(app, token), 'FST_LOGIN_JWT_REVOKED')
    assertUser(t, await callMe(app, other.access_token), 'alice')
    t.same((await app.loginSessions.list('1')).map((s) => s.id), [payloadOf(other.refresh_token).fam], 'the other family is still listed')
  })
}
