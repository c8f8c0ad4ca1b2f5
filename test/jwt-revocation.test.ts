import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import t, { type Test } from 'tap'
import { MemoryStore, type FastifyLoginOptions, type JwtClaims, type JwtOptions, type LoginStore } from '../lib/index.js'
import {
  assertRefused, assertUser, authenticate, bearer, buildApp, callMe, directory, fakeClock, getTokens, payloadOf, type TestUser
} from './helpers.js'

/*
 * Token revocation: the logout endpoint, the isRevoked option,
 * fastify.revokeToken(), logout everywhere (revokeAllTokens), revocations
 * kept in the plugin's store (shared between apps, cleaned up by expiry,
 * a failing store refusing with 503).
 */

const SECRET = 'jwt-revocation-test-secret-0123456789abc'
/**
 * An app with the JWT part and:
 *  - GET  /api/me          jwtRequired; 200 { name, jti }
 *  - POST /api/revoke-me   jwtRequired; fastify.revokeToken(request.jwtClaims); 204
 *  - POST /api/signout     jwtRequired; reply.jwtLogout(); 204
 */
async function jwtApp (t: Test, jwt: Partial<JwtOptions> = {}, core: Partial<FastifyLoginOptions> = {}): Promise<FastifyInstance> {
  const { app } = await buildApp({ ...core, jwt: { secret: SECRET, authenticate, ...jwt } }, (app) => {
    app.get('/api/me', { preHandler: app.jwtRequired }, async (request) => ({
      name: (request.currentUser as TestUser).name,
      jti: request.jwtClaims?.jti
    }))
    app.post('/api/revoke-me', { preHandler: app.jwtRequired }, async (request, reply) => {
      await app.revokeToken(request.jwtClaims as JwtClaims)
      return reply.code(204).send()
    })
    app.post('/api/signout', { preHandler: app.jwtRequired }, async (_request, reply) => {
      await reply.jwtLogout()
      return reply.code(204).send()
    })
  })
  t.teardown(() => app.close())
  return app
}

function refresh (app: FastifyInstance, token: string): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'POST', url: '/auth/refresh', headers: bearer(token) })
}

function logout (app: FastifyInstance, access: string, refreshToken?: string): Promise<LightMyRequestResponse> {
  return app.inject({
    method: 'POST',
    url: '/auth/logout',
    headers: bearer(access),
    ...(refreshToken === undefined ? {} : { payload: { refresh_token: refreshToken } })
  })
}

function assertRefreshed (t: Test, res: LightMyRequestResponse): void {
  t.equal(res.statusCode, 200, `refresh works (${res.body.slice(0, 120)})`)
  t.type(res.json<{ access_token: unknown }>().access_token, 'string')
}

t.test('POST /auth/logout', async (t) => {
  t.test('revokes the access token and the refresh token of the body', async (t) => {
    const app = await jwtApp(t)
    const tokens = await getTokens(app)
    assertUser(t, await callMe(app, tokens.access_token))
    const res = await logout(app, tokens.access_token, tokens.refresh_token)
    t.equal(res.statusCode, 204)
    t.equal(res.body, '')
    assertRefused(t, await callMe(app, tokens.access_token), 'FST_LOGIN_JWT_REVOKED')
    assertRefused(t, await refresh(app, tokens.refresh_token), 'FST_LOGIN_JWT_REVOKED')
    assertRefused(t, await logout(app, tokens.access_token), 'FST_LOGIN_JWT_REVOKED')
  })

  t.test("without a body the access token's family ends all the same: its refresh token is refused", async (t) => {
    const app = await jwtApp(t)
    const tokens = await getTokens(app)
    t.equal((await logout(app, tokens.access_token)).statusCode, 204)
    assertRefused(t, await callMe(app, tokens.access_token), 'FST_LOGIN_JWT_REVOKED')
    assertRefused(t, await refresh(app, tokens.refresh_token), 'FST_LOGIN_JWT_REVOKED')
  })

  t.test('other tokens of the same user stay valid', async (t) => {
    const app = await jwtApp(t)
    const first = await getTokens(app)
    const second = await getTokens(app)
    t.equal((await logout(app, first.access_token, first.refresh_token)).statusCode, 204)
    assertUser(t, await callMe(app, second.access_token))
    assertRefreshed(t, await refresh(app, second.refresh_token))
  })

  t.test("another user's refresh token is not revoked", async (t) => {
    const app = await jwtApp(t)
    const alice = await getTokens(app, 'alice')
    const bob = await getTokens(app, 'bob')
    t.equal((await logout(app, alice.access_token, bob.refresh_token)).statusCode, 204)
    assertRefused(t, await callMe(app, alice.access_token), 'FST_LOGIN_JWT_REVOKED')
    assertRefreshed(t, await refresh(app, bob.refresh_token))
    assertUser(t, await callMe(app, bob.access_token), 'bob')
    // alice's own refresh token was not in the body, but its family ended with her access token
    assertRefused(t, await refresh(app, alice.refresh_token), 'FST_LOGIN_JWT_REVOKED')
  })

  t.test('needs an access token', async (t) => {
    const app = await jwtApp(t)
    const tokens = await getTokens(app)
    assertRefused(t, await app.inject({ method: 'POST', url: '/auth/logout' }), 'FST_LOGIN_JWT_NO_TOKEN')
    assertRefused(t, await logout(app, tokens.refresh_token), 'FST_LOGIN_JWT_WRONG_TYPE')
    assertRefreshed(t, await refresh(app, tokens.refresh_token))
  })

  t.test('a bad refresh_token in the body does not break logout', async (t) => {
    const app = await jwtApp(t)
    for (const junk of ['junk', `${(await getTokens(app)).refresh_token}x`]) {
      const tokens = await getTokens(app)
      t.equal((await logout(app, tokens.access_token, junk)).statusCode, 204)
      assertRefused(t, await callMe(app, tokens.access_token), 'FST_LOGIN_JWT_REVOKED')
    }
    const tokens = await getTokens(app)
    // an access token in place of the refresh token revokes nothing more
    const other = await getTokens(app)
    t.equal((await logout(app, tokens.access_token, other.access_token)).statusCode, 204)
    assertUser(t, await callMe(app, other.access_token))
  })

  t.test('reply.jwtLogout() in a custom route does the same', async (t) => {
    const app = await jwtApp(t)
    const tokens = await getTokens(app)
    const res = await app.inject({ method: 'POST', url: '/api/signout', headers: bearer(tokens.access_token), payload: { refresh_token: tokens.refresh_token } })
    t.equal(res.statusCode, 204)
    assertRefused(t, await callMe(app, tokens.access_token), 'FST_LOGIN_JWT_REVOKED')
    assertRefused(t, await refresh(app, tokens.refresh_token), 'FST_LOGIN_JWT_REVOKED')
  })
})

t.test('the isRevoked option', async (t) => {
  const denied = new Set<string>()
  const seen: Array<{ jti: string, type: string, url: string }> = []
  const app = await jwtApp(t, {
    isRevoked: async (claims, request) => {
      seen.push({ jti: claims.jti, type: claims.type, url: request.url })
      return denied.has(claims.jti) || request.headers['x-deny'] === 'yes'
    }
  })
  const tokens = await getTokens(app)
  const jti = payloadOf(tokens.access_token).jti
  assertUser(t, await callMe(app, tokens.access_token))
  t.same(seen.at(-1), { jti, type: 'access', url: '/api/me' }, 'called with the claims and the request')

  assertRefused(t, await app.inject({ url: '/api/me', headers: { ...bearer(tokens.access_token), 'x-deny': 'yes' } }), 'FST_LOGIN_JWT_REVOKED')
  denied.add(jti)
  assertRefused(t, await callMe(app, tokens.access_token), 'FST_LOGIN_JWT_REVOKED')
  const other = await getTokens(app)
  assertUser(t, await callMe(app, other.access_token))

  denied.add(payloadOf(tokens.refresh_token).jti)
  assertRefused(t, await refresh(app, tokens.refresh_token), 'FST_LOGIN_JWT_REVOKED')
  t.same(seen.at(-1), { jti: payloadOf(tokens.refresh_token).jti, type: 'refresh', url: '/auth/refresh' }, 'refresh tokens are checked too')
})

t.test('fastify.revokeToken() from a custom route', async (t) => {
  const app = await jwtApp(t)
  const tokens = await getTokens(app)
  const other = await getTokens(app)
  const res = await app.inject({ method: 'POST', url: '/api/revoke-me', headers: bearer(tokens.access_token) })
  t.equal(res.statusCode, 204)
  assertRefused(t, await callMe(app, tokens.access_token), 'FST_LOGIN_JWT_REVOKED')
  assertUser(t, await callMe(app, other.access_token))
  assertRefreshed(t, await refresh(app, tokens.refresh_token))

  t.test('revoking a refresh token by its claims ends its family', async (t) => {
    const more = await getTokens(app)
    await app.revokeToken(payloadOf(more.refresh_token))
    assertRefused(t, await refresh(app, more.refresh_token), 'FST_LOGIN_JWT_REVOKED')
    assertRefused(t, await callMe(app, more.access_token), 'FST_LOGIN_JWT_REVOKED', "the family's access token too")
    assertRefreshed(t, await refresh(app, other.refresh_token))
  })

  t.test('a token of no family (createAccessToken) is revoked by its id', async (t) => {
    const alice = directory.get('1') as TestUser
    const token = await app.createAccessToken(alice)
    const untouched = await app.createAccessToken(alice)
    await app.revokeToken(payloadOf(token))
    assertRefused(t, await callMe(app, token), 'FST_LOGIN_JWT_REVOKED')
    assertUser(t, await callMe(app, untouched))
  })
})

t.test('logout everywhere: fastify.revokeAllTokens(userId)', async (t) => {
  const app = await jwtApp(t)
  const clock = fakeClock(t)
  const alice = await getTokens(app, 'alice')
  const aliceMore = await getTokens(app, 'alice')
  const bob = await getTokens(app, 'bob')

  await app.revokeAllTokens('1')
  for (const tokens of [alice, aliceMore]) {
    assertRefused(t, await callMe(app, tokens.access_token), 'FST_LOGIN_JWT_REVOKED')
    assertRefused(t, await refresh(app, tokens.refresh_token), 'FST_LOGIN_JWT_REVOKED')
  }
  assertUser(t, await callMe(app, bob.access_token), 'bob')
  assertRefreshed(t, await refresh(app, bob.refresh_token))

  // iat has one-second granularity: a token must come from a later second to survive the cut-off.
  clock.set(2000)
  const later = await getTokens(app, 'alice')
  assertUser(t, await callMe(app, later.access_token))
  assertRefreshed(t, await refresh(app, later.refresh_token))
  assertRefused(t, await callMe(app, alice.access_token), 'FST_LOGIN_JWT_REVOKED')
  assertRefused(t, await refresh(app, alice.refresh_token), 'FST_LOGIN_JWT_REVOKED')

  // A second cut-off moves forward and catches the newer tokens too.
  await app.revokeAllTokens('1')
  assertRefused(t, await callMe(app, later.access_token), 'FST_LOGIN_JWT_REVOKED')
  assertUser(t, await callMe(app, bob.access_token), 'bob')
  clock.restore()
})

t.test("revocations live in the plugin's store: two apps on one store honour each other's", async (t) => {
  const store = new MemoryStore()
  t.teardown(() => store.close())
  const a = await jwtApp(t, {}, { store })
  const b = await jwtApp(t, {}, { store })
  const tokens = await getTokens(a)
  assertUser(t, await callMe(b, tokens.access_token), 'alice')
  t.equal((await logout(b, tokens.access_token)).statusCode, 204, 'logged out on B')
  assertRefused(t, await callMe(a, tokens.access_token), 'FST_LOGIN_JWT_REVOKED', 'refused on A')
  assertRefused(t, await refresh(a, tokens.refresh_token), 'FST_LOGIN_JWT_REVOKED', 'its family ended for A too')

  const bob = await getTokens(a, 'bob')
  await b.revokeAllTokens('2')
  assertRefused(t, await callMe(a, bob.access_token), 'FST_LOGIN_JWT_REVOKED', "B's logout everywhere holds on A")
})

t.test('revokeAllTokens() refuses a user id that is not a non-empty string', async (t) => {
  const app = await jwtApp(t)
  await t.rejects(app.revokeAllTokens(''), TypeError)
  await t.rejects(app.revokeAllTokens(1 as unknown as string), TypeError)
})

/** A MemoryStore whose every operation throws once `down` is set. */
function failingStore (): { store: LoginStore, down: (value: boolean) => void } {
  const inner = new MemoryStore()
  let failing = false
  const store = new Proxy(inner, {
    get (target, name, receiver) {
      const value = Reflect.get(target, name, receiver)
      if (typeof value !== 'function') return value
      return (...args: unknown[]) => {
        if (failing && name !== 'close') throw new Error('store down')
        return value.apply(target, args)
      }
    }
  })
  return { store, down: (value) => { failing = value } }
}

t.test('a store that fails gives 503 with Retry-After, never a login', async (t) => {
  const { store, down } = failingStore()
  const app = await jwtApp(t, {}, { store })
  const tokens = await getTokens(app)
  down(true)
  for (const res of [await callMe(app, tokens.access_token), await refresh(app, tokens.refresh_token), await logout(app, tokens.access_token)]) {
    t.equal(res.statusCode, 503)
    t.equal(res.headers['retry-after'], '1')
    t.equal(res.json().code, 'FST_LOGIN_STORE_UNAVAILABLE')
    t.notMatch(res.body, /alice/)
  }
  const login = await app.inject({ method: 'POST', url: '/auth', payload: { username: 'alice', password: 'correct horse' } })
  t.equal(login.statusCode, 503, 'no login while the store is down')
  t.notMatch(login.body, /access_token/)
  down(false)
  assertUser(t, await callMe(app, tokens.access_token), 'alice')
})

t.test('store entries of revoked tokens expire with the tokens', async (t) => {
  t.test('a revoked token id is kept until the token expires, then goes', async (t) => {
    const clock = fakeClock(t)
    // Date.now read at each call: the fake clock moves the store too.
    const store = new MemoryStore({ clock: () => Date.now() })
    t.teardown(() => store.close())
    const app = await jwtApp(t, { accessTokenExpires: '1m', authPath: false, refreshPath: false }, { store })
    const alice = directory.get('1') as TestUser
    const token = await app.createAccessToken(alice)
    const key = `jwtrev:${payloadOf(token).jti}`
    await app.revokeToken(payloadOf(token))
    t.ok(await store.get(key), 'an entry for the revoked token, under jwtrev:<jti>')
    assertRefused(t, await callMe(app, token), 'FST_LOGIN_JWT_REVOKED')
    clock.set(61_000)
    t.equal(await store.get(key), null, 'gone once the token has expired')
    assertRefused(t, await callMe(app, token), 'FST_LOGIN_JWT_EXPIRED')
  })

  t.test('revoking a token already past its expiry and leeway writes nothing', async (t) => {
    const store = new MemoryStore()
    t.teardown(() => store.close())
    const app = await jwtApp(t, {}, { store })
    const before = store.size
    const now = Math.floor(Date.now() / 1000)
    await app.revokeToken({ sub: '1', jti: 'old', type: 'access', iat: now - 120, nbf: now - 120, exp: now - 60, fresh: false })
    t.equal(store.size, before)
  })

  // A token accepted thanks to the leeway must not come back to life because
  // its revocation entry ended at `exp`.
  t.test('a revoked token stays revoked within the leeway after its expiry', async (t) => {
    const app = await jwtApp(t, { leeway: 30, accessTokenExpires: '1m' })
    const clock = fakeClock(t)
    const alice = directory.get('1') as TestUser
    const token = await app.createAccessToken(alice)
    clock.set(70_000)
    assertUser(t, await callMe(app, token), 'alice')
    clock.restore()
    await app.revokeToken(payloadOf(token))
    clock.set(70_000)
    assertRefused(t, await callMe(app, token), 'FST_LOGIN_JWT_REVOKED')
  })

  // The cut-off must be kept as long as any token it covers can live, whichever lifetime is the longest.
  // (Access tokens live at most a day, so here the access lifetime is the longest one by a short refresh lifetime.)
  t.test('logout everywhere holds for access tokens that outlive the refresh tokens', async (t) => {
    const app = await jwtApp(t, { accessTokenExpires: '1d', refreshTokenExpires: '1h' })
    const clock = fakeClock(t)
    const token = await app.createAccessToken(directory.get('1') as TestUser)
    await app.revokeAllTokens('1')
    assertRefused(t, await callMe(app, token), 'FST_LOGIN_JWT_REVOKED')
    clock.set(2 * 3600_000)
    assertRefused(t, await callMe(app, token), 'FST_LOGIN_JWT_REVOKED')
    clock.set(23 * 3600_000)
    assertRefused(t, await callMe(app, token), 'FST_LOGIN_JWT_REVOKED')
  })

  t.test('the cut-off outlives a deleteUser of the store', async (t) => {
    const store = new MemoryStore()
    t.teardown(() => store.close())
    const app = await jwtApp(t, {}, { store })
    const token = await app.createAccessToken(directory.get('1') as TestUser)
    await app.revokeAllTokens('1')
    await store.deleteUser('1')
    assertRefused(t, await callMe(app, token), 'FST_LOGIN_JWT_REVOKED')
  })
})
