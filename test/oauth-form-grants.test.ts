import { randomUUID } from 'node:crypto'
import t, { type Test } from 'tap'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import fastifyFormbody from '@fastify/formbody'
import { MemoryStore } from '../lib/index.js'
import { familyApp, SECRET, testClock, type Tokens } from './jwt-family-cases.js'
import { authenticate, bearer, buildApp, callMe, getTokens, hmacToken, PASSWORD } from './helpers.js'

/*
 * The OAuth 2.0 form-encoded grants (RFC 6749 §4.3 and §6) through inject:
 * the password grant at /auth, the refresh grant at /auth/refresh, and every
 * bad form answered with the §5.2 error shape, never a 5xx.
 */

const FORM = { 'content-type': 'application/x-www-form-urlencoded' }

function form (app: FastifyInstance, url: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'POST', url, headers: { ...FORM, ...headers }, payload: body })
}

function passwordForm (username = 'alice', password = PASSWORD, extra = ''): string {
  return `grant_type=password&username=${encodeURIComponent(username)}&password=${encodeURIComponent(password)}${extra}`
}

/** Asserts the RFC 6749 §5.2 answer: 400, `error`, a description, not cacheable. */
function assertOAuthError (t: Test, res: LightMyRequestResponse, error: string, what: string): void {
  t.equal(res.statusCode, 400, `${what}: 400 (${res.body.slice(0, 120)})`)
  const body = res.json<Record<string, unknown>>()
  t.equal(body.error, error, `${what}: error ${error}`)
  t.type(body.error_description, 'string', `${what}: error_description`)
  t.same(Object.keys(body).sort(), ['error', 'error_description'], `${what}: only the OAuth fields`)
  t.equal(res.headers['cache-control'], 'no-store', `${what}: no-store`)
}

async function app (t: Test, setup?: (app: FastifyInstance) => void, jwt = {}): Promise<FastifyInstance> {
  const clock = testClock()
  return (await familyApp(t, new MemoryStore({ clock: clock.now }), clock, jwt, {}, setup)).app
}

t.test('the password grant as a form answers the token response; the access token works', async (t) => {
  const a = await app(t)
  // Swagger UI and OAuth libraries send client_id, an empty client_secret and scope: all ignored.
  const res = await form(a, '/auth', passwordForm('alice', PASSWORD, '&scope=&client_id=swagger&client_secret='))
  t.equal(res.statusCode, 200, res.body)
  t.equal(res.headers['cache-control'], 'no-store')
  const body = res.json<Tokens & { scope?: string }>()
  t.equal(body.token_type, 'Bearer')
  t.equal(body.scope, undefined, 'no scope is echoed')
  t.equal((await callMe(a, body.access_token)).json<{ name: string }>().name, 'alice')
  // `+` is a space in a form, and percent-encoding is decoded.
  const spaced = await form(a, '/auth', `grant_type=password&username=alice&password=${PASSWORD.replace(' ', '+')}`)
  t.equal(spaced.statusCode, 200, 'a + in the password is a space')
})

t.test('the JSON usernameField / passwordField do not rename the OAuth form fields', async (t) => {
  const a = await app(t, undefined, { usernameField: 'email', passwordField: 'secret' })
  t.equal((await form(a, '/auth', passwordForm())).statusCode, 200, 'form: username / password')
  const json = await a.inject({ method: 'POST', url: '/auth', payload: { email: 'alice', secret: PASSWORD } })
  t.equal(json.statusCode, 200, 'JSON: the configured names')
  assertOAuthError(t, await form(a, '/auth', `grant_type=password&email=alice&secret=${encodeURIComponent(PASSWORD)}`), 'invalid_request', 'form with the JSON names')
})

t.test('bad credentials in the password grant are invalid_grant; JSON keeps its 401', async (t) => {
  const a = await app(t)
  assertOAuthError(t, await form(a, '/auth', passwordForm('alice', 'wrong')), 'invalid_grant', 'wrong password')
  assertOAuthError(t, await form(a, '/auth', passwordForm('nobody', PASSWORD)), 'invalid_grant', 'unknown user')
  assertOAuthError(t, await form(a, '/auth', passwordForm('carol', PASSWORD)), 'invalid_grant', 'inactive user')
  const json = await a.inject({ method: 'POST', url: '/auth', payload: { username: 'alice', password: 'wrong' } })
  t.equal(json.statusCode, 401)
  t.equal(json.json().code, 'FST_LOGIN_JWT_BAD_CREDENTIALS')
})

t.test('bad password-grant forms get invalid_request or unsupported_grant_type, never a 5xx', async (t) => {
  const a = await app(t)
  const long = 'x'.repeat(1025)
  const cases: Array<[string | Buffer, string, string]> = [
    ['', 'invalid_request', 'empty body'],
    ['username=alice&password=x', 'invalid_request', 'no grant_type'],
    ['grant_type=&username=alice&password=x', 'invalid_request', 'empty grant_type'],
    ['grant_type=client_credentials', 'unsupported_grant_type', 'another grant'],
    ['grant_type=PASSWORD&username=alice&password=x', 'unsupported_grant_type', 'grant_type is case-sensitive'],
    ['grant_type=refresh_token&refresh_token=x', 'unsupported_grant_type', 'refresh grant at the token endpoint'],
    ['grant_type=password&username=alice', 'invalid_request', 'no password'],
    ['grant_type=password&password=x', 'invalid_request', 'no username'],
    ['grant_type=password&username=&password=x', 'invalid_request', 'empty username'],
    [`grant_type=password&username=${long}&password=x`, 'invalid_request', 'username too long'],
    [`grant_type=password&username=alice&password=${long}`, 'invalid_request', 'password too long'],
    [passwordForm() + '&password=other', 'invalid_request', 'password twice (§3.1)'],
    [passwordForm() + '&username=bob', 'invalid_request', 'username twice'],
    ['grant_type=password&grant_type=password&username=alice&password=x', 'invalid_request', 'grant_type twice'],
    ['grant_type=password&username[]=alice&password=x', 'invalid_request', 'bracket names are names, not arrays'],
    ['grant_type=password&username=%ZZ&password=%E0%A4%A', 'invalid_grant', 'bad percent-encoding is kept as text'],
    [Buffer.from([0xff, 0xfe, 0x00]), 'invalid_request', 'binary']
  ]
  for (const [body, error, what] of cases) assertOAuthError(t, await form(a, '/auth', body), error, what)
  const big = await form(a, '/auth', passwordForm('alice', 'x'.repeat(17 * 1024)))
  t.equal(big.statusCode, 413, 'a body over 16 KB: 413')
  const typed = await a.inject({ method: 'POST', url: '/auth', headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, payload: passwordForm() })
  t.equal(typed.statusCode, 200, 'a charset parameter is fine')
})

t.test('the form password grant is throttled exactly like JSON, on the same counters', async (t) => {
  const a = await app(t)
  for (let i = 0; i < 3; i++) assertOAuthError(t, await form(a, '/auth', passwordForm('alice', 'wrong')), 'invalid_grant', `form failure ${i + 1}`)
  for (let i = 0; i < 2; i++) t.equal((await a.inject({ method: 'POST', url: '/auth', payload: { username: 'Alice', password: 'wrong' } })).statusCode, 401)
  const throttled = await form(a, '/auth', passwordForm())
  t.equal(throttled.statusCode, 429, 'the 6th attempt, with the right password, waits')
  t.equal(throttled.headers['retry-after'], '1')
  t.equal(throttled.json().code, 'FST_LOGIN_THROTTLED')
  t.equal((await a.inject({ method: 'POST', url: '/auth', payload: { username: 'alice', password: PASSWORD } })).statusCode, 429, 'JSON too')
})

t.test('the refresh grant rotates the family like the header refresh', async (t) => {
  const a = await app(t)
  const tokens = await getTokens(a)
  const res = await form(a, '/auth/refresh', `grant_type=refresh_token&refresh_token=${tokens.refresh_token}&scope=`)
  t.equal(res.statusCode, 200, res.body)
  t.equal(res.headers['cache-control'], 'no-store')
  const next = res.json<Tokens>()
  t.not(next.refresh_token, tokens.refresh_token)
  t.equal((await callMe(a, next.access_token)).statusCode, 200)
  // The grace: the same answer again for a retry.
  const retry = await form(a, '/auth/refresh', `grant_type=refresh_token&refresh_token=${tokens.refresh_token}`)
  t.equal(retry.json<Tokens>().refresh_token, next.refresh_token, 'a retry within the grace gets the same successor')
  // The header refresh takes the successor: one family, whichever encoding.
  const header = await a.inject({ method: 'POST', url: '/auth/refresh', headers: bearer(next.refresh_token) })
  t.equal(header.statusCode, 200)
})

t.test('a spent refresh token sent as a form after the grace is a theft: the family ends', async (t) => {
  const clock = testClock()
  const { app: a, reused } = await familyApp(t, new MemoryStore({ clock: clock.now }), clock)
  const tokens = await getTokens(a)
  const next = (await form(a, '/auth/refresh', `grant_type=refresh_token&refresh_token=${tokens.refresh_token}`)).json<Tokens>()
  clock.advance(31_000)
  assertOAuthError(t, await form(a, '/auth/refresh', `grant_type=refresh_token&refresh_token=${tokens.refresh_token}`), 'invalid_grant', 'reused')
  t.same(reused, ['1 jwt'], 'refreshTokenReused')
  t.equal((await callMe(a, next.access_token)).statusCode, 401, 'the family\'s access token is refused')
  assertOAuthError(t, await form(a, '/auth/refresh', `grant_type=refresh_token&refresh_token=${next.refresh_token}`), 'invalid_grant', 'the successor too')
})

t.test('bad refresh-grant forms: invalid_request, unsupported_grant_type or invalid_grant', async (t) => {
  const a = await app(t)
  const tokens = await getTokens(a)
  const other = await getTokens(a, 'bob')
  const r = tokens.refresh_token
  const cases: Array<[string, Record<string, string>, string, string]> = [
    ['', {}, 'invalid_request', 'empty'],
    [`refresh_token=${r}`, {}, 'invalid_request', 'no grant_type'],
    [`grant_type=password&username=alice&password=${encodeURIComponent(PASSWORD)}`, {}, 'unsupported_grant_type', 'password grant at refresh'],
    ['grant_type=refresh_token', {}, 'invalid_request', 'no refresh_token'],
    ['grant_type=refresh_token&refresh_token=', {}, 'invalid_request', 'empty refresh_token'],
    [`grant_type=refresh_token&refresh_token=${'a'.repeat(9000)}`, {}, 'invalid_request', 'too long'],
    [`grant_type=refresh_token&refresh_token=${r}&refresh_token=${r}`, {}, 'invalid_request', 'refresh_token twice'],
    [`grant_type=refresh_token&refresh_token=${r}`, bearer(other.refresh_token), 'invalid_request', 'another token in the header'],
    [`grant_type=refresh_token&refresh_token=${r}`, { authorization: 'Bearer' }, 'invalid_request', 'a malformed header'],
    [`grant_type=refresh_token&refresh_token=${tokens.access_token}`, {}, 'invalid_grant', 'an access token'],
    ['grant_type=refresh_token&refresh_token=garbage', {}, 'invalid_grant', 'garbage'],
    [`grant_type=refresh_token&refresh_token=${r}x`, {}, 'invalid_grant', 'a bad signature']
  ]
  for (const [body, headers, error, what] of cases) assertOAuthError(t, await form(a, '/auth/refresh', body, headers), error, what)
  // Still spendable: none of the refusals above touched it.
  const same = await form(a, '/auth/refresh', `grant_type=refresh_token&refresh_token=${r}`, bearer(r))
  t.equal(same.statusCode, 200, 'the same token in the header and the body is one token')
  const basic = await form(a, '/auth/refresh', `grant_type=refresh_token&refresh_token=${other.refresh_token}`, { authorization: 'Basic Y2xpZW50Og==' })
  t.equal(basic.statusCode, 200, 'Basic client authentication is no token of ours')
  const json = await a.inject({ method: 'POST', url: '/auth/refresh', headers: bearer('garbage') })
  t.equal(json.statusCode, 401, 'without a form: the JSON 401')
  t.equal(json.json().code, 'FST_LOGIN_JWT_INVALID')
})

t.test('the refresh grant needs no CSRF header: a body token is not sent by the browser on its own', async (t) => {
  const a = await app(t, undefined, { locations: ['headers', 'cookies'], cookies: { secure: false } })
  const tokens = await getTokens(a)
  t.equal((await form(a, '/auth/refresh', `grant_type=refresh_token&refresh_token=${tokens.refresh_token}`)).statusCode, 200)
  const cookie = await a.inject({ method: 'POST', url: '/auth/refresh', headers: { cookie: `refresh_token_cookie=${tokens.refresh_token}` } })
  t.equal(cookie.statusCode, 401, 'the cookie token still needs its CSRF header')
  const both = await form(a, '/auth/refresh', `grant_type=refresh_token&refresh_token=${(await getTokens(a)).refresh_token}`, { cookie: `refresh_token_cookie=${tokens.refresh_token}` })
  assertOAuthError(t, both, 'invalid_request', 'a different token in the cookie')
})

t.test('no form parser is added to the app', async (t) => {
  const a = await app(t, (a) => { a.post('/app-form', async (request) => request.body) })
  t.equal((await form(a, '/app-form', 'a=1')).statusCode, 415, 'the app\'s own routes: no form parser')
  t.equal((await form(a, '/auth', passwordForm())).statusCode, 200, 'the token endpoint: ours')
})

for (const when of ['before', 'after'] as const) {
  t.test(`an app with @fastify/formbody registered ${when} the plugin keeps it; ours still refuses repeats`, async (t) => {
    const formbody = async (a: FastifyInstance): Promise<void> => { await a.register(fastifyFormbody) }
    const { app: a } = await buildApp({ jwt: { secret: SECRET, authenticate } }, async (a) => {
      if (when === 'after') await formbody(a)
      a.post('/app-form', async (request) => request.body)
    }, {}, when === 'before' ? formbody : undefined)
    t.teardown(() => a.close())
    t.same((await form(a, '/app-form', 'a=1&a=2')).json(), { a: ['1', '2'] }, 'the app\'s routes keep formbody')
    t.equal((await form(a, '/auth', passwordForm())).statusCode, 200, 'the token endpoint takes forms')
    assertOAuthError(t, await form(a, '/auth', passwordForm() + '&password=x'), 'invalid_request', 'a repeat is still refused')
  })
}

t.test('a refresh token of no family is an invalid_grant; a store that fails keeps its 503', async (t) => {
  const clock = testClock()
  const inner = new MemoryStore({ clock: clock.now })
  const state = { down: false }
  const store = new Proxy(inner, {
    get (target, name, receiver) {
      const value = Reflect.get(target, name, receiver)
      if (typeof value !== 'function') return value
      return (...args: unknown[]) => {
        if (state.down) throw new Error('ECONNREFUSED 127.0.0.1:6379')
        return value.apply(target, args)
      }
    }
  })
  const { app: a } = await familyApp(t, store, clock)
  const now = Math.floor(Date.now() / 1000)
  const lone = hmacToken({ sub: '1', jti: randomUUID(), type: 'refresh', iat: now, nbf: now, exp: now + 600, fresh: false }, SECRET)
  assertOAuthError(t, await form(a, '/auth/refresh', `grant_type=refresh_token&refresh_token=${lone}`), 'invalid_grant', 'a token from before families')

  const tokens = await getTokens(a)
  state.down = true
  const res = await form(a, '/auth/refresh', `grant_type=refresh_token&refresh_token=${tokens.refresh_token}`)
  t.equal(res.statusCode, 503, 'the store\'s failure, not an invalid_grant')
  t.equal(res.headers['retry-after'], '1')
  const login = await form(a, '/auth', passwordForm())
  t.equal(login.statusCode, 503, 'at the token endpoint too')
  state.down = false
  t.equal((await form(a, '/auth/refresh', `grant_type=refresh_token&refresh_token=${tokens.refresh_token}`)).statusCode, 200, 'the token was not spent')
})

t.test('form grants answer in the body only: a cross-site form cannot plant its tokens as cookies (login CSRF)', async (t) => {
  // A page of another site can post a form (no CORS preflight) and the browser keeps the cookies of the answer:
  // the victim would be logged in to the attacker's account. A JSON request cannot be sent that way.
  const a = await app(t, undefined, { locations: ['headers', 'cookies'], cookies: { secure: false } })
  const login = await form(a, '/auth', passwordForm())
  t.equal(login.statusCode, 200, login.body)
  t.equal(login.headers['set-cookie'], undefined, 'password grant: no cookies')
  t.type(login.json<Tokens>().access_token, 'string', 'the tokens are in the body')

  const attackers = await getTokens(a, 'bob')
  const refreshed = await form(a, '/auth/refresh', `grant_type=refresh_token&refresh_token=${attackers.refresh_token}`)
  t.equal(refreshed.statusCode, 200, refreshed.body)
  t.equal(refreshed.headers['set-cookie'], undefined, 'refresh grant with the token in the body only: no cookies')

  // The browser's own refresh cookie, sent with the same token in the body: that login is the browser's already,
  // and its cookies must follow the rotation (else they would hold a spent token).
  const json = await a.inject({ method: 'POST', url: '/auth', payload: { username: 'alice', password: PASSWORD } })
  t.ok(json.cookies.some((c) => c.name === 'refresh_token_cookie'), 'a JSON login still sets the cookies')
  const own = json.json<Tokens>().refresh_token
  const rotated = await form(a, '/auth/refresh', `grant_type=refresh_token&refresh_token=${own}`, { cookie: `refresh_token_cookie=${own}` })
  t.equal(rotated.statusCode, 200, rotated.body)
  t.equal(rotated.cookies.find((c) => c.name === 'refresh_token_cookie')?.value, rotated.json<Tokens>().refresh_token, 'the cookie gets the successor')
})
