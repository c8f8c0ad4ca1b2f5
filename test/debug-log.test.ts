import t, { type Test } from 'tap'
import { Writable } from 'node:stream'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { MemoryStore } from '../lib/index.js'
import { buildApp, CookieJar, hmacToken, PASSWORD, authenticate, send, setCookie } from './helpers.js'

/*
 * The security log at debug level: logins, logouts, refusals and their
 * reasons, written through the request's logger, never with a secret in it.
 */

const SECRET = 'debug-log-test-secret-0123456789abcdefgh'
const WRONG_PASSWORD = 'Tr0ub4dor&3-wrong'
const REMEMBER = '__Host-remember_token'

interface Line {
  level: number
  msg: string
  reqId?: string
  [field: string]: unknown
}

/** A pino destination that keeps every line, parsed, and the raw text. */
function capture (): { stream: Writable, lines: Line[], text: () => string } {
  const raw: string[] = []
  const stream = new Writable({
    write (chunk: Buffer, _encoding, done) {
      raw.push(chunk.toString('utf8'))
      done()
    }
  })
  return { stream, lines: [], text: () => raw.join('') }
}

function parsed (text: string): Line[] {
  return text.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as Line)
}

/** Everything a response set: cookie values and, in a JSON body, tokens. */
function secretsOf (res: LightMyRequestResponse, into: Set<string>): void {
  for (const cookie of res.cookies) if (cookie.value !== '') into.add(cookie.value)
  if ((res.headers['content-type'] ?? '').toString().startsWith('application/json')) {
    const body = res.json<Record<string, unknown>>()
    for (const key of ['access_token', 'refresh_token']) if (typeof body[key] === 'string') into.add(body[key] as string)
  }
}

/**
 * Drives one app through a login and logout, a refused request, bad and
 * expired tokens, a token login, a throttled attempt, a remember-me theft and
 * a stale login; answers the captured log and every secret the test saw.
 */
async function scenario (t: Test, level: 'debug' | 'info'): Promise<{ lines: Line[], text: string, secrets: Set<string> }> {
  const log = capture()
  let now = Date.now()
  const secrets = new Set<string>([PASSWORD, WRONG_PASSWORD, SECRET])
  const { app, users } = await buildApp({
    clock: () => now,
    rememberMe: { reuseGrace: '1s' },
    loginThrottle: { perAccount: 2 },
    jwt: { secret: SECRET, authenticate }
  }, (app: FastifyInstance) => {
    app.get('/api/me', { preHandler: app.jwtRequired }, async () => ({ ok: true }))
  }, { logger: { level, stream: log.stream } })
  t.teardown(() => app.close())
  const track = (res: LightMyRequestResponse): LightMyRequestResponse => { secretsOf(res, secrets); return res }

  // A login with remember-me, a page, a logout.
  const jar = new CookieJar()
  track(await send(app, jar, 'POST', '/login/1', { remember: true }))
  for (const session of await app.loginSessions.list('1')) secrets.add(session.id)
  t.equal(track(await send(app, jar, 'GET', '/private')).statusCode, 200)
  // Another browser with this cookie: basic session protection marks the login not fresh.
  t.equal(track(await send(app, jar, 'GET', '/me', undefined, { 'user-agent': 'another browser' })).statusCode, 200)
  const beforeLogout = jar.header()
  track(await send(app, jar, 'POST', '/logout'))
  // The cookies of before the logout, replayed: the session and the remember-me series are gone.
  t.match(track(await app.inject({ url: '/me', headers: { cookie: beforeLogout } })).json(), { authenticated: false })
  // A remember cookie that does not open.
  t.match(track(await app.inject({ url: '/me', headers: { cookie: `${REMEMBER}=not-a-token` } })).json(), { authenticated: false })
  // A user deleted while logged in, by session and by remember-me cookie.
  const sato = new CookieJar()
  track(await send(app, sato, 'POST', `/login/${encodeURIComponent('佐藤')}`, { remember: true }))
  const satoRemember = `${REMEMBER}=${encodeURIComponent(sato.cookies.get(REMEMBER) as string)}`
  users.delete('佐藤')
  t.match(track(await send(app, sato, 'GET', '/me')).json(), { authenticated: false })
  t.match(track(await app.inject({ url: '/me', headers: { cookie: satoRemember } })).json(), { authenticated: false })

  // Refused: no login.
  t.equal(track(await app.inject({ url: '/private' })).statusCode, 401)

  // Token endpoint: two wrong passwords, then throttled; a good login; a tampered and an expired token.
  for (let i = 0; i < 2; i++) {
    t.equal(track(await app.inject({ method: 'POST', url: '/auth', payload: { username: 'bob', password: WRONG_PASSWORD } })).statusCode, 401)
  }
  t.equal(track(await app.inject({ method: 'POST', url: '/auth', payload: { username: 'bob', password: WRONG_PASSWORD } })).statusCode, 429)
  const tokens = track(await app.inject({ method: 'POST', url: '/auth', payload: { username: 'alice', password: PASSWORD } })).json<{ access_token: string }>()
  t.equal(track(await app.inject({ url: '/api/me', headers: { authorization: `Bearer ${tokens.access_token}` } })).statusCode, 200)
  const tampered = `${tokens.access_token.slice(0, -3)}abc`
  secrets.add(tampered)
  t.equal((await app.inject({ url: '/api/me', headers: { authorization: `Bearer ${tampered}` } })).statusCode, 401)
  const expired = hmacToken({ sub: '1', type: 'access', jti: 'expired-token-id-0001', iat: 1_000_000, exp: 1_000_060 }, SECRET)
  secrets.add(expired)
  t.equal((await app.inject({ url: '/api/me', headers: { authorization: `Bearer ${expired}` } })).statusCode, 401)

  // Remember-me: a restore (not fresh: /fresh refuses it), then the replaced cookie comes back.
  const device = new CookieJar()
  track(await send(app, device, 'POST', '/login/2', { remember: true }))
  const stolen = device.cookies.get(REMEMBER) as string
  const restoring = new CookieJar()
  restoring.cookies.set(REMEMBER, stolen)
  const restored = track(await send(app, restoring, 'GET', '/me'))
  t.ok(setCookie(restored, REMEMBER), 'the restore replaced the cookie')
  t.equal(track(await send(app, restoring, 'GET', '/fresh')).statusCode, 401)
  now += 5000
  const thief = new CookieJar()
  thief.cookies.set(REMEMBER, stolen)
  t.match(track(await send(app, thief, 'GET', '/me')).json(), { authenticated: false }, 'the replaced cookie is refused')

  const text = log.text()
  return { lines: parsed(text), text, secrets }
}

/** The plugin's lines at debug level. */
function ours (lines: Line[]): Line[] {
  return lines.filter((line) => line.level === 20 && line.msg.startsWith('fastify-login:'))
}

t.test('debug level: logins, logouts and refusals with their reasons', async (t) => {
  const { lines } = await scenario(t, 'debug')
  const log = ours(lines)
  const find = (msg: string, fields: Record<string, unknown>): Line | undefined =>
    log.find((line) => line.msg === msg && Object.entries(fields).every(([key, value]) => line[key] === value))
  const expect = (msg: string, fields: Record<string, unknown>): void => {
    const line = find(msg, fields)
    t.ok(line, `${msg} ${JSON.stringify(fields)}`)
    if (line !== undefined) t.type(line.reqId, 'string', 'carries the request id')
  }

  expect('fastify-login: user logged in', { userId: '1', via: 'session', event: 'userLoggedIn' })
  expect('fastify-login: session protection acted', { userId: '1', via: 'session', event: 'sessionProtected' })
  expect('fastify-login: user logged out', { userId: '1', via: 'session' })
  expect('fastify-login: session ended', { userId: '1', reason: 'logout' })
  t.match(find('fastify-login: session ended', { reason: 'logout' }), { sessionRef: /^[0-9a-f]{12}$/ })
  expect('fastify-login: request refused', { reason: 'unauthorized', event: 'userUnauthorized' })
  expect('fastify-login: login refused', { reason: 'session not found', userId: '1', via: 'session' })
  expect('fastify-login: login refused', { reason: 'remember-me series gone', userId: '1', via: 'remember' })
  expect('fastify-login: login refused', { reason: 'remember-me cookie invalid', via: 'remember' })
  expect('fastify-login: login refused', { reason: 'user not found or inactive', userId: '佐藤', via: 'session' })
  expect('fastify-login: login refused', { reason: 'user not found or inactive', userId: '佐藤', via: 'remember' })
  expect('fastify-login: login failed', { via: 'jwt', event: 'loginFailed' })
  t.match(find('fastify-login: login failed', {}), { accountRef: /^[0-9a-f]{12}$/ })
  expect('fastify-login: request refused', { reason: 'bad credentials', code: 'FST_LOGIN_JWT_BAD_CREDENTIALS', statusCode: 401 })
  expect('fastify-login: request refused', { reason: 'throttled', limit: 'account', via: 'jwt' })
  expect('fastify-login: user logged in', { userId: '1', via: 'jwt' })
  expect('fastify-login: request refused', { reason: 'token invalid', code: 'FST_LOGIN_JWT_INVALID' })
  expect('fastify-login: request refused', { reason: 'token expired', code: 'FST_LOGIN_JWT_EXPIRED' })
  expect('fastify-login: user logged in from the remember-me cookie', { userId: '2', via: 'remember' })
  expect('fastify-login: request refused', { reason: 'not fresh', userId: '2' })
  expect('fastify-login: request refused', { reason: 'remember-me token reused', userId: '2', via: 'remember' })
  expect('fastify-login: session ended', { userId: '2', reason: 'revoked' })

  t.equal(log.filter((line) => line.reason === 'throttled').length, 1, 'a refusal logged from its event is not logged again from its error')
  t.equal(log.filter((line) => line.reason === 'unauthorized').length, 1)
})

t.test('an anonymous value in an event has no userId, whatever getUserId does with it', async (t) => {
  for (const getUserId of [(user: { id?: string }) => user.id ?? '', (user: { id?: string }) => { if (user.id === undefined) throw new Error('no id'); return user.id }]) {
    const log = capture()
    const { app } = await buildApp({
      anonymousUser: () => ({ guest: true }) as never,
      getUserId: getUserId as never
    }, undefined, { logger: { level: 'debug', stream: log.stream } })
    t.teardown(() => app.close())
    t.equal((await app.inject({ url: '/private' })).statusCode, 401)
    const refused = ours(parsed(log.text())).find((line) => line.reason === 'unauthorized')
    t.ok(refused)
    t.notOk(refused !== undefined && 'userId' in refused && refused.userId !== undefined, 'no userId')
  }
})

t.test('a failing store: the 503 is logged with its reason', async (t) => {
  const log = capture()
  const broken = new MemoryStore()
  t.teardown(() => broken.close())
  const { app } = await buildApp({ store: broken }, undefined, { logger: { level: 'debug', stream: log.stream } })
  t.teardown(() => app.close())
  const jar = new CookieJar()
  await send(app, jar, 'POST', '/login/1')
  broken.get = () => { throw new Error('connection refused') }
  t.equal((await send(app, jar, 'GET', '/private')).statusCode, 503)
  t.ok(ours(parsed(log.text())).find((line) => line.reason === 'store unavailable' && line.code === 'FST_LOGIN_STORE_UNAVAILABLE' && line.statusCode === 503))
})

t.test('no secret reaches the log', async (t) => {
  const { text, secrets } = await scenario(t, 'debug')
  t.ok(secrets.size > 10, `${secrets.size} secrets collected`)
  for (const secret of secrets) {
    t.notOk(text.includes(secret), `not logged: ${secret.slice(0, 6)}…`)
    t.notOk(text.includes(encodeURIComponent(secret)), `not logged URL-encoded: ${secret.slice(0, 6)}…`)
  }
  t.notOk(text.includes('"username"'), 'no username field (a password typed as the name would be in it)')
})

t.test('info level: none of it', async (t) => {
  const { lines } = await scenario(t, 'info')
  t.same(lines.filter((line) => line.level < 30), [], 'no debug lines')
  t.same(lines.filter((line) => /^fastify-login: (user|request refused|session ended|login failed)/.test(line.msg)), [])
})
