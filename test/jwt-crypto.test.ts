import { createHmac, generateKeyPairSync, randomBytes, sign as cryptoSign, type KeyObject } from 'node:crypto'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import t, { type Test } from 'tap'
import { MemoryStore, type FastifyLoginOptions, type JwtOptions } from '../lib/index.js'
import {
  assertRefused as assertRefusedWith, assertUser, authenticate, b64, bearer, buildApp, callMe, decodeJwt, fakeClock, getTokens, hmacToken, type TestUser
} from './helpers.js'

/*
 * Signature and claim checks of the JWT part: algorithms, keys and key
 * rotation, issuer/audience, time claims and leeway, required claims and
 * size limits. Hostile tokens are made here with node:crypto, never with the
 * plugin itself.
 */

const SECRET = 'jwt-crypto-test-secret-0123456789abcdef'
const OTHER_SECRET = 'jwt-crypto-other-secret-0123456789abcdef'
/**
 * An app with the JWT part (options `jwt` over a secret and `authenticate`) and GET /api/me behind jwtRequired;
 * `core` adds plugin options (two apps standing for one deployment share a `store`, where token families live).
 */
async function jwtApp (t: Test, jwt: Partial<JwtOptions> = {}, core: Partial<FastifyLoginOptions> = {}): Promise<FastifyInstance> {
  const base: JwtOptions = jwt.keys !== undefined || jwt.privateKey !== undefined || jwt.publicKey !== undefined
    ? { authenticate }
    : { secret: SECRET, authenticate }
  const { app } = await buildApp({ ...core, jwt: { ...base, ...jwt } }, (app) => {
    app.get('/api/me', { preHandler: app.jwtRequired }, async (request) => ({
      name: (request.currentUser as TestUser).name,
      claims: request.jwtClaims
    }))
  })
  t.teardown(() => app.close())
  return app
}

interface MeBody {
  name: string
  claims: Record<string, unknown>
}

/** The shared 401 check, plus the RFC 6750 challenge every refusal here carries. */
function assertRefused (t: Test, res: LightMyRequestResponse, code: string): void {
  assertRefusedWith(t, res, code)
  t.match(res.headers['www-authenticate'], /^Bearer realm="api"/)
}

const nowSeconds = (): number => Math.floor(Date.now() / 1000)

/** Claims like the plugin's access tokens, for user alice, valid for 15 minutes; `overrides` on top. */
function claims (overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const now = nowSeconds()
  return { sub: '1', jti: randomBytes(16).toString('base64url'), type: 'access', iat: now, nbf: now, exp: now + 900, fresh: true, ...overrides }
}

/** An RS256 token made with node:crypto. */
function rsaToken (payload: Record<string, unknown>, privateKey: string | KeyObject, header: Record<string, unknown> = { alg: 'RS256', typ: 'at+jwt' }): string {
  const input = `${b64(header)}.${b64(payload)}`
  return `${input}.${cryptoSign('sha256', Buffer.from(input), privateKey).toString('base64url')}`
}

const PEM = { publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } } as const

function rsaPair (): { publicKey: string, privateKey: string } {
  return generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: PEM.publicKeyEncoding, privateKeyEncoding: PEM.privateKeyEncoding })
}

t.test('alg: none is refused', async (t) => {
  const app = await jwtApp(t)
  const unsigned = `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64(claims())}`
  t.test('with an empty signature', async (t) => {
    assertRefused(t, await callMe(app, `${unsigned}.`), 'FST_LOGIN_JWT_INVALID')
  })
  t.test('with a bogus signature', async (t) => {
    assertRefused(t, await callMe(app, `${unsigned}.${randomBytes(32).toString('base64url')}`), 'FST_LOGIN_JWT_INVALID')
  })
  t.test('with a valid HMAC over an alg: none header', async (t) => {
    assertRefused(t, await callMe(app, hmacToken(claims(), SECRET, { alg: 'none', typ: 'at+jwt' })), 'FST_LOGIN_JWT_INVALID')
  })
  t.test('the same claims signed properly are accepted (control)', async (t) => {
    assertUser(t, await callMe(app, hmacToken(claims(), SECRET)))
  })
})

t.test('HS/RS confusion: an HMAC made with the public key is refused', async (t) => {
  const pair = rsaPair()
  const app = await jwtApp(t, { algorithm: 'RS256', privateKey: pair.privateKey, publicKey: pair.publicKey })
  assertUser(t, await callMe(app, rsaToken(claims(), pair.privateKey)), 'alice')
  const forged = hmacToken(claims(), pair.publicKey)
  assertRefused(t, await callMe(app, forged), 'FST_LOGIN_JWT_INVALID')
  const forged512 = `${b64({ alg: 'HS512', typ: 'at+jwt' })}.${b64(claims())}`
  const forgedSig = createHmac('sha512', pair.publicKey).update(forged512).digest('base64url')
  assertRefused(t, await callMe(app, `${forged512}.${forgedSig}`), 'FST_LOGIN_JWT_INVALID')
})

t.test('a token signed with another secret is refused', async (t) => {
  const app = await jwtApp(t)
  const other = await jwtApp(t, { secret: OTHER_SECRET })
  const { access_token: foreign } = await getTokens(other)
  assertUser(t, await callMe(other, foreign))
  assertRefused(t, await callMe(app, foreign), 'FST_LOGIN_JWT_INVALID')
  assertRefused(t, await callMe(app, hmacToken(claims(), OTHER_SECRET)), 'FST_LOGIN_JWT_INVALID')
})

t.test('a token whose payload was changed after signing is refused', async (t) => {
  const app = await jwtApp(t)
  const { access_token: token } = await getTokens(app)
  const [header, , signature] = token.split('.')
  const changed = { ...decodeJwt(token).payload, sub: '2' }
  assertRefused(t, await callMe(app, `${header}.${b64(changed)}.${signature}`), 'FST_LOGIN_JWT_INVALID')
})

t.test('asymmetric algorithms: /auth then a guarded route', async (t) => {
  const pairs: Record<string, { publicKey: string, privateKey: string }> = {
    RS256: generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: PEM.publicKeyEncoding, privateKeyEncoding: PEM.privateKeyEncoding }),
    PS256: generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: PEM.publicKeyEncoding, privateKeyEncoding: PEM.privateKeyEncoding }),
    ES256: generateKeyPairSync('ec', { namedCurve: 'prime256v1', publicKeyEncoding: PEM.publicKeyEncoding, privateKeyEncoding: PEM.privateKeyEncoding }),
    EdDSA: generateKeyPairSync('ed25519', { publicKeyEncoding: PEM.publicKeyEncoding, privateKeyEncoding: PEM.privateKeyEncoding })
  }
  for (const [algorithm, pair] of Object.entries(pairs)) {
    t.test(algorithm, async (t) => {
      const app = await jwtApp(t, { algorithm: algorithm as JwtOptions['algorithm'], privateKey: pair.privateKey, publicKey: pair.publicKey })
      const { access_token: token } = await getTokens(app)
      t.equal(decodeJwt(token).header.alg, algorithm, 'the token is signed with the configured algorithm')
      const res = await callMe(app, token)
      assertUser(t, res)
      t.equal(res.json<MeBody>().claims.sub, '1')
      // The signature really is checked: the same signature over another payload fails.
      const [header, , signature] = token.split('.')
      const tampered = `${header}.${b64({ ...decodeJwt(token).payload, sub: '2' })}.${signature}`
      assertRefused(t, await callMe(app, tampered), 'FST_LOGIN_JWT_INVALID')
    })
  }
})

t.test('key rotation by kid', async (t) => {
  const s1 = 'rotation-secret-one-0123456789abcdefgh'
  const s2 = 'rotation-secret-two-0123456789abcdefgh'
  // The old and the new deployment share their store, as they would share Redis.
  const store = new MemoryStore()
  t.teardown(() => store.close())
  const appA = await jwtApp(t, { keys: [{ kid: 'k1', secret: s1 }] }, { store })
  const appB = await jwtApp(t, { keys: [{ kid: 'k2', secret: s2 }, { kid: 'k1', secret: s1 }] }, { store })
  const { access_token: fromA } = await getTokens(appA)
  t.equal(decodeJwt(fromA).header.kid, 'k1', 'app A writes its kid')

  t.test('the new app accepts tokens signed with the old key', async (t) => {
    assertUser(t, await callMe(appB, fromA))
  })
  t.test('the new app signs with the first key', async (t) => {
    const { access_token: fromB, refresh_token: refreshB } = await getTokens(appB)
    t.equal(decodeJwt(fromB).header.kid, 'k2')
    t.equal(decodeJwt(refreshB).header.kid, 'k2')
    assertUser(t, await callMe(appB, fromB))
    // app A does not know k2
    assertRefused(t, await callMe(appA, fromB), 'FST_LOGIN_JWT_UNKNOWN_KEY')
  })
  t.test('a token with an unknown kid is refused', async (t) => {
    assertRefused(t, await callMe(appB, hmacToken(claims(), s1, { alg: 'HS256', typ: 'at+jwt', kid: 'k3' })), 'FST_LOGIN_JWT_UNKNOWN_KEY')
  })
  t.test('a kid that is not a string is refused', async (t) => {
    assertRefused(t, await callMe(appB, hmacToken(claims(), s1, { alg: 'HS256', typ: 'at+jwt', kid: ['k1'] })), 'FST_LOGIN_JWT_UNKNOWN_KEY')
  })
  t.test('a kid naming a key that did not sign the token is refused', async (t) => {
    assertRefused(t, await callMe(appB, hmacToken(claims(), s1, { alg: 'HS256', typ: 'at+jwt', kid: 'k2' })), 'FST_LOGIN_JWT_INVALID')
  })
  t.test('with several keys, a token without kid is refused', async (t) => {
    assertRefused(t, await callMe(appB, hmacToken(claims(), s1)), 'FST_LOGIN_JWT_UNKNOWN_KEY')
    assertRefused(t, await callMe(appB, hmacToken(claims(), s2)), 'FST_LOGIN_JWT_UNKNOWN_KEY')
  })
  t.test('a single key with a kid refuses another kid', async (t) => {
    assertRefused(t, await callMe(appA, hmacToken(claims(), s1, { alg: 'HS256', typ: 'at+jwt', kid: 'k9' })), 'FST_LOGIN_JWT_UNKNOWN_KEY')
  })
  t.test('a single key with a kid: another kid comes first, before the signature and the expiry', async (t) => {
    const other = { alg: 'HS256', typ: 'at+jwt', kid: 'k9' }
    assertRefused(t, await callMe(appA, hmacToken(claims(), s2, other)), 'FST_LOGIN_JWT_UNKNOWN_KEY')
    assertRefused(t, await callMe(appA, hmacToken(claims({ exp: nowSeconds() - 60 }), s1, other)), 'FST_LOGIN_JWT_UNKNOWN_KEY')
    assertRefused(t, await callMe(appA, hmacToken(claims(), s1, { alg: 'HS256', typ: 'at+jwt', kid: 1 })), 'FST_LOGIN_JWT_UNKNOWN_KEY')
  })
  t.test('a single key with a kid: its own kid, or none, gets the usual refusals and acceptance', async (t) => {
    for (const header of [{ alg: 'HS256', typ: 'at+jwt', kid: 'k1' }, { alg: 'HS256', typ: 'at+jwt' }]) {
      assertRefused(t, await callMe(appA, hmacToken(claims(), s2, header)), 'FST_LOGIN_JWT_INVALID')
      assertRefused(t, await callMe(appA, hmacToken(claims({ exp: nowSeconds() - 60 }), s1, header)), 'FST_LOGIN_JWT_EXPIRED')
      assertRefused(t, await callMe(appA, hmacToken(claims({ nbf: nowSeconds() + 60 }), s1, header)), 'FST_LOGIN_JWT_NOT_YET_VALID')
      assertUser(t, await callMe(appA, hmacToken(claims(), s1, header)))
    }
  })
})

t.test('a verify-only key (public key without private key) in the second slot', async (t) => {
  const pair = rsaPair()
  const store = new MemoryStore()
  t.teardown(() => store.close())
  const issuer = await jwtApp(t, { keys: [{ kid: 'rsa-old', algorithm: 'RS256', privateKey: pair.privateKey, publicKey: pair.publicKey }] }, { store })
  const verifier = await jwtApp(t, {
    keys: [
      { kid: 'hs-new', secret: SECRET },
      { kid: 'rsa-old', algorithm: 'RS256', publicKey: pair.publicKey }
    ]
  }, { store })
  const { access_token: old } = await getTokens(issuer)
  t.equal(decodeJwt(old).header.kid, 'rsa-old')
  assertUser(t, await callMe(verifier, old))
  const { access_token: fresh } = await getTokens(verifier, 'bob')
  t.same(decodeJwt(fresh).header, { alg: 'HS256', typ: 'at+jwt', kid: 'hs-new' })
  assertUser(t, await callMe(verifier, fresh), 'bob')
  // an HMAC with the verify-only public key and its kid is no use either
  assertRefused(t, await callMe(verifier, hmacToken(claims(), pair.publicKey, { alg: 'HS256', typ: 'at+jwt', kid: 'rsa-old' })), 'FST_LOGIN_JWT_INVALID')
})

t.test('issuer and audience', async (t) => {
  const app = await jwtApp(t, { issuer: 'https://a.example', audience: 'api-a' })

  t.test('are written in tokens and accepted', async (t) => {
    const { access_token: token, refresh_token: refresh } = await getTokens(app)
    t.equal(decodeJwt(token).payload.iss, 'https://a.example')
    t.equal(decodeJwt(token).payload.aud, 'api-a')
    t.equal(decodeJwt(refresh).payload.iss, 'https://a.example')
    t.equal(decodeJwt(refresh).payload.aud, 'api-a')
    assertUser(t, await callMe(app, token))
  })
  t.test('a token from another issuer with the same secret is refused', async (t) => {
    const other = await jwtApp(t, { issuer: 'https://b.example', audience: 'api-a' })
    const { access_token: token } = await getTokens(other)
    assertUser(t, await callMe(other, token))
    assertRefused(t, await callMe(app, token), 'FST_LOGIN_JWT_INVALID')
  })
  t.test('a token for another audience is refused', async (t) => {
    const other = await jwtApp(t, { issuer: 'https://a.example', audience: 'api-b' })
    const { access_token: token } = await getTokens(other)
    assertUser(t, await callMe(other, token))
    assertRefused(t, await callMe(app, token), 'FST_LOGIN_JWT_INVALID')
    assertRefused(t, await callMe(app, hmacToken(claims({ iss: 'https://a.example', aud: ['api-b', 'api-c'] }), SECRET)), 'FST_LOGIN_JWT_INVALID')
  })
  t.test('an audience list containing ours is accepted', async (t) => {
    assertUser(t, await callMe(app, hmacToken(claims({ iss: 'https://a.example', aud: ['api-b', 'api-a'] }), SECRET)))
  })
  // A token made by a service that shares the secret but sets no iss (or no aud)
  // must not pass an app that checks them: RFC 7519 leaves the claims optional,
  // but configuring an issuer or audience means requiring it.
  t.test('a token without iss is refused when an issuer is configured', async (t) => {
    const other = await jwtApp(t, { audience: 'api-a' })
    const { access_token: token } = await getTokens(other)
    t.notOk('iss' in decodeJwt(token).payload)
    assertRefused(t, await callMe(app, token), 'FST_LOGIN_JWT_INVALID')
  })
  t.test('a token without aud is refused when an audience is configured', async (t) => {
    const other = await jwtApp(t, { issuer: 'https://a.example' })
    const { access_token: token } = await getTokens(other)
    t.notOk('aud' in decodeJwt(token).payload)
    assertRefused(t, await callMe(app, token), 'FST_LOGIN_JWT_INVALID')
  })
})

t.test('leeway on exp and nbf', async (t) => {
  const lenient = await jwtApp(t, { leeway: 10 })
  const strict = await jwtApp(t, { leeway: 0 })

  t.test('leeway 10: expired 5 s ago is accepted', async (t) => {
    const now = nowSeconds()
    assertUser(t, await callMe(lenient, hmacToken(claims({ iat: now - 100, nbf: now - 100, exp: now - 5 }), SECRET)))
  })
  t.test('leeway 10: expired 15 s ago is refused', async (t) => {
    const now = nowSeconds()
    assertRefused(t, await callMe(lenient, hmacToken(claims({ iat: now - 100, nbf: now - 100, exp: now - 15 }), SECRET)), 'FST_LOGIN_JWT_EXPIRED')
  })
  t.test('leeway 10: valid from 5 s ahead is accepted', async (t) => {
    const now = nowSeconds()
    assertUser(t, await callMe(lenient, hmacToken(claims({ nbf: now + 5 }), SECRET)))
  })
  t.test('leeway 10: valid from 15 s ahead is refused', async (t) => {
    const now = nowSeconds()
    assertRefused(t, await callMe(lenient, hmacToken(claims({ nbf: now + 15 }), SECRET)), 'FST_LOGIN_JWT_NOT_YET_VALID')
  })
  t.test('leeway 0: expired 1 s ago is refused', async (t) => {
    const now = nowSeconds()
    assertRefused(t, await callMe(strict, hmacToken(claims({ iat: now - 100, nbf: now - 100, exp: now - 1 }), SECRET)), 'FST_LOGIN_JWT_EXPIRED')
  })
  t.test('leeway 0: valid from 2 s ahead is refused', async (t) => {
    const now = nowSeconds()
    assertRefused(t, await callMe(strict, hmacToken(claims({ nbf: now + 2 }), SECRET)), 'FST_LOGIN_JWT_NOT_YET_VALID')
  })
  t.test('expired errors carry an RFC 6750 invalid_token challenge', async (t) => {
    const now = nowSeconds()
    const res = await callMe(strict, hmacToken(claims({ exp: now - 60 }), SECRET))
    t.equal(res.headers['www-authenticate'], 'Bearer realm="api", error="invalid_token", error_description="Token has expired"')
  })
})

t.test('required claims', async (t) => {
  const app = await jwtApp(t)
  const without = (name: string): Record<string, unknown> => {
    const c = claims()
    delete c[name]
    return c
  }
  for (const name of ['jti', 'type', 'sub', 'exp', 'iat']) {
    t.test(`a token without ${name} is refused`, async (t) => {
      assertRefused(t, await callMe(app, hmacToken(without(name), SECRET)), 'FST_LOGIN_JWT_INVALID')
    })
  }
  t.test('a token with an unknown type is refused', async (t) => {
    assertRefused(t, await callMe(app, hmacToken(claims({ type: 'id' }), SECRET)), 'FST_LOGIN_JWT_INVALID')
  })
  t.test('a token with claims of the wrong type is refused', async (t) => {
    assertRefused(t, await callMe(app, hmacToken(claims({ sub: 1 }), SECRET)), 'FST_LOGIN_JWT_INVALID')
    assertRefused(t, await callMe(app, hmacToken(claims({ exp: String(nowSeconds() + 900) }), SECRET)), 'FST_LOGIN_JWT_INVALID')
    assertRefused(t, await callMe(app, hmacToken(claims({ jti: 42 }), SECRET)), 'FST_LOGIN_JWT_INVALID')
  })
  t.test('a payload that is not an object is refused', async (t) => {
    const input = `${b64({ alg: 'HS256', typ: 'at+jwt' })}.${b64(['sub', '1'])}`
    const token = `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`
    assertRefused(t, await callMe(app, token), 'FST_LOGIN_JWT_INVALID')
  })
  t.test('a refresh token is not an access token', async (t) => {
    assertRefused(t, await callMe(app, hmacToken(claims({ type: 'refresh', fresh: false }), SECRET)), 'FST_LOGIN_JWT_WRONG_TYPE')
  })
})

t.test('oversized tokens', async (t) => {
  const app = await jwtApp(t)
  t.test('a correctly signed token under 8 KB is accepted (control)', async (t) => {
    const token = hmacToken(claims({ pad: 'x'.repeat(5000) }), SECRET)
    t.ok(token.length < 8192)
    assertUser(t, await callMe(app, token))
  })
  t.test('a correctly signed token over 8 KB is refused', async (t) => {
    const token = hmacToken(claims({ pad: 'x'.repeat(7000) }), SECRET)
    t.ok(token.length > 8192)
    assertRefused(t, await callMe(app, token), 'FST_LOGIN_JWT_INVALID')
  })
  t.test('a huge token is refused quickly', async (t) => {
    const token = `${'A'.repeat(200_000)}.${'B'.repeat(600_000)}.${'C'.repeat(100)}`
    const started = process.hrtime.bigint()
    const res = await callMe(app, token)
    const ms = Number(process.hrtime.bigint() - started) / 1e6
    assertRefused(t, res, 'FST_LOGIN_JWT_INVALID')
    t.ok(ms < 1000, `answered in ${ms.toFixed(1)} ms`)
  })
})

t.test('notBefore: a fresh token is not valid yet', async (t) => {
  const app = await jwtApp(t, { notBefore: 30 })
  const { access_token: token } = await getTokens(app)
  const { payload } = decodeJwt(token)
  t.equal(payload.nbf, (payload.iat as number) + 30)
  assertRefused(t, await callMe(app, token), 'FST_LOGIN_JWT_NOT_YET_VALID')

  await fakeClock(t).during(31_000, async () => assertUser(t, await callMe(app, token)))
})

t.test('cache: true still honours revocation', async (t) => {
  const app = await jwtApp(t, { cache: true })
  const { access_token: token, refresh_token: refresh } = await getTokens(app)
  assertUser(t, await callMe(app, token))
  assertUser(t, await callMe(app, token))
  const logout = await app.inject({
    method: 'POST',
    url: '/auth/logout',
    headers: bearer(token),
    payload: { refresh_token: refresh }
  })
  t.equal(logout.statusCode, 204)
  assertRefused(t, await callMe(app, token), 'FST_LOGIN_JWT_REVOKED')

  t.test('and logout everywhere', async (t) => {
    const { access_token: bobToken } = await getTokens(app, 'bob')
    assertUser(t, await callMe(app, bobToken), 'bob')
    await app.revokeAllTokens('2')
    assertRefused(t, await callMe(app, bobToken), 'FST_LOGIN_JWT_REVOKED')
  })
  t.test('and still refuses expired tokens it has cached', async (t) => {
    const now = nowSeconds()
    const token = hmacToken(claims({ exp: now + 5 }), SECRET)
    assertUser(t, await callMe(app, token))
    await fakeClock(t).during(10_000, async () => assertRefused(t, await callMe(app, token), 'FST_LOGIN_JWT_EXPIRED'))
  })
})

t.test('cache: the same answers as without it', async (t) => {
  t.test('a refusal is not cached: a token not valid yet is accepted once it is', async (t) => {
    const app = await jwtApp(t, { cache: true, notBefore: 30 })
    const { access_token: token } = await getTokens(app)
    assertRefused(t, await callMe(app, token), 'FST_LOGIN_JWT_NOT_YET_VALID')
    await fakeClock(t).during(31_000, async () => assertUser(t, await callMe(app, token)))
  })
  t.test('the leeway counts for cached tokens as for others', async (t) => {
    const app = await jwtApp(t, { cache: true, leeway: 10 })
    const token = hmacToken(claims({ exp: nowSeconds() - 5 }), SECRET)
    assertUser(t, await callMe(app, token))
    assertUser(t, await callMe(app, token))
    await fakeClock(t).during(10_000, async () => assertRefused(t, await callMe(app, token), 'FST_LOGIN_JWT_EXPIRED'))
  })
  t.test('a token without nbf is cached too', async (t) => {
    const app = await jwtApp(t, { cache: true })
    const { nbf: _nbf, ...rest } = claims()
    const token = hmacToken(rest, SECRET)
    assertUser(t, await callMe(app, token))
    assertUser(t, await callMe(app, token))
  })
  t.test('a cached token is still accepted past the ten-minute re-check', async (t) => {
    const app = await jwtApp(t, { cache: true })
    const token = hmacToken(claims({ exp: nowSeconds() + 3600 }), SECRET)
    assertUser(t, await callMe(app, token))
    await fakeClock(t).during(11 * 60_000, async () => assertUser(t, await callMe(app, token)))
  })
  t.test('with a size of 1, tokens push each other out and are verified again', async (t) => {
    const app = await jwtApp(t, { cache: 1 })
    const first = hmacToken(claims(), SECRET)
    const second = hmacToken(claims({ sub: '2' }), SECRET)
    for (let round = 0; round < 3; round++) {
      assertUser(t, await callMe(app, first))
      assertUser(t, await callMe(app, second), 'bob')
      assertUser(t, await callMe(app, second), 'bob')
    }
    const tampered = `${first.slice(0, first.lastIndexOf('.'))}.${hmacToken(claims(), OTHER_SECRET).split('.')[2] as string}`
    assertRefused(t, await callMe(app, tampered), 'FST_LOGIN_JWT_INVALID')
  })
  t.test('with several keys', async (t) => {
    const app = await jwtApp(t, { cache: true, keys: [{ kid: 'k1', secret: SECRET }, { kid: 'k2', secret: OTHER_SECRET }] })
    const token = hmacToken(claims(), OTHER_SECRET, { alg: 'HS256', typ: 'at+jwt', kid: 'k2' })
    assertUser(t, await callMe(app, token))
    assertUser(t, await callMe(app, token))
    assertRefused(t, await callMe(app, hmacToken(claims(), OTHER_SECRET, { alg: 'HS256', typ: 'at+jwt', kid: 'k1' })), 'FST_LOGIN_JWT_INVALID')
  })
})
