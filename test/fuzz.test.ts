import t from 'tap'
import fc from 'fast-check'
import fastifyFormbody from '@fastify/formbody'
import type { FastifyInstance, FastifyReply, FastifyRequest, LightMyRequestResponse } from 'fastify'
import { loginCookie, rememberCookie } from '../lib/testing/index.js'
import { authenticate, BROWSER_ACCEPT, buildApp, directory, makeUsers, PASSWORD, payloadOf, TEST_KEY, testKey, type TestUser } from './helpers.js'
import {
  authorization, build, cookieHeader, cookieName, encodeCookie, forgeToken, guardedUrl, nextValue, percentEncode, requestTarget, tokenRequest
} from './fuzz-arbitraries.js'

/*
 * Property-based fuzzing (fast-check) of an app with sessions, remember-me and
 * JWTs. Random and mutated credentials, token endpoint bodies and `next`
 * values, with two invariants on every response: never a 5xx, and never a
 * login unless the request carried a credential that decodes to the bytes of
 * one the app issued to an active user. A failure prints the seed and the
 * shrunk input.
 */

const SECRET = 'fuzz-test-jwt-secret-0123456789abcdef'
// FUZZ_SEED=<seed> replays a failure; FUZZ_RUNS=<n> multiplies the runs for a longer session.
const runs = (numRuns: number): fc.Parameters<unknown> => ({
  numRuns: numRuns * Number(process.env.FUZZ_RUNS ?? 1),
  ...(process.env.FUZZ_SEED === undefined ? {} : { seed: Number(process.env.FUZZ_SEED) })
})
type Slot = 'session' | 'remember' | 'header'

/** The app under test; the same with other keys makes decoys. */
async function fuzzApp (key: Buffer, secret: string): Promise<FastifyInstance> {
  const nameOf = async (request: FastifyRequest) => ({ name: (request.currentUser as TestUser).name })
  const redirect = async (request: FastifyRequest, reply: FastifyReply) => reply.redirect(request.nextUrl('/'))
  // Throttling off: its 429s (test/login-throttle*.test.ts) would stop the valid bodies late in a run from getting tokens.
  const { app } = await buildApp({ session: { key }, loginUrl: '/login', jwt: { secret, authenticate }, loginThrottle: false }, async (app) => {
    await app.register(fastifyFormbody)
    app.get('/login', redirect)
    app.post('/login', redirect)
    app.get('/guarded/*', { preHandler: app.loginRequired }, nameOf)
    app.get('/api/jwt', { preHandler: app.jwtRequired }, nameOf)
    app.get('/api/optional', { preHandler: app.jwtOptional }, async (request) =>
      ({ name: (request.currentUser as TestUser | null)?.name, authenticated: request.isAuthenticated() }))
  }, {
    // light-my-request normalises URLs (backslashes, dot segments, `//host`), a
    // real server does not: this gives the router the raw request target.
    rewriteUrl: (req) => (req.headers['x-raw-url'] as string | undefined) ?? (req.url as string)
  })
  return app
}

const users = makeUsers()
const user = (id: string): TestUser => users.get(id) as TestUser
const [alice, bob, carol, sato] = ['1', '2', '3', '佐藤'].map(user) as [TestUser, TestUser, TestUser, TestUser]
const nameIn = (header: string): string => header.slice(0, header.indexOf('='))
const valueIn = (header: string): string => decodeURIComponent(header.slice(header.indexOf('=') + 1))

let app: FastifyInstance
let foreign: FastifyInstance
// Cookie names as the app makes them (they may change: read, never hardcode).
let NAMES: Record<'session' | 'remember', string>
t.before(async () => {
  app = await fuzzApp(TEST_KEY, SECRET)
  foreign = await fuzzApp(testKey('foreign'), `${SECRET}-other`)
  NAMES = { session: nameIn(await loginCookie(app, alice)), remember: nameIn(await rememberCookie(app, bob)) }
})
t.teardown(() => Promise.all([app.close(), foreign.close()]))

/** A credential the app issued to an active user; `kind` says what it may log in to. */
interface Credential { value: string, user: string, kind: 'fresh' | 'stale' | 'remember' | 'access' | 'refresh' }

/** Fresh credentials for one run (so a logout's revocation stays in its run), and per slot the values edits start from. */
async function issue (): Promise<{ valid: Record<Slot, Credential[]>, pools: Record<Slot, string[]>, all: string[] }> {
  const valid: Record<Slot, Credential[]> = {
    session: [{ value: valueIn(await loginCookie(app, alice)), user: 'alice', kind: 'fresh' },
      { value: valueIn(await loginCookie(app, sato, { fresh: false })), user: 'sato', kind: 'stale' }],
    remember: [{ value: valueIn(await rememberCookie(app, bob)), user: 'bob', kind: 'remember' }],
    header: [{ value: await app.createAccessToken(alice, { fresh: true }), user: 'alice', kind: 'access' },
      { value: await app.createRefreshToken(alice), user: 'alice', kind: 'refresh' }]
  }
  // Decoys: well-formed values that must never log in (inactive user, another app's keys).
  const decoys: Record<Slot, string[]> = {
    session: [valueIn(await loginCookie(app, carol)), valueIn(await loginCookie(foreign, alice))],
    remember: [valueIn(await rememberCookie(app, carol)), valueIn(await rememberCookie(foreign, bob))],
    header: [await app.createAccessToken(carol), await foreign.createAccessToken(alice, { fresh: true })]
  }
  const pools = Object.fromEntries((['session', 'remember', 'header'] as const)
    .map((slot) => [slot, [...valid[slot].map((c) => c.value), ...decoys[slot]]])) as Record<Slot, string[]>
  return { valid, pools, all: Object.values(pools).flat() }
}

// What the server decodes is compared, not the text: edits can change the text and keep the bytes.
const bytes = (text: string, encoding: 'base64' | 'base64url'): Buffer => Buffer.from(text, encoding)
/** @fastify/secure-session reads `<ciphertext>;<nonce>` in base64 (and ignores anything after a second `;`). */
function sameSession (seen: string, real: string): boolean {
  const [c1 = '', n1] = seen.split(';')
  const [c2 = '', n2 = ''] = real.split(';')
  return n1 !== undefined && bytes(c1, 'base64').equals(bytes(c2, 'base64')) && bytes(n1, 'base64').equals(bytes(n2, 'base64'))
}
const sameRemember = (seen: string, real: string): boolean => bytes(seen, 'base64url').equals(bytes(real, 'base64url'))
function sameJwt (seen: string, real: string): boolean {
  const a = seen.split('.')
  const b = real.split('.')
  return a.length === 3 && a.every((segment, i) => bytes(segment, 'base64url').equals(bytes(b[i] as string, 'base64url')))
}

/** The credentials a request carries, as the server reads them, that are valid ones. */
interface Seen { login: string[], fresh: string[], access: string[], refresh: string[], /** an Authorization header of our scheme */ header: boolean }
function seenIn (headers: Record<string, string>, valid: Record<Slot, Credential[]>): Seen {
  const cookies = app.parseCookie(headers.cookie ?? '')
  const session = cookies[NAMES.session]
  const remember = cookies[NAMES.remember]
  const bound = headers['user-agent'] === undefined // the sessions are bound to inject's default client
  const sessions = session === undefined ? [] : valid.session.filter((c) => sameSession(session, c.value))
  const token = /^bearer[ \t]+(.*?)[ \t]*$/i.exec(headers.authorization ?? '')?.[1]
  const tokens = token === undefined ? [] : valid.header.filter((c) => sameJwt(token, c.value))
  const users = (list: Credential[], kind?: Credential['kind']): string[] => list.filter((c) => kind === undefined || c.kind === kind).map((c) => c.user)
  return {
    login: [...users(sessions), ...(remember === undefined ? [] : users(valid.remember.filter((c) => sameRemember(remember, c.value))))],
    fresh: bound ? users(sessions, 'fresh') : [],
    access: users(tokens, 'access'),
    refresh: users(tokens, 'refresh'),
    // A header of another scheme carries no token of ours (the server looks on, as with no header).
    header: headers.authorization !== undefined && (headers.authorization === '' || headers.authorization.split(' ')[0]?.toLowerCase() === 'bearer')
  }
}

type Body = Record<string, unknown> & { name?: string }
const me = (res: LightMyRequestResponse) => res.json<{ user: TestUser | null, authenticated: boolean, fresh: boolean }>()
/** Each guarded route and, from its response, who it let in ([user or nothing, who may be let in]). */
const ROUTES: Array<{ method: 'GET' | 'POST', url: string, logins: (res: LightMyRequestResponse, s: Seen) => Array<[unknown, string[]]> }> = [
  { method: 'GET', url: '/me', logins: (res, s) => [[me(res).authenticated && me(res).user?.name, s.login], [me(res).fresh && `${me(res).user?.name} (fresh)`, s.fresh.map((n) => `${n} (fresh)`)]] },
  { method: 'GET', url: '/private', logins: (res, s) => [[res.statusCode === 200 && res.json<Body>().name, s.login]] },
  { method: 'GET', url: '/guarded/x', logins: (res, s) => [[res.statusCode === 200 && res.json<Body>().name, s.login]] },
  { method: 'GET', url: '/fresh', logins: (res, s) => [[res.statusCode === 200 && res.json<Body>().name, s.fresh]] },
  { method: 'GET', url: '/api/jwt', logins: (res, s) => [[res.statusCode === 200 && res.json<Body>().name, s.access]] },
  {
    method: 'GET',
    url: '/api/optional',
    // A token, when one is sent, takes the place of the session.
    logins: (res, s) => [[res.statusCode === 200 && res.json<Body>().authenticated === true && res.json<Body>().name, [...s.access, ...(s.header ? [] : s.login)]]]
  },
  { method: 'POST', url: '/auth/refresh', logins: (res, s) => [[res.statusCode === 200 && users.get(payloadOf(res.json<Body>().access_token).sub)?.name, s.refresh]] },
  // Last: it revokes the run's access token.
  { method: 'POST', url: '/auth/logout', logins: (res, s) => [[res.statusCode === 204 && 'alice', s.access]] }
]

function noServerError (res: LightMyRequestResponse): void {
  if (res.statusCode >= 500) throw new Error(`${res.statusCode}: ${res.body}`)
}

/** A redirect target that stays on this origin: one `/` then no `/` or `\`, also once decoded. */
function sameOrigin (location: unknown): boolean {
  if (typeof location !== 'string') return false
  let decoded = location
  try { decoded = decodeURIComponent(location) } catch {}
  return [location, decoded].every((l) => /^\/(?![/\\])/.test(l)) && new URL(location, 'http://localhost').origin === 'http://localhost'
}

t.test('cookies and Authorization headers: no 5xx, no login without a valid credential', async (t) => {
  const counts = { requests: 0, logins: 0, edited: 0 }
  // A User-Agent other than the one the sessions are bound to: session protection must take freshness away.
  const userAgent = fc.constantFrom(undefined, undefined, undefined, 'curl/8.5.0', 'lightmyrequest')
  await fc.assert(fc.asyncProperty(cookieHeader, authorization, userAgent, async (jar, auth, ua) => {
    const { valid, pools, all } = await issue()
    const real = Object.fromEntries(Object.entries(valid).map(([slot, list]) => [slot, list.map((c) => c.value)])) as Record<Slot, string[]>
    const headers: Record<string, string> = ua === undefined ? {} : { 'user-agent': ua }
    const cookies = jar.entries.map((e) => `${cookieName(NAMES[e.slot], e.name)}=${encodeCookie(build(e.value, real[e.slot], pools[e.slot], all), e.encoding)}`)
    if (jar.junk !== undefined) cookies.push(jar.junk)
    if (cookies.length > 0) headers.cookie = cookies.join(jar.separator)
    if (auth !== undefined) {
      const token = 's' in auth.token ? build(auth.token.s, real.header, pools.header, all) : forgeToken(auth.token.f, alice.id, SECRET)
      headers.authorization = `${auth.frame.scheme}${auth.frame.gap}${token}${auth.frame.tail}`
    }
    const seen = seenIn(headers, valid)
    const asIssued = [...jar.entries.map((e) => e.value), ...(auth !== undefined && 's' in auth.token ? [auth.token.s] : [])].some((v) => !('from' in v))
    for (const route of ROUTES) {
      const res = await app.inject({ method: route.method, url: route.url, headers })
      counts.requests++
      noServerError(res)
      for (const [who, allowed] of route.logins(res, seen)) {
        if (who === false || who === undefined || who === null) continue
        counts.logins++
        if (!asIssued) counts.edited++
        if (!allowed.includes(who as string)) throw new Error(`${route.method} ${route.url} let ${String(who)} in; the credentials sent may let in ${allowed.join(', ') || 'nobody'}`)
      }
    }
  }), runs(500))
  t.ok(counts.logins > counts.requests / 20, `valid credentials log in (${counts.logins} logins in ${counts.requests} requests), so the check is not vacuous`)
  t.ok(counts.edited > 0, `edited credentials with the same bytes log in too (${counts.edited} times): the oracle compares bytes, not text`)
})

t.test('token endpoint bodies: no 5xx, tokens only for a valid user name and password', async (t) => {
  const names = [...directory.values()].map((u) => u.name)
  let issued = 0
  await fc.assert(fc.asyncProperty(tokenRequest(['alice', ...names], [PASSWORD, 'wrong', '']), async ({ body, contentType }) => {
    const res = await app.inject({ method: 'POST', url: '/auth', payload: body, headers: contentType === undefined ? {} : { 'content-type': contentType } })
    noServerError(res)
    if (res.statusCode !== 200) return
    issued++
    // What the JSON parser made of the body (it drops a BOM); it must hold the exact credentials of an active user.
    const sent = JSON.parse(body.replace(/^\uFEFF/, '')) as Record<string, unknown>
    const owner = [...directory.values()].find((u) => u.name === sent.username && u.isActive !== false)
    if (sent.password !== PASSWORD || owner === undefined || payloadOf(res.json<Body>().access_token).sub !== owner.id) {
      throw new Error(`tokens for ${JSON.stringify(body)} (${contentType})`)
    }
  }), runs(1000))
  t.ok(issued > 20, `valid bodies get tokens (${issued} times)`)
})

t.test('OAuth 2.0 password-grant forms: no 5xx, tokens only for one grant_type=password with a valid user name and password', async (t) => {
  const names = [...directory.values()].map((u) => u.name)
  const param = fc.tuple(
    fc.constantFrom('grant_type', 'username', 'password', 'scope', 'client_id', 'refresh_token', 'username[]', 'Password', ''),
    fc.oneof(fc.constantFrom('password', 'refresh_token', PASSWORD, 'wrong', '', ...names), fc.string({ maxLength: 6 }))
  )
  // Parameters encoded as a client would, or as raw text (so `&`, `=`, `+` and bad escapes reach the parser as they are).
  const part = fc.oneof(
    { arbitrary: param.map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`), weight: 4 },
    param.map(([name, value]) => `${name}=${value}`),
    fc.constantFrom('&', '=', '%ZZ', '+', '%26', '%3D', 'grant_type=password')
  )
  const request = fc.record({
    // Often around a well-formed grant for a user of the directory, so that tokens are given out often enough to check.
    body: fc.tuple(fc.array(part, { maxLength: 3 }), fc.option(fc.constantFrom(...names), { freq: 3 }), fc.array(part, { maxLength: 3 }))
      .map(([before, name, after]) => [...before, ...(name === null ? [] : [`grant_type=password&username=${encodeURIComponent(name)}&password=${encodeURIComponent(PASSWORD)}`]), ...after].join('&')),
    contentType: fc.constantFrom('application/x-www-form-urlencoded', 'application/x-www-form-urlencoded; charset=utf-8', 'Application/X-WWW-Form-Urlencoded', 'application/x-www-form-urlencoded;charset=utf-16')
  })
  let issued = 0
  await fc.assert(fc.asyncProperty(request, async ({ body, contentType }) => {
    const res = await app.inject({ method: 'POST', url: '/auth', payload: body, headers: { 'content-type': contentType } })
    noServerError(res)
    if (res.statusCode !== 200) return
    issued++
    const params = new URLSearchParams(body)
    const once = (name: string): string | undefined => params.getAll(name).length === 1 ? params.get(name) as string : undefined
    const unique = new Set(params.keys()).size === [...params.keys()].length
    const owner = [...directory.values()].find((u) => u.name === once('username') && u.isActive !== false)
    if (!unique || once('grant_type') !== 'password' || once('password') !== PASSWORD || owner === undefined || payloadOf(res.json<Body>().access_token).sub !== owner.id) {
      throw new Error(`tokens for ${JSON.stringify(body)} (${contentType})`)
    }
  }), runs(1000))
  t.ok(issued > 5, `valid forms get tokens (${issued} times)`)
})

t.test('next on the login route: no 5xx, the redirect stays on this origin', async (t) => {
  let kept = 0
  // Every way nextUrl() reads it: encoded or raw query string, JSON or form body.
  const via = fc.constantFrom('query', 'rawQuery', 'json', 'form')
  // Absolute URLs are kept only on the request's own host, which the client names.
  const host = fc.constantFrom(undefined, 'evil.example', 'LOCALHOST', 'localhost:80')
  await fc.assert(fc.asyncProperty(nextValue, via, host, async (next, how, h) => {
    const headers: Record<string, string> = h === undefined ? {} : { host: h }
    const res = how === 'json'
      ? await app.inject({ method: 'POST', url: '/login', headers, payload: { next } })
      : how === 'form'
        ? await app.inject({ method: 'POST', url: '/login', headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ next }).toString() })
        : await app.inject({ url: '/', headers: { ...headers, 'x-raw-url': `/login?next=${how === 'query' ? percentEncode(next) : requestTarget(next)}` } })
    noServerError(res)
    if (res.statusCode !== 302 || !sameOrigin(res.headers.location)) throw new Error(`${res.statusCode} to ${String(res.headers.location)}`)
    if (res.headers.location !== '/') kept++
  }), runs(1000))
  t.ok(kept > 50, `some next values are kept (${kept} times)`)
})

t.test('raw URLs of guarded routes: no 5xx, the login redirect and its next stay on this origin', async (t) => {
  let kept = 0
  // Browsers get the redirect (the path under test), JSON clients a 401.
  const accept = fc.constantFrom(undefined, BROWSER_ACCEPT, '*/*', 'text/html', 'application/json')
  await fc.assert(fc.asyncProperty(guardedUrl, accept, async (url, a) => {
    const res = await app.inject({ url: '/', headers: { 'x-raw-url': url, ...(a === undefined ? {} : { accept: a }) } })
    noServerError(res)
    if (res.statusCode !== 302) return
    const location = res.headers.location
    if (!sameOrigin(location) || !String(location).startsWith('/login?')) throw new Error(`redirected to ${String(location)}`)
    // Follow it: the login route turns that next into its own redirect.
    const back = await app.inject({ url: '/', headers: { 'x-raw-url': location as string } })
    noServerError(back)
    if (back.statusCode !== 302 || !sameOrigin(back.headers.location)) throw new Error(`login redirected to ${String(back.headers.location)}`)
    // A plain path comes back as it was.
    if (/^\/(guarded\/|private|fresh)[\w/-]*(\?[\w=&-]+)?$/.test(url) && !url.includes('//') && back.headers.location !== url) {
      throw new Error(`${url} came back as ${String(back.headers.location)}`)
    }
    if (back.headers.location !== '/') kept++
  }), runs(600))
  t.ok(kept > 20, `next survives the round trip (${kept} times)`)
})
