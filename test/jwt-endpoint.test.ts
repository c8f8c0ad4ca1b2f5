import t from 'tap'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import type { FastifyLoginOptions, JwtOptions } from '../lib/index.js'
import { buildApp, callMe, decodeJwt, payloadOf, userNamed, type TestApp, type TestUser } from './helpers.js'

/** 36 bytes: enough for HS256. */
const SECRET = 'jwt-endpoint-test-secret-0123456789ab'

/** Each test user's password is its name followed by "-pw". */
function passwordOf (user: TestUser): string {
  return `${user.name}-pw`
}

/**
 * buildApp with JWT on: the token endpoint authenticates the test users by
 * name and password ("alice" / "alice-pw"), and GET /api/me is guarded by
 * jwtRequired. `jwt` is merged over those defaults.
 */
async function jwtApp (
  jwt: Partial<JwtOptions> = {},
  options: Partial<FastifyLoginOptions> = {},
  setup?: (app: FastifyInstance) => void | Promise<void>
): Promise<TestApp & { calls: Array<[string, string]> }> {
  const holder: { users?: Map<string, TestUser> } = {}
  const calls: Array<[string, string]> = []
  const test = await buildApp({
    ...options,
    jwt: {
      secret: SECRET,
      authenticate: (username, password) => {
        calls.push([username, password])
        const user = userNamed(holder.users as Map<string, TestUser>, username)
        return user !== undefined && password === passwordOf(user) ? user : null
      },
      ...jwt
    }
  }, async (app) => {
    app.get('/api/me', { preHandler: app.jwtRequired }, async (request) => ({
      name: (request.currentUser as TestUser).name,
      claims: request.jwtClaims
    }))
    if (setup !== undefined) await setup(app)
  })
  holder.users = test.users
  return { ...test, calls }
}

function postAuth (app: FastifyInstance, payload: unknown, url = '/auth'): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'POST', url, payload: payload as Record<string, unknown> })
}

const ALICE = { username: 'alice', password: 'alice-pw' }

const BAD_CREDENTIALS_BODY = {
  statusCode: 401,
  code: 'FST_LOGIN_JWT_BAD_CREDENTIALS',
  error: 'Unauthorized',
  message: 'Invalid credentials'
}

t.test('POST /auth with valid credentials answers the OAuth token response, not cacheable', async (t) => {
  const { app } = await jwtApp()
  t.teardown(() => app.close())

  const res = await postAuth(app, ALICE)
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^application\/json/)
  t.equal(res.headers['cache-control'], 'no-store')
  t.equal(res.headers.pragma, 'no-cache')
  const body = res.json()
  t.same(Object.keys(body).sort(), ['access_token', 'expires_in', 'refresh_token', 'token_type'])
  t.equal(body.token_type, 'Bearer')
  t.equal(body.expires_in, 900)
  t.type(body.access_token, 'string')
  t.type(body.refresh_token, 'string')
  t.not(body.access_token, body.refresh_token)
  t.equal(res.headers['set-cookie'], undefined, 'no cookie without the cookies location')

  const api = await callMe(app, body.access_token as string)
  t.equal(api.statusCode, 200)
  t.equal(api.json().name, 'alice')
})

t.test('the access token carries sub, iat, nbf, exp, jti, type access, fresh true and its family', async (t) => {
  const { app } = await jwtApp()
  t.teardown(() => app.close())

  const before = Math.floor(Date.now() / 1000)
  const body = (await postAuth(app, ALICE)).json()
  const after = Math.floor(Date.now() / 1000)
  const { header } = decodeJwt(body.access_token)
  t.equal(header.alg, 'HS256')

  const claims = payloadOf(body.access_token)
  t.same(Object.keys(claims).sort(), ['exp', 'fam', 'fresh', 'iat', 'jti', 'nbf', 'sub', 'type'])
  t.match(claims.fam, /^[A-Za-z0-9_-]{24}$/, 'fam: the family id')
  t.equal(payloadOf(body.refresh_token).fam, claims.fam, 'the refresh token is of the same family')
  t.equal(claims.sub, '1')
  t.equal(claims.type, 'access')
  t.equal(claims.fresh, true)
  t.ok(claims.iat >= before && claims.iat <= after, 'iat is now')
  t.equal(claims.nbf, claims.iat, 'notBefore defaults to 0')
  t.equal(claims.exp - claims.iat, 900, '15 minutes')
  t.type(claims.jti, 'string')
  t.ok(claims.jti.length >= 16, 'jti is a random id')
})

t.test('the refresh token has type refresh, is not fresh and lasts 30 days', async (t) => {
  const { app } = await jwtApp()
  t.teardown(() => app.close())

  const body = (await postAuth(app, ALICE)).json()
  const access = payloadOf(body.access_token)
  const refresh = payloadOf(body.refresh_token)
  t.equal(refresh.sub, '1')
  t.equal(refresh.type, 'refresh')
  t.equal(refresh.fresh, false)
  t.equal(refresh.exp - refresh.iat, 30 * 86400)
  t.not(refresh.jti, access.jti, 'each token has its own jti')

  const second = (await postAuth(app, ALICE)).json()
  t.not(payloadOf(second.access_token).jti, access.jti, 'a new login gives new token ids')
  t.not(payloadOf(second.access_token).fam, access.fam, 'and starts a new family')
})

t.test('a non-ASCII user id round-trips through the token', async (t) => {
  const { app } = await jwtApp()
  t.teardown(() => app.close())

  const body = (await postAuth(app, { username: 'sato', password: 'sato-pw' })).json()
  t.equal(payloadOf(body.access_token).sub, '佐藤')
  const api = await callMe(app, body.access_token as string)
  t.equal(api.statusCode, 200)
  t.equal(api.json().name, 'sato')
})

t.test('custom field names: usernameField email, passwordField pass', async (t) => {
  const { app, calls } = await jwtApp({ usernameField: 'email', passwordField: 'pass' })
  t.teardown(() => app.close())

  const ok = await postAuth(app, { email: 'alice', pass: 'alice-pw' })
  t.equal(ok.statusCode, 200)
  t.equal(payloadOf(ok.json().access_token).sub, '1')
  t.same(calls, [['alice', 'alice-pw']], 'authenticate got the values of the custom fields')

  const old = await postAuth(app, ALICE)
  t.equal(old.statusCode, 400, 'the default field names are no longer read')
  t.equal(calls.length, 1, 'authenticate not called for a body without the fields')
})

t.test('wrong password, unknown user and inactive user all get the same 401', async (t) => {
  const { app } = await jwtApp()
  t.teardown(() => app.close())

  const cases = [
    { username: 'alice', password: 'wrong' },
    { username: 'nobody', password: 'nobody-pw' },
    { username: 'carol', password: 'carol-pw' } // right password, but carol is inactive
  ]
  for (const payload of cases) {
    const res = await postAuth(app, payload)
    t.equal(res.statusCode, 401, payload.username)
    t.same(res.json(), BAD_CREDENTIALS_BODY, `${payload.username}: generic body`)
    t.equal(res.headers['www-authenticate'], 'Bearer realm="api"', `${payload.username}: challenge`)
    t.notOk(res.body.includes(payload.password), 'the password is not echoed')
  }
})

t.test('authenticate returning undefined is a 401 too', async (t) => {
  const { app } = await jwtApp({ authenticate: () => undefined })
  t.teardown(() => app.close())

  const res = await postAuth(app, ALICE)
  t.equal(res.statusCode, 401)
  t.same(res.json(), BAD_CREDENTIALS_BODY)
  t.equal(res.headers['www-authenticate'], 'Bearer realm="api"')
})

t.test('authenticate may be async and gets the request', async (t) => {
  let seenUrl: string | undefined
  const holder: { users?: Map<string, TestUser> } = {}
  const test = await jwtApp({
    authenticate: async (username, password, request) => {
      seenUrl = request.url
      await new Promise((resolve) => setImmediate(resolve))
      return username === 'bob' && password === 'hunter2' ? (holder.users as Map<string, TestUser>).get('2') : null
    }
  })
  holder.users = test.users
  t.teardown(() => test.app.close())

  const res = await postAuth(test.app, { username: 'bob', password: 'hunter2' })
  t.equal(res.statusCode, 200)
  t.equal(payloadOf(res.json().access_token).sub, '2')
  t.equal(seenUrl, '/auth')
})

t.test('malformed bodies are 400s (never 500) and never reach authenticate', async (t) => {
  const { app, calls } = await jwtApp()
  t.teardown(() => app.close())

  const json = { 'content-type': 'application/json' }
  const cases: Array<[string, { payload: string, headers?: Record<string, string> }]> = [
    ['not JSON at all', { payload: 'username=alice&password=alice-pw', headers: json }],
    ['truncated JSON', { payload: '{"username":"alice","password":', headers: json }],
    ['a JSON string', { payload: '"alice"', headers: json }],
    ['JSON null', { payload: 'null', headers: json }],
    ['a JSON array', { payload: '["alice","alice-pw"]', headers: json }],
    ['an empty object', { payload: '{}', headers: json }],
    ['missing password', { payload: '{"username":"alice"}', headers: json }],
    ['missing username', { payload: '{"password":"alice-pw"}', headers: json }],
    ['empty strings', { payload: '{"username":"","password":""}', headers: json }],
    ['empty password', { payload: '{"username":"alice","password":""}', headers: json }],
    ['objects instead of strings', { payload: '{"username":{"$ne":""},"password":{"$ne":""}}', headers: json }],
    ['a 2000-character username', { payload: JSON.stringify({ username: 'a'.repeat(2000), password: 'x' }), headers: json }],
    ['a 2000-character password', { payload: JSON.stringify({ username: 'alice', password: 'p'.repeat(2000) }), headers: json }],
    ['__proto__ key', { payload: '{"username":"alice","password":"alice-pw","__proto__":{"x":1}}', headers: json }],
    ['an empty JSON body', { payload: '', headers: json }]
  ]
  for (const [name, request] of cases) {
    const res = await app.inject({ method: 'POST', url: '/auth', ...request })
    t.equal(res.statusCode, 400, name)
    t.equal(res.json().statusCode, 400, `${name}: Fastify error body`)
  }
  t.same(calls, [], 'authenticate never called')
})

t.test('fields of another type are 400s: they are not coerced to strings', async (t) => {
  const { app, calls } = await jwtApp()
  t.teardown(() => app.close())

  const cases: Array<[string, unknown]> = [
    ['numbers', { username: 1, password: 2 }],
    ['a number password', { username: 'alice', password: 1234 }],
    ['booleans', { username: true, password: false }],
    ['nulls', { username: null, password: null }],
    ['one-element arrays holding the right credentials', { username: ['alice'], password: ['alice-pw'] }],
    ['two-element arrays', { username: ['alice', 'bob'], password: ['alice-pw', 'bob-pw'] }]
  ]
  for (const [name, payload] of cases) {
    const res = await postAuth(app, payload)
    t.equal(res.statusCode, 400, name)
    t.equal(res.json().access_token, undefined, `${name}: no token`)
  }
  t.same(calls, [], 'authenticate never called')
})

t.test('a body that is not JSON is refused with 415 Unsupported Media Type', async (t) => {
  const { app, calls } = await jwtApp()
  t.teardown(() => app.close())

  const plain = await app.inject({
    method: 'POST',
    url: '/auth',
    headers: { 'content-type': 'text/plain' },
    payload: '{"username":"alice","password":"alice-pw"}'
  })
  t.equal(plain.statusCode, 415, 'text/plain')

  const xml = await app.inject({
    method: 'POST',
    url: '/auth',
    headers: { 'content-type': 'application/xml' },
    payload: '<auth><username>alice</username></auth>'
  })
  t.equal(xml.statusCode, 415, 'application/xml')
  t.same(calls, [], 'authenticate never called')
})

t.test('GET /auth is not a token endpoint', async (t) => {
  const { app } = await jwtApp()
  t.teardown(() => app.close())

  const res = await app.inject({ url: '/auth?username=alice&password=alice-pw' })
  t.equal(res.statusCode, 404)
})

t.test('authPath: false removes the token endpoint (authenticate not needed)', async (t) => {
  const { app } = await jwtApp({ authPath: false, authenticate: undefined })
  t.teardown(() => app.close())

  const res = await postAuth(app, ALICE)
  t.equal(res.statusCode, 404)
})

t.test('a custom authPath moves the token endpoint', async (t) => {
  const { app } = await jwtApp({ authPath: '/api/token' })
  t.teardown(() => app.close())

  const moved = await postAuth(app, ALICE, '/api/token')
  t.equal(moved.statusCode, 200)
  t.equal(moved.json().token_type, 'Bearer')
  const api = await callMe(app, moved.json().access_token as string)
  t.equal(api.statusCode, 200)

  const old = await postAuth(app, ALICE)
  t.equal(old.statusCode, 404, '/auth is gone')
})

t.test('additionalClaims adds claims to both tokens but cannot override sub, type or fresh', async (t) => {
  const seen: Array<string | undefined> = []
  const { app } = await jwtApp({
    additionalClaims: (user, request) => {
      seen.push(request?.url)
      return { role: (user as TestUser).name === 'alice' ? 'admin' : 'user', sub: '2', type: 'refresh', fresh: false }
    }
  })
  t.teardown(() => app.close())

  const body = (await postAuth(app, ALICE)).json()
  const access = payloadOf(body.access_token)
  t.equal(access.role, 'admin', 'the extra claim is there')
  t.equal(access.sub, '1', 'sub not overridden')
  t.equal(access.type, 'access', 'type not overridden')
  t.equal(access.fresh, true, 'fresh not overridden')
  const refresh = payloadOf(body.refresh_token)
  t.equal(refresh.role, 'admin')
  t.equal(refresh.sub, '1')
  t.equal(refresh.type, 'refresh')
  t.same(seen, ['/auth', '/auth'], 'called with the request, once per token')

  const api = await callMe(app, body.access_token as string)
  t.equal(api.statusCode, 200)
  t.equal(api.json().name, 'alice', 'the token still logs alice in, not user 2')
  t.equal(api.json().claims.role, 'admin', 'request.jwtClaims holds the extra claim')
})

t.test('authResponse reshapes the body and still gets no-store', async (t) => {
  const { app } = await jwtApp({
    authResponse: (body, user, request) => ({
      token: body.access_token,
      refresh: body.refresh_token,
      user: (user as TestUser).name,
      path: request.url
    })
  })
  t.teardown(() => app.close())

  const res = await postAuth(app, ALICE)
  t.equal(res.statusCode, 200)
  t.equal(res.headers['cache-control'], 'no-store')
  const body = res.json()
  t.same(Object.keys(body).sort(), ['path', 'refresh', 'token', 'user'])
  t.equal(body.user, 'alice')
  t.equal(body.path, '/auth')
  t.equal(payloadOf(body.token).type, 'access')
  t.equal(payloadOf(body.refresh).type, 'refresh')

  const refreshed = await app.inject({ method: 'POST', url: '/auth/refresh', headers: { authorization: `Bearer ${body.refresh as string}` } })
  t.equal(refreshed.statusCode, 200)
  t.same(Object.keys(refreshed.json()).sort(), ['path', 'refresh', 'token', 'user'], 'the refresh endpoint is reshaped too')
  t.equal(refreshed.json().path, '/auth/refresh')
  t.equal(payloadOf(refreshed.json().token).type, 'access')
  t.equal(payloadOf(refreshed.json().refresh).type, 'refresh', 'its new refresh token reaches authResponse')
})

t.test("accessTokenExpires '5m' gives expires_in 300", async (t) => {
  const { app } = await jwtApp({ accessTokenExpires: '5m', refreshTokenExpires: '1h' })
  t.teardown(() => app.close())

  const body = (await postAuth(app, ALICE)).json()
  t.equal(body.expires_in, 300)
  const access = payloadOf(body.access_token)
  t.equal(access.exp - access.iat, 300)
  const refresh = payloadOf(body.refresh_token)
  t.equal(refresh.exp - refresh.iat, 3600)
})

t.test("headerScheme 'JWT' (Flask-JWT clients): token_type JWT, JWT accepted, Bearer refused", async (t) => {
  const { app } = await jwtApp({ headerScheme: 'JWT' })
  t.teardown(() => app.close())

  const body = (await postAuth(app, ALICE)).json()
  t.equal(body.token_type, 'JWT')
  const token = body.access_token as string

  const ok = await app.inject({ url: '/api/me', headers: { authorization: `JWT ${token}` } })
  t.equal(ok.statusCode, 200)
  t.equal(ok.json().name, 'alice')

  const bearer = await callMe(app, token)
  t.equal(bearer.statusCode, 401)
  t.equal(bearer.json().code, 'FST_LOGIN_JWT_WRONG_SCHEME')
  t.equal(bearer.json().message, 'Authorization header must use the JWT scheme', 'the message names the configured scheme')
  t.equal(bearer.headers['www-authenticate'], 'JWT realm="api"')

  const none = await app.inject({ url: '/api/me' })
  t.equal(none.statusCode, 401)
  t.equal(none.headers['www-authenticate'], 'JWT realm="api"', 'the challenge names the JWT scheme')

  const badLogin = await postAuth(app, { username: 'alice', password: 'nope' })
  t.equal(badLogin.headers['www-authenticate'], 'JWT realm="api"')
})

t.test('a custom realm appears in the challenge of a failed login', async (t) => {
  const { app } = await jwtApp({ realm: 'Login Required' })
  t.teardown(() => app.close())

  const res = await postAuth(app, { username: 'alice', password: 'nope' })
  t.equal(res.statusCode, 401)
  t.equal(res.headers['www-authenticate'], 'Bearer realm="Login Required"')
})
