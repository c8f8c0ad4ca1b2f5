import { randomBytes } from 'node:crypto'
import fastifyJwt from '@fastify/jwt'
import Fastify, { type FastifyInstance, type LightMyRequestResponse } from 'fastify'
import t, { type Test } from 'tap'
import fastifyLogin, { type JwtOptions } from '../lib/index.js'
import {
  assertRefused, assertUser, authenticate, bearer, buildApp, callMe, decodeJwt, directory, fakeClock, getTokens, hmacToken, type TestUser
} from './helpers.js'

/*
 * RFC 8725 §3.11 explicit typing: access tokens are `typ: at+jwt` (RFC 9068),
 * refresh tokens `typ: refresh+jwt`, and a token typed otherwise is refused
 * although its signature verifies, so another JWT signed with the same secret
 * (§3.12) cannot pass for ours. Also: a token issued in the future beyond the
 * leeway is refused, or it would outlive a logout-everywhere cut-off.
 * Hostile tokens are made with hmacToken() and the app's own secret.
 */

const SECRET = 'jwt-typing-test-secret-0123456789abcdef'
const WRONG_TYPE = 'FST_LOGIN_JWT_WRONG_TYPE'
const NOT_YET_VALID = 'FST_LOGIN_JWT_NOT_YET_VALID'

/** buildApp() with the JWT part and GET /api/me behind jwtRequired; `setup` may add more. */
async function jwtApp (t: Test, jwt: Partial<JwtOptions> = {}, setup?: (app: FastifyInstance) => Promise<void>): Promise<FastifyInstance> {
  const { app } = await buildApp({ jwt: { secret: SECRET, authenticate, ...jwt } }, async (app) => {
    app.get('/api/me', { preHandler: app.jwtRequired }, async (request) => ({ name: (request.currentUser as TestUser).name }))
    // refreshJwtRequired alone: the refresh endpoint also needs the token's family, which hand-made tokens have not.
    app.post('/api/refresh-guard', { preHandler: app.refreshJwtRequired }, async (request) => ({ name: (request.currentUser as TestUser).name }))
    await setup?.(app)
  })
  t.teardown(() => app.close())
  return app
}

/** POST /auth/refresh with `token` as the Bearer token. */
function refreshEndpoint (app: FastifyInstance, token: string): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'POST', url: '/auth/refresh', headers: bearer(token) })
}

/** POST /api/refresh-guard (refreshJwtRequired) with `token` as the Bearer token. */
function refresh (app: FastifyInstance, token: string): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'POST', url: '/api/refresh-guard', headers: bearer(token) })
}

function assertRefreshed (t: Test, res: LightMyRequestResponse): void {
  t.equal(res.statusCode, 200, `refreshed (${res.body.slice(0, 120)})`)
}

const nowSeconds = (): number => Math.floor(Date.now() / 1000)

/** Claims like the plugin's, for alice; `overrides` on top. */
function claims (type: 'access' | 'refresh', overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const now = nowSeconds()
  return { sub: '1', jti: randomBytes(16).toString('base64url'), type, iat: now, nbf: now, exp: now + 900, fresh: false, ...overrides }
}

/** An HS256 token of `type` with header typ `typ` (left out when undefined). */
function typed (type: 'access' | 'refresh', typ: unknown, overrides: Record<string, unknown> = {}): string {
  return hmacToken(claims(type, overrides), SECRET, typ === undefined ? { alg: 'HS256' } : { alg: 'HS256', typ })
}

t.test('the plugin types its tokens', async (t) => {
  const app = await jwtApp(t)
  const tokens = await getTokens(app)
  t.same(decodeJwt(tokens.access_token).header, { alg: 'HS256', typ: 'at+jwt' }, '/auth access token')
  t.same(decodeJwt(tokens.refresh_token).header, { alg: 'HS256', typ: 'refresh+jwt' }, '/auth refresh token')
  const refreshed = await refreshEndpoint(app, tokens.refresh_token)
  assertRefreshed(t, refreshed)
  t.same(decodeJwt(refreshed.json<{ access_token: string }>().access_token).header, { alg: 'HS256', typ: 'at+jwt' }, '/auth/refresh access token')
  t.same(decodeJwt(refreshed.json<{ refresh_token: string }>().refresh_token).header, { alg: 'HS256', typ: 'refresh+jwt' }, '/auth/refresh refresh token')

  const alice = directory.get('1') as TestUser
  const access = await app.createAccessToken(alice)
  const refreshToken = await app.createRefreshToken(alice)
  t.same(decodeJwt(access).header, { alg: 'HS256', typ: 'at+jwt' }, 'createAccessToken')
  t.same(decodeJwt(refreshToken).header, { alg: 'HS256', typ: 'refresh+jwt' }, 'createRefreshToken')
  assertUser(t, await callMe(app, access))
  assertRefreshed(t, await refreshEndpoint(app, refreshToken))
})

t.test('a token typed otherwise is refused although its signature verifies', async (t) => {
  const app = await jwtApp(t)
  // Each list: typ values refused on that kind of token (undefined: no typ at all).
  const wrong = (other: string): unknown[] => [undefined, 'JWT', 'jwt', '', 42, null, other, `application/${other}`, 'application/jwt', 'text/at+jwt', 'at+jwt ']
  for (const typ of wrong('refresh+jwt')) {
    assertRefused(t, await callMe(app, typed('access', typ)), WRONG_TYPE, `access token, typ ${JSON.stringify(typ)}, on jwtRequired`)
  }
  for (const typ of wrong('at+jwt')) {
    assertRefused(t, await refresh(app, typed('refresh', typ)), WRONG_TYPE, `refresh token, typ ${JSON.stringify(typ)}, on refreshJwtRequired`)
  }
  // Control: the same claims with the right typ pass.
  assertUser(t, await callMe(app, typed('access', 'at+jwt')))
  assertRefreshed(t, await refresh(app, typed('refresh', 'refresh+jwt')))
})

t.test('the application/ prefix may be left out or kept, in any case (RFC 7515 §4.1.9)', async (t) => {
  const app = await jwtApp(t)
  for (const typ of ['application/at+jwt', 'AT+JWT', 'Application/At+Jwt', 'APPLICATION/AT+JWT']) {
    assertUser(t, await callMe(app, typed('access', typ)))
  }
  for (const typ of ['application/refresh+jwt', 'REFRESH+JWT', 'Application/Refresh+JWT']) {
    assertRefreshed(t, await refresh(app, typed('refresh', typ)))
  }
})

/** Claims an app might put in its own JWTs, shaped exactly like ours (iat is added by fast-jwt). */
function lookalike (type: 'access' | 'refresh'): Record<string, unknown> {
  const { iat: _iat, ...rest } = claims(type, { fresh: true })
  return rest
}

/** The app's own @fastify/jwt tokens: valid for it, refused by our guards. */
async function assertOwnJwtRefused (t: Test, app: FastifyInstance): Promise<void> {
  const access = app.jwt.sign(lookalike('access'))
  const refreshToken = app.jwt.sign(lookalike('refresh'))
  t.equal(decodeJwt(access).header.typ, 'JWT', 'fast-jwt types its tokens JWT')
  t.ok(app.jwt.verify(access), 'the signature verifies with the shared secret')
  t.ok(app.jwt.verify(refreshToken))
  assertRefused(t, await callMe(app, access), WRONG_TYPE, 'app token on jwtRequired')
  assertRefused(t, await refreshEndpoint(app, refreshToken), WRONG_TYPE, 'app token on refreshJwtRequired')
}

t.test("tokens of the app's own @fastify/jwt with the same secret are refused (RFC 8725 §3.12)", async (t) => {
  t.test('registered after fastify-login', async (t) => {
    const app = await jwtApp(t, {}, async (app) => { await app.register(fastifyJwt, { secret: SECRET }) })
    await assertOwnJwtRefused(t, app)
  })
  t.test('registered before fastify-login', async (t) => {
    const app = Fastify()
    t.teardown(() => app.close())
    await app.register(fastifyJwt, { secret: SECRET })
    await app.register(fastifyLogin, { session: false, loadUser: (id: string) => directory.get(id) ?? null, jwt: { secret: SECRET, authenticate } })
    app.get('/api/me', { preHandler: app.jwtRequired }, async (request) => ({ name: (request.currentUser as TestUser).name }))
    await app.ready()
    await assertOwnJwtRefused(t, app)
    // Control: our guards still take our own tokens in that app.
    const tokens = await getTokens(app)
    assertUser(t, await callMe(app, tokens.access_token))
    assertRefreshed(t, await refreshEndpoint(app, tokens.refresh_token))
  })
})

t.test('a token issued in the future beyond the leeway is refused', async (t) => {
  for (const leeway of [0, 30]) {
    t.test(`leeway ${leeway}`, async (t) => {
      const app = await jwtApp(t, { leeway })
      // Date.now() stands still 100 ms into a second, so the bounds below are exact.
      await fakeClock(t).frozen(async () => {
        const now = nowSeconds()
        // nbf lies in the past: only iat can make these tokens not yet valid.
        const at = (iat: number): Record<string, unknown> => ({ iat, nbf: now - 60, exp: now + 900 })
        for (const ahead of [leeway + 1, leeway + 3600]) {
          assertRefused(t, await callMe(app, typed('access', 'at+jwt', at(now + ahead))), NOT_YET_VALID, `access, iat now + ${ahead} s`)
          assertRefused(t, await refresh(app, typed('refresh', 'refresh+jwt', at(now + ahead))), NOT_YET_VALID, `refresh, iat now + ${ahead} s`)
        }
        for (const ahead of new Set([0, leeway === 0 ? 0 : leeway - 1, leeway])) {
          assertUser(t, await callMe(app, typed('access', 'at+jwt', at(now + ahead))))
          assertRefreshed(t, await refresh(app, typed('refresh', 'refresh+jwt', at(now + ahead))))
        }
      })
    })
  }
  t.test('with the verified-token cache too', async (t) => {
    const app = await jwtApp(t, { cache: true })
    const token = typed('access', 'at+jwt', { iat: nowSeconds() + 60, nbf: nowSeconds() - 60 })
    assertRefused(t, await callMe(app, token), NOT_YET_VALID)
    assertRefused(t, await callMe(app, token), NOT_YET_VALID, 'asked again')
  })
})

t.test('a future iat would otherwise slip past revokeAllTokens', async (t) => {
  const app = await jwtApp(t)
  const clock = fakeClock(t)
  const before = await getTokens(app)
  const now = nowSeconds()
  // Made before the logout everywhere, but claiming to be issued an hour later.
  const future = typed('access', 'at+jwt', { iat: now + 3600, nbf: now - 60, exp: now + 7200 })
  await app.revokeAllTokens('1')

  assertRefused(t, await callMe(app, before.access_token), 'FST_LOGIN_JWT_REVOKED', 'a token issued before the cut-off')
  assertRefused(t, await callMe(app, future), NOT_YET_VALID, 'the future token is refused all the same')
  // Once its iat has passed, the cut-off indeed lets it through: only the iat check stood in its way.
  clock.set(3601_000)
  assertUser(t, await callMe(app, future))
})
