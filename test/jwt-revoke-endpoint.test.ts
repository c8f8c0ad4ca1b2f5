import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import t, { type Test } from 'tap'
import { MemoryStore, type JwtOptions } from '../lib/index.js'
import { familyApp, refresh, SECRET, testClock } from './jwt-family-cases.js'
import { assertRefused, assertUser, callMe, getTokens, hmacToken, payloadOf } from './helpers.js'

/*
 * POST /auth/revoke (RFC 7009): form or JSON bodies, 200 for any token,
 * 400 `invalid_request` for a request without one, 415 for other media
 * types; a refresh token ends its family, an access token only itself.
 */

async function app (t: Test, jwt: Partial<JwtOptions> = {}): Promise<FastifyInstance> {
  const clock = testClock()
  return (await familyApp(t, new MemoryStore({ clock: clock.now }), clock, jwt, {}, (app) => {
    app.post('/echo', async (request) => ({ body: request.body }))
  })).app
}

function form (app: FastifyInstance, body: string, url = '/auth/revoke'): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'POST', url, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: body })
}

function json (app: FastifyInstance, body: unknown): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'POST', url: '/auth/revoke', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body) })
}

function assertRevokeAnswer (t: Test, res: LightMyRequestResponse, what: string): void {
  t.equal(res.statusCode, 200, `${what}: 200`)
  t.equal(res.body, '', `${what}: empty body`)
  t.equal(res.headers['cache-control'], 'no-store', `${what}: no-store`)
}

t.test('a refresh token, form encoded, ends its family', async (t) => {
  const server = await app(t)
  const tokens = await getTokens(server)
  const other = await getTokens(server)
  assertRevokeAnswer(t, await form(server, `token=${tokens.refresh_token}&token_type_hint=refresh_token`), 'refresh token')
  assertRefused(t, await refresh(server, tokens.refresh_token), 'FST_LOGIN_JWT_REVOKED')
  assertRefused(t, await callMe(server, tokens.access_token), 'FST_LOGIN_JWT_REVOKED', "the family's access token")
  assertUser(t, await callMe(server, other.access_token))
  assertRevokeAnswer(t, await form(server, `token=${tokens.refresh_token}`), 'the same token again')
})

t.test('an access token, as JSON, is revoked by itself; its family lives on', async (t) => {
  const server = await app(t)
  const tokens = await getTokens(server)
  assertRevokeAnswer(t, await json(server, { token: tokens.access_token, token_type_hint: 'access_token' }), 'access token')
  assertRefused(t, await callMe(server, tokens.access_token), 'FST_LOGIN_JWT_REVOKED')
  t.equal((await refresh(server, tokens.refresh_token)).statusCode, 200, 'the refresh token still works')
})

t.test('the hint is only a hint: a wrong or unknown one changes nothing', async (t) => {
  const server = await app(t)
  const tokens = await getTokens(server)
  assertRevokeAnswer(t, await json(server, { token: tokens.refresh_token, token_type_hint: 'access_token' }), 'wrong hint')
  assertRefused(t, await refresh(server, tokens.refresh_token), 'FST_LOGIN_JWT_REVOKED')
  const more = await getTokens(server)
  assertRevokeAnswer(t, await json(server, { token: more.access_token, token_type_hint: 'id_token' }), 'unknown hint')
  assertRefused(t, await callMe(server, more.access_token), 'FST_LOGIN_JWT_REVOKED')
  const last = await getTokens(server)
  assertRevokeAnswer(t, await json(server, { token: last.access_token, token_type_hint: 7 }), 'a hint that is no string')
})

t.test('200 for anything that is no live token of ours, and nothing changes', async (t) => {
  const server = await app(t)
  const tokens = await getTokens(server)
  const now = Math.floor(Date.now() / 1000)
  const expired = hmacToken({ sub: '1', jti: 'e', type: 'access', iat: now - 120, nbf: now - 120, exp: now - 60, fresh: false }, SECRET)
  const foreign = hmacToken({ sub: '1', jti: 'f', type: 'refresh', iat: now, nbf: now, exp: now + 60, fam: payloadOf(tokens.refresh_token).fam }, 'another-secret-0123456789abcdefghijkl')
  for (const [what, token] of [['garbage', 'junk'], ['expired', expired], ["another issuer's", foreign], ['oversized', 'a'.repeat(9000)]]) {
    assertRevokeAnswer(t, await json(server, { token }), what as string)
  }
  assertUser(t, await callMe(server, tokens.access_token))
  t.equal((await refresh(server, tokens.refresh_token)).statusCode, 200)
})

t.test('a request without a token is invalid_request; other media types are 415', async (t) => {
  const server = await app(t)
  const invalid: Array<[string, () => Promise<LightMyRequestResponse>]> = [
    ['no body', () => server.inject({ method: 'POST', url: '/auth/revoke' })],
    ['an empty form', () => form(server, '')],
    ['an empty token', () => form(server, 'token=')],
    ['the token twice', () => form(server, 'token=a&token=b')],
    ['no token field', () => json(server, { token_type_hint: 'access_token' })],
    ['a number', () => json(server, { token: 12 })],
    ['an array', () => json(server, [{ token: 'a' }])],
    ['null', () => json(server, null)],
    ['bad JSON', () => server.inject({ method: 'POST', url: '/auth/revoke', headers: { 'content-type': 'application/json' }, payload: '{"token":' })]
  ]
  for (const [what, send] of invalid) {
    const res = await send()
    t.equal(res.statusCode, 400, `${what}: 400`)
    t.same(res.json(), { error: 'invalid_request' }, `${what}: RFC 6749 §5.2 body`)
  }
  const text = await server.inject({ method: 'POST', url: '/auth/revoke', headers: { 'content-type': 'text/plain' }, payload: 'token=a' })
  t.equal(text.statusCode, 415)
  const big = await form(server, `token=${'a'.repeat(20_000)}`)
  t.equal(big.statusCode, 413, 'a body over the limit')
})

t.test("the app's own parsers are untouched outside the route", async (t) => {
  const server = await app(t)
  const res = await server.inject({ method: 'POST', url: '/echo', payload: { a: 1 } })
  t.same(res.json(), { body: { a: 1 } })
  const formRes = await form(server, 'a=1', '/echo')
  t.equal(formRes.statusCode, 415, 'no form parser leaked into the app')
})

t.test('revokePath moves or turns off the endpoint', async (t) => {
  const moved = await app(t, { revokePath: '/oauth/revoke' })
  const tokens = await getTokens(moved)
  assertRevokeAnswer(t, await form(moved, `token=${tokens.refresh_token}`, '/oauth/revoke'), 'moved')
  assertRefused(t, await refresh(moved, tokens.refresh_token), 'FST_LOGIN_JWT_REVOKED')
  const off = await app(t, { revokePath: false })
  t.equal((await form(off, 'token=a')).statusCode, 404)
})
