import t, { type Test } from 'tap'
import Fastify, { type FastifyInstance, type LightMyRequestResponse } from 'fastify'
import fastifyAuth from '@fastify/auth'
import fastifyJwt from '@fastify/jwt'
import fastifyLogin, { MemoryStore, type FastifyLoginOptions, type JwtOptions } from '../lib/index.js'
import {
  ANONYMOUS, assertRefused as assertRefusedWith, asyncStore, b64, bearer, buildApp, callMe, CookieJar, hmacToken, makeUsers, payloadOf, TEST_KEY, userNamed,
  type TestApp, type TestUser
} from './helpers.js'

/** 36 bytes: enough for HS256. */
const SECRET = 'jwt-guards-test-secret-0123456789abcd'
/** The secret of an app's own @fastify/jwt, unrelated to ours. */
const APP_SECRET = 'the-apps-own-jwt-secret-0123456789xyz'

const NO_TOKEN_CHALLENGE = 'Bearer realm="api"'
const INVALID_CHALLENGE = 'Bearer realm="api", error="invalid_token", error_description="Invalid token"'

/** The user carried by the request, as the guarded routes report it. */
function userName (user: unknown): string | null {
  return (user as TestUser | null)?.name ?? null
}

/**
 * buildApp with JWT on (users log in at POST /auth as "alice" / "alice-pw")
 * and these API routes:
 *  - GET /api/me        jwtRequired       { name, claims, authenticated }
 *  - GET /api/optional  jwtOptional       { user, claims }
 *  - GET /api/fresh     freshJwtRequired  { name, fresh }
 *  - GET+OPTIONS /guarded/{required,optional,fresh,refresh}: each guard, { user }
 */
async function jwtApp (
  jwt: Partial<JwtOptions> = {},
  options: Partial<FastifyLoginOptions> = {},
  setup?: (app: FastifyInstance) => void | Promise<void>
): Promise<TestApp> {
  const holder: { users?: Map<string, TestUser> } = {}
  const test = await buildApp({
    ...options,
    jwt: {
      secret: SECRET,
      authenticate: (username, password) => {
        const user = userNamed(holder.users as Map<string, TestUser>, username)
        return user !== undefined && password === `${user.name}-pw` ? user : null
      },
      ...jwt
    }
  }, async (app) => {
    app.get('/api/me', { preHandler: app.jwtRequired }, async (request) => ({
      name: userName(request.currentUser),
      claims: request.jwtClaims,
      authenticated: request.isAuthenticated()
    }))
    app.get('/api/optional', { preHandler: app.jwtOptional }, async (request) => ({
      user: userName(request.currentUser),
      claims: request.jwtClaims
    }))
    app.get('/api/fresh', { preHandler: app.freshJwtRequired }, async (request) => ({
      name: userName(request.currentUser),
      fresh: request.jwtClaims?.fresh
    }))
    const guards = {
      required: app.jwtRequired,
      optional: app.jwtOptional,
      fresh: app.freshJwtRequired,
      refresh: app.refreshJwtRequired
    }
    for (const [name, guard] of Object.entries(guards)) {
      app.route({
        method: ['GET', 'OPTIONS'],
        url: `/guarded/${name}`,
        preHandler: guard,
        handler: async (request) => ({ user: userName(request.currentUser) })
      })
    }
    if (setup !== undefined) await setup(app)
  })
  holder.users = test.users
  return test
}

interface Tokens { access: string, refresh: string }

/** Logs `name` in at the token endpoint. */
async function tokensFor (app: FastifyInstance, name: string, url = '/auth'): Promise<Tokens> {
  const res = await app.inject({ method: 'POST', url, payload: { username: name, password: `${name}-pw` } })
  if (res.statusCode !== 200) throw new Error(`token endpoint: ${res.statusCode} ${res.body}`)
  const body = res.json()
  return { access: body.access_token, refresh: body.refresh_token }
}

/** The shared JWT 401 check (status and code), plus Fastify's error field; returns the body. */
function assertRefused (t: Test, res: LightMyRequestResponse, code: string, what = code): Record<string, unknown> {
  const body = assertRefusedWith(t, res, code, what)
  t.equal(body.error, 'Unauthorized', `${what}: Fastify error body`)
  return body
}

t.test('jwtRequired with a valid token: 200, currentUser is the user, jwtClaims are set', async (t) => {
  const { app } = await jwtApp()
  t.teardown(() => app.close())
  const { access } = await tokensFor(app, 'alice')

  const res = await callMe(app, access)
  t.equal(res.statusCode, 200)
  const body = res.json()
  t.equal(body.name, 'alice')
  t.equal(body.authenticated, true, 'request.isAuthenticated()')
  t.same(body.claims, payloadOf(access), 'request.jwtClaims are the token claims')
  t.equal(res.headers['set-cookie'], undefined, 'a token request gets no session cookie')

  const bob = await tokensFor(app, 'bob')
  const other = await callMe(app, bob.access)
  t.equal(other.json().name, 'bob', 'each token gives its own user')
})

t.test('a user deleted after the token was issued is refused', async (t) => {
  const { app, users } = await jwtApp()
  t.teardown(() => app.close())
  const { access } = await tokensFor(app, 'alice')
  users.delete('1')

  const res = await callMe(app, access)
  assertRefused(t, res, 'FST_LOGIN_JWT_USER_NOT_FOUND')
  t.equal(res.headers['www-authenticate'], 'Bearer realm="api", error="invalid_token", error_description="User does not exist or is inactive"')
})

t.test('a user made inactive after the token was issued is refused the same way', async (t) => {
  const { app, users } = await jwtApp()
  t.teardown(() => app.close())
  const { access, refresh } = await tokensFor(app, 'alice')
  ;(users.get('1') as TestUser).isActive = false

  const res = await callMe(app, access)
  assertRefused(t, res, 'FST_LOGIN_JWT_USER_NOT_FOUND')
  const refreshed = await app.inject({ method: 'POST', url: '/auth/refresh', headers: bearer(refresh) })
  assertRefused(t, refreshed, 'FST_LOGIN_JWT_USER_NOT_FOUND', 'refresh')
})

t.test('Authorization header variants', async (t) => {
  const { app } = await jwtApp()
  t.teardown(() => app.close())
  const { access } = await tokensFor(app, 'alice')

  t.test('no header: FST_LOGIN_JWT_NO_TOKEN with only the realm', async (t) => {
    const res = await app.inject({ url: '/api/me' })
    const body = assertRefused(t, res, 'FST_LOGIN_JWT_NO_TOKEN')
    t.equal(body.message, 'Request does not contain an access token')
    t.equal(res.headers['www-authenticate'], NO_TOKEN_CHALLENGE)
  })

  const wrongScheme: Array<[string, string]> = [
    ['another scheme', 'Basic abc'],
    ['another scheme with the token', `Basic ${access}`],
    ['the token without a scheme', access]
  ]
  for (const [name, header] of wrongScheme) {
    t.test(`${name}: FST_LOGIN_JWT_WRONG_SCHEME, which names the scheme`, async (t) => {
      const res = await app.inject({ url: '/api/me', headers: { authorization: header } })
      const body = assertRefused(t, res, 'FST_LOGIN_JWT_WRONG_SCHEME')
      t.equal(body.message, 'Authorization header must use the Bearer scheme')
      t.equal(res.headers['www-authenticate'], NO_TOKEN_CHALLENGE, 'only the realm: no token of ours was sent')
    })
  }

  const malformed: Array<[string, string]> = [
    ['the scheme alone', 'Bearer'],
    ['the scheme and a trailing space', 'Bearer '],
    ['a token with spaces', 'Bearer a b'],
    ['a valid token followed by more words', `Bearer ${access} extra`],
    ['two spaces before the token', `Bearer  ${access}`],
    ['an empty header', '']
  ]
  for (const [name, header] of malformed) {
    t.test(`${name}: FST_LOGIN_JWT_MALFORMED`, async (t) => {
      const res = await app.inject({ url: '/api/me', headers: { authorization: header } })
      assertRefused(t, res, 'FST_LOGIN_JWT_MALFORMED')
      t.match(res.headers['www-authenticate'], /^Bearer realm="api", error="invalid_token", error_description="[^"]+"$/)
    })
  }

  t.test('the scheme is case-insensitive: "bearer <token>" and "BEARER <token>" pass', async (t) => {
    for (const scheme of ['bearer', 'BEARER']) {
      const res = await app.inject({ url: '/api/me', headers: { authorization: `${scheme} ${access}` } })
      t.equal(res.statusCode, 200, scheme)
      t.equal(res.json().name, 'alice')
    }
  })
})

t.test('a tampered payload (sub changed, signature kept) is refused without echoing the token', async (t) => {
  const { app } = await jwtApp()
  t.teardown(() => app.close())
  const { access } = await tokensFor(app, 'alice')
  const [head, , signature] = access.split('.') as [string, string, string]
  const forgedPayload = b64({ ...payloadOf(access), sub: '2' })
  const forged = `${head}.${forgedPayload}.${signature}`

  const res = await callMe(app, forged)
  const body = assertRefused(t, res, 'FST_LOGIN_JWT_INVALID')
  t.equal(body.message, 'Invalid token')
  const challenge = res.headers['www-authenticate'] as string
  t.match(challenge, /error="invalid_token"/)
  t.match(challenge, /error_description="[^"]+"/)
  t.equal(challenge, INVALID_CHALLENGE)
  const everything = res.body + JSON.stringify(res.headers)
  for (const part of [forged, forgedPayload, signature]) {
    t.notOk(everything.includes(part), 'no part of the token is echoed')
  }
  t.notOk(/signature/i.test(res.body), 'no JWT library text in the body')
})

t.test('a token signed with another secret, or with alg none, is refused', async (t) => {
  const { app } = await jwtApp()
  t.teardown(() => app.close())
  const now = Math.floor(Date.now() / 1000)
  const claims = { sub: '1', iat: now, nbf: now, exp: now + 600, jti: 'x'.repeat(22), type: 'access', fresh: true }

  const otherSecret = hmacToken(claims, 'some-other-secret-that-is-long-enough!')
  assertRefused(t, await callMe(app, otherSecret), 'FST_LOGIN_JWT_INVALID', 'other secret')

  const head = b64({ alg: 'none', typ: 'at+jwt' })
  const body = b64(claims)
  for (const unsigned of [`${head}.${body}.`, `${head}.${body}.AAAA`]) {
    assertRefused(t, await callMe(app, unsigned), 'FST_LOGIN_JWT_INVALID', 'alg none')
  }

  const check = hmacToken(claims, SECRET)
  t.equal((await callMe(app, check)).statusCode, 200, 'the same claims signed with our secret pass (the crafting is right)')
})

/** Broken tokens made from the pieces of a real one. */
function garbageTokens (access: string): Array<[string, string]> {
  const [head, payload, signature] = access.split('.') as [string, string, string]
  return [
    ['abc', 'abc'],
    ['a.b.c', 'a.b.c'],
    ['a 10 KB token', `${head}.${'A'.repeat(10 * 1024)}.${signature}`],
    ['a 10 KB run of letters', 'x'.repeat(10 * 1024)],
    ['non-base64 characters', `${head}.${payload}!.${signature}`],
    ['non-base64 characters in the header', `${head}$%.${payload}.${signature}`],
    ['standard base64 characters (+ and /)', `${head}.${payload}+/.${signature}`],
    ['base64 padding', `${head}.${payload}==.${signature}`],
    ['an empty header segment', `.${payload}.${signature}`],
    ['an empty payload segment', `${head}..${signature}`],
    ['an empty signature segment', `${head}.${payload}.`],
    ['only dots', '..'],
    ['two segments', `${head}.${payload}`],
    ['four segments', `${access}.${signature}`],
    ['a header that is not JSON', `${Buffer.from('not json').toString('base64url')}.${payload}.${signature}`],
    ['a header that is a JSON array', `${b64([1, 2])}.${payload}.${signature}`],
    ['a header that is JSON null', `${b64(null)}.${payload}.${signature}`],
    ['a payload that is not JSON', `${head}.${Buffer.from('not json').toString('base64url')}.${signature}`],
    ['a payload that is a JSON string', `${head}.${b64('alice')}.${signature}`],
    ['a payload that is a JSON array', `${head}.${b64([1])}.${signature}`],
    ['non-ASCII text', 'ünïcödé.ünïcödé.ünïcödé'],
    ['percent-encoded', encodeURIComponent(`${head}+/=.${payload}.${signature}`)]
  ]
}

async function assertGarbageRefused (t: Test, app: FastifyInstance): Promise<void> {
  const { access } = await tokensFor(app, 'alice')
  for (const [name, token] of garbageTokens(access)) {
    const res = await callMe(app, token)
    t.equal(res.statusCode, 401, `${name}: 401`)
    t.equal(res.json().code, 'FST_LOGIN_JWT_INVALID', `${name}: FST_LOGIN_JWT_INVALID`)
    t.equal(res.headers['www-authenticate'], INVALID_CHALLENGE, `${name}: challenge`)
  }
}

t.test('garbage tokens are 401 FST_LOGIN_JWT_INVALID, never 500', async (t) => {
  const { app } = await jwtApp()
  t.teardown(() => app.close())
  await assertGarbageRefused(t, app)

  // With a kid, the header is read (before verification with several keys,
  // after a refusal with one): garbage must give the same answer there.
  t.test('with a single key that has a kid', async (t) => {
    const { app } = await jwtApp({ secret: undefined, keys: [{ kid: 'k1', secret: SECRET }] })
    t.teardown(() => app.close())
    await assertGarbageRefused(t, app)
  })
  t.test('with several keys', async (t) => {
    const { app } = await jwtApp({ secret: undefined, keys: [{ kid: 'k1', secret: SECRET }, { kid: 'k0', secret: `${SECRET}-old` }] })
    t.teardown(() => app.close())
    await assertGarbageRefused(t, app)
  })
})

t.test('tokens with the right signature but wrong or missing claims are refused', async (t) => {
  const { app } = await jwtApp()
  t.teardown(() => app.close())
  const now = Math.floor(Date.now() / 1000)
  const good = { sub: '1', iat: now, nbf: now, exp: now + 600, jti: 'j'.repeat(22), type: 'access', fresh: true }

  const cases: Array<[string, Record<string, unknown>]> = [
    ['no sub', { ...good, sub: undefined }],
    ['empty sub', { ...good, sub: '' }],
    ['numeric sub', { ...good, sub: 1 }],
    ['no jti', { ...good, jti: undefined }],
    ['no type', { ...good, type: undefined }],
    ['unknown type', { ...good, type: 'id' }],
    ['no exp', { ...good, exp: undefined }],
    ['string exp', { ...good, exp: String(now + 600) }]
  ]
  for (const [name, claims] of cases) {
    const res = await app.inject({ url: '/api/me', headers: bearer(hmacToken(claims, SECRET)) })
    t.equal(res.statusCode, 401, `${name}: 401`)
    t.equal(res.json().code, 'FST_LOGIN_JWT_INVALID', `${name}: FST_LOGIN_JWT_INVALID`)
  }
})

t.test('token types: refresh tokens only refresh, access tokens only access', async (t) => {
  const { app } = await jwtApp()
  t.teardown(() => app.close())
  const { access, refresh } = await tokensFor(app, 'alice')

  const refreshOnApi = await callMe(app, refresh)
  assertRefused(t, refreshOnApi, 'FST_LOGIN_JWT_WRONG_TYPE', 'refresh token on jwtRequired')
  t.equal(refreshOnApi.headers['www-authenticate'], 'Bearer realm="api", error="invalid_token", error_description="Wrong token type for this route"')
  assertRefused(t, await app.inject({ url: '/api/optional', headers: bearer(refresh) }), 'FST_LOGIN_JWT_WRONG_TYPE', 'refresh token on jwtOptional')
  assertRefused(t, await app.inject({ url: '/api/fresh', headers: bearer(refresh) }), 'FST_LOGIN_JWT_WRONG_TYPE', 'refresh token on freshJwtRequired')

  const accessOnRefresh = await app.inject({ method: 'POST', url: '/auth/refresh', headers: bearer(access) })
  assertRefused(t, accessOnRefresh, 'FST_LOGIN_JWT_WRONG_TYPE', 'access token on /auth/refresh')
  t.equal(accessOnRefresh.headers['cache-control'], undefined, 'no token response')
})

t.test('refreshed access tokens are not fresh: freshJwtRequired refuses them', async (t) => {
  const { app } = await jwtApp()
  t.teardown(() => app.close())
  const { access, refresh } = await tokensFor(app, 'alice')

  const loginFresh = await app.inject({ url: '/api/fresh', headers: bearer(access) })
  t.equal(loginFresh.statusCode, 200, 'the /auth token is fresh')
  t.same(loginFresh.json(), { name: 'alice', fresh: true })

  const res = await app.inject({ method: 'POST', url: '/auth/refresh', headers: bearer(refresh) })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['cache-control'], 'no-store')
  const body = res.json()
  t.same(Object.keys(body).sort(), ['access_token', 'expires_in', 'refresh_token', 'token_type'], 'and a new refresh token')
  t.equal(body.token_type, 'Bearer')
  t.equal(body.expires_in, 900)
  const refreshed = body.access_token as string
  const claims = payloadOf(refreshed)
  t.equal(claims.type, 'access')
  t.equal(claims.fresh, false)
  t.equal(claims.sub, '1')

  const api = await callMe(app, refreshed)
  t.equal(api.statusCode, 200, 'the refreshed token works on jwtRequired')

  const fresh = await app.inject({ url: '/api/fresh', headers: bearer(refreshed) })
  const refused = assertRefused(t, fresh, 'FST_LOGIN_JWT_FRESH_REQUIRED')
  t.equal(refused.message, 'Fresh token required')
  t.equal(fresh.headers['www-authenticate'], 'Bearer realm="api", error="insufficient_user_authentication", error_description="Fresh token required"')
})

t.test('jwtOptional: no token is anonymous, a valid token is the user, a bad token is refused', async (t) => {
  const { app } = await jwtApp()
  t.teardown(() => app.close())
  const { access } = await tokensFor(app, 'alice')

  const anonymous = await app.inject({ url: '/api/optional' })
  t.equal(anonymous.statusCode, 200)
  t.same(anonymous.json(), { user: null, claims: null })

  const user = await app.inject({ url: '/api/optional', headers: bearer(access) })
  t.equal(user.statusCode, 200)
  t.equal(user.json().user, 'alice')
  t.equal(user.json().claims.jti, payloadOf(access).jti)

  const bad = await app.inject({ url: '/api/optional', headers: bearer('abc') })
  assertRefused(t, bad, 'FST_LOGIN_JWT_INVALID', 'bad token')
  t.equal(bad.headers['www-authenticate'], INVALID_CHALLENGE)
  const basic = await app.inject({ url: '/api/optional', headers: { authorization: 'Basic abc' } })
  t.equal(basic.statusCode, 200, 'another scheme carries no token of ours: anonymous, as with no header')
  t.equal(basic.json().user, null)
})

t.test('OPTIONS requests are guarded like any other method', async (t) => {
  const { app } = await jwtApp()
  t.teardown(() => app.close())
  const { access, refresh } = await tokensFor(app, 'alice')

  for (const name of ['required', 'fresh', 'refresh']) {
    const bare = await app.inject({ method: 'OPTIONS', url: `/guarded/${name}` })
    assertRefused(t, bare, 'FST_LOGIN_JWT_NO_TOKEN', `${name}: OPTIONS without a token`)
  }
  for (const name of ['required', 'optional', 'fresh', 'refresh']) {
    const junk = await app.inject({ method: 'OPTIONS', url: `/guarded/${name}`, headers: bearer('abc') })
    assertRefused(t, junk, 'FST_LOGIN_JWT_INVALID', `${name}: OPTIONS with a bad token`)
    const good = await app.inject({ method: 'OPTIONS', url: `/guarded/${name}`, headers: bearer(name === 'refresh' ? refresh : access) })
    t.equal(good.statusCode, 200, `${name}: OPTIONS with the right token passes`)
    t.equal(good.json().user, 'alice')
  }
  const anonymous = await app.inject({ method: 'OPTIONS', url: '/guarded/optional' })
  t.same(anonymous.json(), { user: null }, 'optional: OPTIONS without a token is anonymous')
})

t.test('loadUserFromClaims is used instead of loadUser', async (t) => {
  const loadUserCalls: string[] = []
  const seen: Array<{ sub: string, path: string }> = []
  const users = makeUsers()
  const { app } = await jwtApp({
    loadUserFromClaims: (claims, request) => {
      seen.push({ sub: claims.sub, path: request.url })
      if (claims.sub === '2') return null
      return { id: claims.sub, name: `api-${String(claims.team)}` }
    },
    additionalClaims: () => ({ team: 'blue' })
  }, {
    loadUser: (id) => {
      loadUserCalls.push(id)
      return users.get(id) ?? null
    }
  })
  t.teardown(() => app.close())
  const { access } = await tokensFor(app, 'alice')

  const res = await callMe(app, access)
  t.equal(res.statusCode, 200)
  t.equal(res.json().name, 'api-blue', 'the user built from the claims')
  t.same(seen, [{ sub: '1', path: '/api/me' }])
  t.same(loadUserCalls, [], 'loadUser not called for a token')

  const bob = await tokensFor(app, 'bob')
  const refused = await callMe(app, bob.access)
  assertRefused(t, refused, 'FST_LOGIN_JWT_USER_NOT_FOUND', 'loadUserFromClaims returning null')
})

t.test('@fastify/auth: a route that takes a session login or a JWT', async (t) => {
  const { app } = await jwtApp({}, {}, async (app) => {
    await app.register(fastifyAuth)
    app.get('/either', { preHandler: app.auth([app.jwtRequired, app.verifyLogin]) }, async (request) => ({
      user: userName(request.currentUser),
      via: request.jwtClaims === null ? 'session' : 'jwt'
    }))
  })
  t.teardown(() => app.close())

  const login = await app.inject({ method: 'POST', url: '/login/1' })
  const cookie = new CookieJar().store(login).header()
  const bySession = await app.inject({ url: '/either', headers: { cookie } })
  t.equal(bySession.statusCode, 200)
  t.same(bySession.json(), { user: 'alice', via: 'session' })

  const { access } = await tokensFor(app, 'bob')
  const byJwt = await app.inject({ url: '/either', headers: bearer(access) })
  t.equal(byJwt.statusCode, 200)
  t.same(byJwt.json(), { user: 'bob', via: 'jwt' })

  const neither = await app.inject({ url: '/either' })
  t.equal(neither.statusCode, 401)
  t.match(neither.json().code, /^FST_LOGIN_/)
  t.notOk(neither.body.includes('alice') || neither.body.includes('bob'))
})

t.test('guards awaited from app code (no done callback) resolve or reject', async (t) => {
  const { app } = await jwtApp({}, {}, (app) => {
    app.get('/api/awaited', {
      preHandler: async (request, reply) => {
        const pending = app.jwtRequired(request, reply)
        reply.header('x-guard-returns-promise', String(pending instanceof Promise))
        await pending
      }
    }, async (request) => ({ name: userName(request.currentUser) }))
    app.get('/api/awaited-optional', async (request, reply) => {
      await app.jwtOptional(request, reply)
      return { user: userName(request.currentUser) }
    })
  })
  t.teardown(() => app.close())
  const { access } = await tokensFor(app, 'alice')

  const ok = await app.inject({ url: '/api/awaited', headers: bearer(access) })
  t.equal(ok.statusCode, 200)
  t.same(ok.json(), { name: 'alice' })
  t.equal(ok.headers['x-guard-returns-promise'], 'true')

  const refused = await app.inject({ url: '/api/awaited', headers: bearer('abc') })
  assertRefused(t, refused, 'FST_LOGIN_JWT_INVALID', 'awaited, bad token')
  t.equal(refused.headers['x-guard-returns-promise'], 'true', 'a refusal is a rejected promise, not a throw')
  assertRefused(t, await app.inject({ url: '/api/awaited' }), 'FST_LOGIN_JWT_NO_TOKEN', 'awaited, no token')

  t.same((await app.inject({ url: '/api/awaited-optional' })).json(), { user: null })
  t.same((await app.inject({ url: '/api/awaited-optional', headers: bearer(access) })).json(), { user: 'alice' })
})

t.test('asynchronous stores and loaders give the same answers as synchronous ones', async (t) => {
  const users = makeUsers()
  const later = async <T>(value: T): Promise<T> => await new Promise((resolve) => setImmediate(() => resolve(value)))
  const { app } = await jwtApp({
    loadUserFromClaims: async (claims) => await later(users.get(claims.sub) ?? null)
  }, { store: asyncStore(new MemoryStore()) }, async (app) => {
    await app.register(fastifyAuth)
    app.get('/api/either', { preHandler: app.auth([app.jwtRequired, app.verifyLogin]) }, async (request) => ({ user: userName(request.currentUser) }))
  })
  t.teardown(() => app.close())
  const alice = await tokensFor(app, 'alice')
  const carol = await app.createAccessToken(users.get('3') as TestUser)

  t.equal((await callMe(app, alice.access)).json().name, 'alice')
  t.same((await app.inject({ url: '/api/either', headers: bearer(alice.access) })).json(), { user: 'alice' })
  t.same((await app.inject({ url: '/api/optional', headers: bearer(alice.access) })).json().user, 'alice')
  assertRefused(t, await callMe(app, carol), 'FST_LOGIN_JWT_USER_NOT_FOUND', 'inactive user, async loader')
  const either = await app.inject({ url: '/api/either', headers: bearer(carol) })
  t.equal(either.statusCode, 401, '@fastify/auth: refused by both')

  await app.revokeToken(payloadOf(alice.access))
  assertRefused(t, await callMe(app, alice.access), 'FST_LOGIN_JWT_REVOKED', 'revoked, async store')
  const bob = await tokensFor(app, 'bob')
  t.equal((await callMe(app, bob.access)).statusCode, 200)
  await app.revokeAllTokens('2')
  assertRefused(t, await callMe(app, bob.access), 'FST_LOGIN_JWT_REVOKED', 'cut-off, async store')
})

t.test('createAccessToken(user, { fresh, claims }) makes a token the guards accept', async (t) => {
  const { app, users } = await jwtApp()
  t.teardown(() => app.close())
  const alice = users.get('1') as TestUser

  const token = await app.createAccessToken(alice, { fresh: true, claims: { role: 'admin', sub: '2' } })
  const claims = payloadOf(token)
  t.equal(claims.role, 'admin')
  t.equal(claims.sub, '1', 'claims cannot replace sub')
  t.equal(claims.type, 'access')
  t.equal(claims.fresh, true)

  const res = await app.inject({ url: '/api/fresh', headers: bearer(token) })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { name: 'alice', fresh: true })
  const me = await callMe(app, token)
  t.equal(me.json().claims.role, 'admin')

  const plain = await app.createAccessToken(alice)
  t.equal(payloadOf(plain).fresh, false, 'not fresh unless asked')
  assertRefused(t, await app.inject({ url: '/api/fresh', headers: bearer(plain) }), 'FST_LOGIN_JWT_FRESH_REQUIRED')
  t.equal((await callMe(app, plain)).statusCode, 200)

  const refresh = await app.createRefreshToken(alice)
  t.equal(payloadOf(refresh).type, 'refresh')
  const refreshed = await app.inject({ method: 'POST', url: '/auth/refresh', headers: bearer(refresh) })
  t.equal(refreshed.statusCode, 200)
})

t.test('session: false makes a JWT-only app: no session cookie, reply.login refuses', async (t) => {
  const { app } = await jwtApp({}, { session: false }, (app) => {
    app.post('/api/session-login', { preHandler: app.jwtRequired }, async (request, reply) => {
      try {
        await reply.login(request.currentUser as TestUser)
        return { loggedIn: true }
      } catch (err) {
        return { error: (err as { code?: string }).code }
      }
    })
  })
  t.teardown(() => app.close())

  const auth = await app.inject({ method: 'POST', url: '/auth', payload: { username: 'alice', password: 'alice-pw' } })
  t.equal(auth.statusCode, 200)
  t.equal(auth.headers['set-cookie'], undefined, 'no cookie from the token endpoint')
  const access = auth.json().access_token as string

  const me = await callMe(app, access)
  t.equal(me.statusCode, 200)
  t.equal(me.json().name, 'alice')
  t.equal(me.headers['set-cookie'], undefined, 'no cookie from a guarded route')

  const anonymous = await app.inject({ url: '/me' })
  t.equal(anonymous.statusCode, 200)
  t.same(anonymous.json(), ANONYMOUS)
  t.equal(anonymous.headers['set-cookie'], undefined)

  const refused = await app.inject({ url: '/api/me' })
  assertRefused(t, refused, 'FST_LOGIN_JWT_NO_TOKEN')
  t.equal(refused.headers['set-cookie'], undefined)

  const login = await app.inject({ method: 'POST', url: '/api/session-login', headers: bearer(access) })
  t.equal(login.statusCode, 200)
  t.same(login.json(), { error: 'FST_LOGIN_SESSIONS_DISABLED' }, 'reply.login() throws: sessions are off')
  t.equal(login.headers['set-cookie'], undefined)
})

t.test('messages override the error texts', async (t) => {
  const { app } = await jwtApp({
    messages: { FST_LOGIN_JWT_NO_TOKEN: 'Log in first', FST_LOGIN_JWT_INVALID: 'That token is no good' }
  })
  t.teardown(() => app.close())

  const none = await app.inject({ url: '/api/me' })
  const body = assertRefused(t, none, 'FST_LOGIN_JWT_NO_TOKEN')
  t.equal(body.message, 'Log in first')
  t.equal(none.headers['www-authenticate'], NO_TOKEN_CHALLENGE)

  const bad = await callMe(app, 'abc')
  t.equal(assertRefused(t, bad, 'FST_LOGIN_JWT_INVALID').message, 'That token is no good')
  t.equal(bad.headers['www-authenticate'], 'Bearer realm="api", error="invalid_token", error_description="That token is no good"')

  const { refresh } = await tokensFor(app, 'alice')
  const wrongType = await callMe(app, refresh)
  t.equal(wrongType.json().message, 'Wrong token type for this route', 'other codes keep their default text')
})

t.test('a message for an unknown code is a registration error', async (t) => {
  await t.rejects(
    jwtApp({ messages: { FST_LOGIN_JWT_NOPE: 'x' } as unknown as JwtOptions['messages'] }),
    { code: 'FST_LOGIN_INVALID_OPTION' }
  )
})

/** Our token endpoint + guard, and the app's own @fastify/jwt routes. */
function addRoutes (app: FastifyInstance): void {
  app.get('/api/me', { preHandler: app.jwtRequired }, async (request) => ({
    name: userName(request.currentUser),
    appUser: (request as unknown as { user: unknown }).user ?? null
  }))
  app.get('/app/verify', async (request) => ({ payload: await request.jwtVerify() }))
  app.get('/app/sign', async () => ({ token: app.jwt.sign({ role: 'app' }) }))
}

async function checkNoClash (t: Test, app: FastifyInstance): Promise<void> {
  const auth = await app.inject({ method: 'POST', url: '/auth', payload: { username: 'alice', password: 'alice-pw' } })
  t.equal(auth.statusCode, 200, 'our token endpoint works')
  const ours = auth.json().access_token as string

  const appToken = (await app.inject({ url: '/app/sign' })).json().token as string
  t.type(appToken, 'string', 'the app signs with its own @fastify/jwt')

  const appVerify = await app.inject({ url: '/app/verify', headers: bearer(appToken) })
  t.equal(appVerify.statusCode, 200, "the app's request.jwtVerify() accepts its own token")
  t.equal(appVerify.json().payload.role, 'app')

  const ourGuard = await callMe(app, ours)
  t.equal(ourGuard.statusCode, 200, 'our guard accepts our token')
  t.same(ourGuard.json(), { name: 'alice', appUser: null }, "our guard leaves the app's request.user alone")

  const crossed = await callMe(app, appToken)
  t.equal(crossed.statusCode, 401, "our guard refuses the app's token (other secret)")
  t.equal(crossed.json().code, 'FST_LOGIN_JWT_INVALID')

  const crossedBack = await app.inject({ url: '/app/verify', headers: bearer(ours) })
  t.equal(crossedBack.statusCode, 401, "the app's jwtVerify refuses our token (other secret)")
}

/** fastify-login with JWT signed by `secret`, where only alice / alice-pw may log in. */
function aliceOnly (users: Map<string, TestUser>, secret = SECRET): FastifyLoginOptions {
  return {
    session: { key: TEST_KEY },
    loadUser: (id) => users.get(id) ?? null,
    jwt: { secret, authenticate: (username, password) => username === 'alice' && password === 'alice-pw' ? users.get('1') : null }
  }
}

/** An app with fastify-login and its own @fastify/jwt (no namespace), registered before or after ours, and addRoutes(). */
async function withOwnJwt (t: Test, ownJwtFirst: boolean): Promise<FastifyInstance> {
  const app = Fastify()
  t.teardown(() => app.close())
  if (ownJwtFirst) await app.register(fastifyJwt, { secret: APP_SECRET })
  await app.register(fastifyLogin, aliceOnly(makeUsers()))
  if (!ownJwtFirst) await app.register(fastifyJwt, { secret: APP_SECRET })
  addRoutes(app)
  await app.ready()
  return app
}

t.test("an app's own @fastify/jwt (no namespace) registered before fastify-login does not clash", async (t) => {
  const app = await withOwnJwt(t, true)
  await checkNoClash(t, app)
  t.notOk(Object.keys(app.jwt).some((key) => key.startsWith('fastifyLogin')), "our key instances are not added to the app's fastify.jwt")
})

t.test("an app's own @fastify/jwt (no namespace) registered after fastify-login does not clash", async (t) => {
  await checkNoClash(t, await withOwnJwt(t, false))
})

/** Two APIs (/v1, /v2), each with its own fastify-login and secret, optionally under an app-level @fastify/jwt. */
async function twoScopes (t: Test, appJwt: boolean): Promise<FastifyInstance> {
  const users = makeUsers()
  const app = Fastify()
  t.teardown(() => app.close())
  if (appJwt) await app.register(fastifyJwt, { secret: APP_SECRET })
  for (const [prefix, secret] of [['/v1', SECRET], ['/v2', `${SECRET}-v2`]] as const) {
    await app.register(async (scope) => {
      await scope.register(fastifyLogin, aliceOnly(users, secret))
      scope.get('/me', { preHandler: scope.jwtRequired }, async (request) => ({ name: userName(request.currentUser) }))
    }, { prefix })
  }
  await app.ready()
  return app
}

async function checkTwoScopes (t: Test, app: FastifyInstance): Promise<void> {
  const v1 = await tokensFor(app, 'alice', '/v1/auth')
  const v2 = await tokensFor(app, 'alice', '/v2/auth')
  t.equal((await app.inject({ url: '/v1/me', headers: bearer(v1.access) })).statusCode, 200, 'v1 token on v1')
  t.equal((await app.inject({ url: '/v2/me', headers: bearer(v2.access) })).statusCode, 200, 'v2 token on v2')
  t.equal((await app.inject({ url: '/v1/me', headers: bearer(v2.access) })).statusCode, 401, 'v2 token refused on v1')
  t.equal((await app.inject({ url: '/v2/me', headers: bearer(v1.access) })).statusCode, 401, 'v1 token refused on v2')
}

t.test('two fastify-login scopes with their own secrets', async (t) => {
  await checkTwoScopes(t, await twoScopes(t, false))
})

t.test("two fastify-login scopes under an app's own @fastify/jwt", async (t) => {
  await checkTwoScopes(t, await twoScopes(t, true))
})
