import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import t, { type Test } from 'tap'
import { MemoryRevocationStore, type JwtClaims, type JwtOptions, type RevocationStore } from '../lib/index.js'
import {
  assertRefused, assertUser, authenticate, bearer, buildApp, callMe, directory, fakeClock, getTokens, payloadOf, rejectsOption, type TestUser
} from './helpers.js'

/*
 * Token revocation: the logout endpoint, the isRevoked option,
 * fastify.revokeToken(), logout everywhere (revokeAllTokens), custom
 * revocation stores and the in-memory store's clean-up.
 */

const SECRET = 'jwt-revocation-test-secret-0123456789abc'
/**
 * An app with the JWT part and:
 *  - GET  /api/me          jwtRequired; 200 { name, jti }
 *  - POST /api/revoke-me   jwtRequired; fastify.revokeToken(request.jwtClaims); 204
 *  - POST /api/signout     jwtRequired; reply.jwtLogout(); 204
 */
async function jwtApp (t: Test, jwt: Partial<JwtOptions> = {}): Promise<FastifyInstance> {
  const { app } = await buildApp({ jwt: { secret: SECRET, authenticate, ...jwt } }, (app) => {
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

  t.test('without a body only the access token is revoked', async (t) => {
    const app = await jwtApp(t)
    const tokens = await getTokens(app)
    t.equal((await logout(app, tokens.access_token)).statusCode, 204)
    assertRefused(t, await callMe(app, tokens.access_token), 'FST_LOGIN_JWT_REVOKED')
    assertRefreshed(t, await refresh(app, tokens.refresh_token))
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
    // alice's own refresh token was not in the body: still valid
    assertRefreshed(t, await refresh(app, alice.refresh_token))
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

  t.test('revoking a refresh token by its claims', async (t) => {
    await app.revokeToken(payloadOf(tokens.refresh_token))
    assertRefused(t, await refresh(app, tokens.refresh_token), 'FST_LOGIN_JWT_REVOKED')
    assertRefreshed(t, await refresh(app, other.refresh_token))
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

t.test('a custom revocationStore is consulted', async (t) => {
  const revoked = new Map<string, number>()
  const cutoffs = new Map<string, number>()
  const calls = { revoke: [] as Array<[string, number]>, isRevoked: [] as string[], setUserCutoff: [] as Array<[string, number]>, getUserCutoff: [] as string[] }
  const store: RevocationStore = {
    async revoke (jti, expiresAt) {
      calls.revoke.push([jti, expiresAt])
      revoked.set(jti, expiresAt)
    },
    async isRevoked (jti) {
      calls.isRevoked.push(jti)
      return revoked.has(jti)
    },
    async setUserCutoff (userId, cutoff) {
      calls.setUserCutoff.push([userId, cutoff])
      cutoffs.set(userId, cutoff)
    },
    async getUserCutoff (userId) {
      calls.getUserCutoff.push(userId)
      return cutoffs.get(userId)
    }
  }
  const app = await jwtApp(t, { revocationStore: store })
  t.equal(app.jwtRevocationStore, store, 'fastify.jwtRevocationStore is the given store')

  const tokens = await getTokens(app)
  const access = payloadOf(tokens.access_token)
  const refreshClaims = payloadOf(tokens.refresh_token)
  assertUser(t, await callMe(app, tokens.access_token))
  t.same(calls.isRevoked, [access.jti], 'isRevoked asked once for the token')
  t.same(calls.getUserCutoff, ['1'], 'getUserCutoff asked once for its user')

  t.equal((await logout(app, tokens.access_token, tokens.refresh_token)).statusCode, 204)
  t.same(calls.revoke, [[access.jti, access.exp], [refreshClaims.jti, refreshClaims.exp]], 'both tokens revoked until their expiry')
  assertRefused(t, await callMe(app, tokens.access_token), 'FST_LOGIN_JWT_REVOKED')

  // A store that says "revoked" is obeyed even for a token this app never saw revoked.
  const bob = await getTokens(app, 'bob')
  revoked.set(payloadOf(bob.access_token).jti, 0)
  assertRefused(t, await callMe(app, bob.access_token), 'FST_LOGIN_JWT_REVOKED')

  const before = Math.floor(Date.now() / 1000)
  await app.revokeAllTokens('2')
  t.equal(calls.setUserCutoff.length, 1)
  t.equal(calls.setUserCutoff[0]?.[0], '2')
  t.ok((calls.setUserCutoff[0]?.[1] ?? 0) >= before, 'the cut-off is now, in seconds')
  t.ok((calls.setUserCutoff[0]?.[1] ?? Infinity) <= Math.floor(Date.now() / 1000))
  assertRefused(t, await refresh(app, bob.refresh_token), 'FST_LOGIN_JWT_REVOKED')
})

t.test('a store that throws gives an error, never a login', async (t) => {
  const failing: RevocationStore = {
    revoke () { throw new Error('store down') },
    isRevoked () { throw new Error('store down') },
    setUserCutoff () { throw new Error('store down') },
    getUserCutoff () { throw new Error('store down') }
  }
  const app = await jwtApp(t, { revocationStore: failing })
  const tokens = await getTokens(app)
  const res = await callMe(app, tokens.access_token)
  t.not(res.statusCode, 200, 'the request is not let through')
  t.notMatch(res.body, /alice/)
})

t.test('MemoryRevocationStore clean-up', async (t) => {
  t.test('revoked tokens are dropped once they have expired', async (t) => {
    const clock = fakeClock(t)
    const store = new MemoryRevocationStore()
    const now = Math.floor(Date.now() / 1000)
    await store.revoke('short', now + 10)
    await store.revoke('long', now + 3600)
    t.equal(store.size, 2)
    t.equal(await store.isRevoked('short'), true)
    t.equal(await store.isRevoked('unknown'), false)

    // The store sweeps at most once a minute, when something is revoked.
    clock.set(120_000)
    t.equal(await store.isRevoked('short'), false, 'an expired entry no longer counts')
    t.equal(await store.isRevoked('long'), true)
    await store.revoke('third', now + 3600)
    t.equal(store.size, 2, 'the expired entry is gone after the sweep')
    t.equal(await store.isRevoked('long'), true)
    t.equal(await store.isRevoked('third'), true)

    clock.set(4000_000)
    await store.revoke('fourth', now + 8000)
    t.equal(store.size, 1, 'only the unexpired entry remains')
  })

  t.test('user cut-offs are dropped after the longest token lifetime', async (t) => {
    const clock = fakeClock(t)
    const store = new MemoryRevocationStore(100)
    const now = Math.floor(Date.now() / 1000)
    await store.setUserCutoff('1', now)
    t.equal(await store.getUserCutoff('1'), now)
    clock.set(90_000)
    await store.setUserCutoff('2', now + 90)
    t.equal(await store.getUserCutoff('1'), now, 'kept while tokens from before it may still be valid')
    clock.set(200_000)
    await store.setUserCutoff('2', now + 200)
    t.equal(await store.getUserCutoff('1'), undefined, 'dropped once every earlier token has expired')
    t.equal(await store.getUserCutoff('2'), now + 200)
  })

  t.test('through the app: entries of logged-out tokens go after their expiry', async (t) => {
    const store = new MemoryRevocationStore()
    const app = await jwtApp(t, { revocationStore: store, accessTokenExpires: '1m' })
    const clock = fakeClock(t)
    const alice = await getTokens(app)
    t.equal((await logout(app, alice.access_token)).statusCode, 204)
    t.equal(store.size, 1)
    clock.set(120_000)
    assertRefused(t, await callMe(app, alice.access_token), 'FST_LOGIN_JWT_EXPIRED')
    const bob = await getTokens(app, 'bob')
    t.equal((await logout(app, bob.access_token)).statusCode, 204)
    t.equal(store.size, 1, "only bob's token is held")
    assertRefused(t, await callMe(app, bob.access_token), 'FST_LOGIN_JWT_REVOKED')
  })

  // A token accepted thanks to the leeway must not come back to life because
  // its revocation entry ended at `exp`.
  t.test('a revoked token stays revoked within the leeway after its expiry', async (t) => {
    const app = await jwtApp(t, { leeway: 30, accessTokenExpires: '1m' })
    const clock = fakeClock(t)
    const tokens = await getTokens(app)
    clock.set(70_000)
    assertUser(t, await callMe(app, tokens.access_token), 'alice')
    clock.restore()
    t.equal((await logout(app, tokens.access_token)).statusCode, 204)
    clock.set(70_000)
    assertRefused(t, await callMe(app, tokens.access_token), 'FST_LOGIN_JWT_REVOKED')
  })

  // The default store must keep a user's cut-off as long as that user's
  // tokens can live, whatever refreshTokenExpires is.
  t.test('logout everywhere holds for refresh tokens longer than 30 days', async (t) => {
    const app = await jwtApp(t, { refreshTokenExpires: '90d' })
    const clock = fakeClock(t)
    const tokens = await getTokens(app)
    await app.revokeAllTokens('1')
    assertRefused(t, await refresh(app, tokens.refresh_token), 'FST_LOGIN_JWT_REVOKED')
    clock.set(31 * 86400_000)
    // anything that makes the store sweep
    await app.revokeAllTokens('2')
    assertRefused(t, await refresh(app, tokens.refresh_token), 'FST_LOGIN_JWT_REVOKED')
  })
})

t.test('a revocationStore with missing methods is a registration error', async (t) => {
  const complete: Record<string, () => unknown> = {
    revoke: () => undefined,
    isRevoked: () => false,
    setUserCutoff: () => undefined,
    getUserCutoff: () => undefined
  }
  const cases: Array<[string, unknown]> = [
    ...Object.keys(complete).map((missing): [string, unknown] => {
      const store = { ...complete }
      delete store[missing]
      return [`without ${missing}`, store]
    }),
    ['with isRevoked not a function', { ...complete, isRevoked: true }],
    ['an empty object', {}],
    ['a string', 'redis://localhost'],
    ['a Map', new Map()]
  ]
  for (const [name, revocationStore] of cases) {
    t.test(name, async (t) => {
      await rejectsOption(t, {
        session: false,
        loadUser: (id: string) => directory.get(id) ?? null,
        jwt: { secret: SECRET, authenticate, revocationStore: revocationStore as RevocationStore }
      }, /revocationStore/)
    })
  }
})
