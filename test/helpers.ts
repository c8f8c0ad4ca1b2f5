import { createHash, createHmac } from 'node:crypto'
import { setImmediate as tick } from 'node:timers/promises'
import Fastify, { type FastifyInstance, type FastifyServerOptions, type LightMyRequestResponse } from 'fastify'
import type { Test } from 'tap'
import fastifyLogin, { type FastifyLoginOptions, type JwtClaims, type LoginStore, type MaybePromise, type StoreSetOptions, type StoreValue } from '../lib/index.js'

/** A user of the test apps. */
export interface TestUser {
  id: string
  name: string
  isActive?: boolean
}

/** 32 bytes: a valid @fastify/secure-session key, for tests only. */
export const TEST_KEY = testKey('session')

/** A fixed 32-byte key that looks random (the plugin refuses keys that do not), different for each label. */
export function testKey (label: string): Buffer {
  return createHash('sha256').update(`fastify-login test key: ${label}`).digest()
}

/** The test users: alice (active), bob (active), carol (inactive), and a non-ASCII id. */
export function makeUsers (): Map<string, TestUser> {
  return new Map<string, TestUser>([
    ['1', { id: '1', name: 'alice' }],
    ['2', { id: '2', name: 'bob' }],
    ['3', { id: '3', name: 'carol', isActive: false }],
    ['佐藤', { id: '佐藤', name: 'sato' }]
  ])
}

export interface TestApp {
  app: FastifyInstance
  users: Map<string, TestUser>
}

/**
 * A Fastify app with fastify-login registered (session key TEST_KEY, users
 * from makeUsers()) and these routes:
 *  - POST /login/:id        logs user :id in; body { remember?, fresh?, force?, duration? }; 200 { ok }
 *  - POST /logout           logs out; 200
 *  - POST /confirm          reply.confirmLogin(); 200 { confirmed }
 *  - GET  /me               200 { user: currentUser, authenticated, fresh, remembered }
 *  - GET  /private          preHandler loginRequired; 200 { name }
 *  - GET  /fresh            preHandler freshLoginRequired; 200 { name }
 * `options` are merged over the defaults; `setup` may add routes/plugins before ready(), `before` plugins before fastify-login.
 */
export async function buildApp (
  options: Partial<FastifyLoginOptions> = {},
  setup?: (app: FastifyInstance) => void | Promise<void>,
  serverOptions: FastifyServerOptions = {},
  before?: (app: FastifyInstance) => void | Promise<void>
): Promise<TestApp> {
  const users = makeUsers()
  const app = Fastify(serverOptions)
  if (before !== undefined) await before(app)
  await app.register(fastifyLogin, {
    session: { key: TEST_KEY },
    loadUser: (id) => users.get(id) ?? null,
    ...options
  } as FastifyLoginOptions)

  app.post<{ Params: { id: string }, Body: { remember?: boolean, fresh?: boolean, force?: boolean, duration?: number | string } | undefined }>('/login/:id', async (request, reply) => {
    const user = users.get(request.params.id)
    if (user === undefined) return reply.code(404).send({ ok: false })
    const ok = await reply.login(user, request.body ?? {})
    return { ok }
  })
  app.post('/logout', async (_request, reply) => {
    await reply.logout()
    return { ok: true }
  })
  app.post('/confirm', async (_request, reply) => ({ confirmed: await reply.confirmLogin() }))
  app.get('/me', async (request) => ({
    user: request.currentUser,
    authenticated: request.isAuthenticated(),
    fresh: request.loginFresh(),
    remembered: request.loginRemembered()
  }))
  app.get('/private', { preHandler: app.loginRequired }, async (request) => ({ name: (request.currentUser as TestUser).name }))
  app.get('/fresh', { preHandler: app.freshLoginRequired }, async (request) => ({ name: (request.currentUser as TestUser).name }))

  if (setup !== undefined) await setup(app)
  await app.ready()
  return { app, users }
}

/** The `Set-Cookie` of `name` in a response, parsed by light-my-request. */
export function setCookie (res: LightMyRequestResponse, name: string): LightMyRequestResponse['cookies'][number] | undefined {
  return res.cookies.find((cookie) => cookie.name === name)
}

/**
 * A tiny cookie jar (light-my-request gives decoded cookie values): feed it responses, get the `cookie` header for the next
 * request. Cookies set with Max-Age=0 or an expiry in the past are removed.
 */
export class CookieJar {
  readonly cookies = new Map<string, string>()

  store (res: LightMyRequestResponse): this {
    for (const cookie of res.cookies) {
      const expired = cookie.maxAge === 0 || (cookie.expires !== undefined && cookie.expires.getTime() <= Date.now())
      if (expired || cookie.value === '') this.cookies.delete(cookie.name)
      else this.cookies.set(cookie.name, cookie.value)
    }
    return this
  }

  /** The Cookie header; values are URL-encoded again, as the server encoded them. */
  header (): string {
    return [...this.cookies].map(([name, value]) => `${name}=${encodeURIComponent(value)}`).join('; ')
  }
}

/** The Accept header a browser sends when it asks for a page (HTML first). */
export const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'

/** The body of buildApp()'s GET /me. */
export interface MeBody {
  user: TestUser | null
  authenticated: boolean
  fresh: boolean
  remembered: boolean
}

/** The GET /me body of buildApp() for a visitor without a login. */
export const ANONYMOUS: MeBody = { user: null, authenticated: false, fresh: false, remembered: false }

/**
 * POST /login/:id on a buildApp() app (body: login options such as { remember: true });
 * the response. Throws unless the login answered 200, so that a test never goes on without its login.
 */
export async function login (app: FastifyInstance, id: string, body: Record<string, unknown> = {}): Promise<LightMyRequestResponse> {
  const res = await app.inject({ method: 'POST', url: `/login/${id}`, payload: body })
  if (res.statusCode !== 200) throw new Error(`login failed: ${res.statusCode} ${res.body}`)
  return res
}

/** Logs user `id` in like login() and returns a jar holding the cookies it set. */
export async function loggedIn (app: FastifyInstance, id: string, body: Record<string, unknown> = {}): Promise<CookieJar> {
  return new CookieJar().store(await login(app, id, body))
}

/**
 * A request with the jar's cookies (plus `headers`, and `payload` when given); the jar stores
 * what the response sets, as a browser would. Returns the response.
 */
export async function send (
  app: FastifyInstance,
  jar: CookieJar,
  method: 'GET' | 'POST',
  url: string,
  payload?: Record<string, unknown>,
  headers?: Record<string, string>
): Promise<LightMyRequestResponse> {
  const res = await app.inject({
    method,
    url,
    headers: { ...headers, cookie: jar.header() },
    ...(payload === undefined ? {} : { payload })
  })
  jar.store(res)
  return res
}

/** GET /me through send() (the jar keeps what it sets); the parsed body. */
export async function me (app: FastifyInstance, jar: CookieJar, headers?: Record<string, string>): Promise<MeBody> {
  return (await send(app, jar, 'GET', '/me', undefined, headers)).json<MeBody>()
}

/**
 * Asserts that registering fastify-login with `options` fails while a new app starts, with
 * FST_LOGIN_INVALID_OPTION and a message matching `names` (the option at fault). `before` may
 * register other plugins first; `message` labels the assertion.
 */
export async function rejectsOption (
  t: Test,
  options: FastifyLoginOptions,
  names: RegExp,
  { before, message }: { before?: (app: FastifyInstance) => void, message?: string } = {}
): Promise<void> {
  const app = Fastify()
  t.teardown(() => app.close())
  if (before !== undefined) before(app)
  const start = async (): Promise<void> => { await app.register(fastifyLogin, options).ready() }
  const wanted = { code: 'FST_LOGIN_INVALID_OPTION', message: names }
  await (message === undefined ? t.rejects(start, wanted) : t.rejects(start, wanted, message))
}

/** A test's hold on Date.now(); see fakeClock(). */
export interface FakeClock {
  /** From now on Date.now() runs `offsetMs` ahead of the real clock. */
  set: (offsetMs: number) => void
  /** Puts the real Date.now() back (the test's teardown does it too). */
  restore: () => void
  /** Runs `fn` with Date.now() `offsetMs` ahead, then puts the real clock back, even when `fn` throws. */
  during: <T>(offsetMs: number, fn: () => Promise<T>) => Promise<T>
  /**
   * Runs `fn` with Date.now() standing still 100 ms into the current second, then puts the real
   * clock back: lifetimes computed from whole-second claims and from milliseconds then agree exactly.
   */
  frozen: <T>(fn: () => Promise<T>) => Promise<T>
}

/** The real Date.now, kept before any test replaces it. */
const realNow = Date.now

/**
 * A fake clock for test `t`: replaces Date.now() (only it: timers are untouched) on demand,
 * and registers `t.teardown` to put the real one back, so that a failing test cannot leave
 * the clock moved for the next one.
 */
export function fakeClock (t: Pick<Test, 'teardown'>): FakeClock {
  const restore = (): void => { Date.now = realNow }
  t.teardown(restore)
  const run = async <T>(now: () => number, fn: () => Promise<T>): Promise<T> => {
    Date.now = now
    try {
      return await fn()
    } finally {
      restore()
    }
  }
  return {
    set (offsetMs) { Date.now = () => realNow() + offsetMs },
    restore,
    during: (offsetMs, fn) => run(() => realNow() + offsetMs, fn),
    frozen: (fn) => {
      const instant = Math.floor(realNow() / 1000) * 1000 + 100
      return run(() => instant, fn)
    }
  }
}

/* JWT tests. */

/** The password of every user for authenticate(). */
export const PASSWORD = 'correct horse'

/** The users that authenticate() knows (a makeUsers() of their own, not an app's). */
export const directory = makeUsers()

/** The user of `users` whose name (not id) is `name`. */
export function userNamed (users: Map<string, TestUser>, name: string): TestUser | undefined {
  return [...users.values()].find((user) => user.name === name)
}

/** A token endpoint credentials check (jwt.authenticate): the user of `directory` named `username`, with PASSWORD. */
export function authenticate (username: string, password: string): TestUser | null {
  if (password !== PASSWORD) return null
  return userNamed(directory, username) ?? null
}

/** The token endpoint's response body. */
export interface TokenResponse {
  access_token: string
  refresh_token: string
}

/** POST /auth as `username` with PASSWORD; the response. Throws unless it answered 200. */
export async function authLogin (app: FastifyInstance, username = 'alice'): Promise<LightMyRequestResponse> {
  const res = await app.inject({ method: 'POST', url: '/auth', payload: { username, password: PASSWORD } })
  if (res.statusCode !== 200) throw new Error(`POST /auth failed: ${res.statusCode} ${res.body}`)
  return res
}

/** POST /auth as `username` with PASSWORD; the tokens. */
export async function getTokens (app: FastifyInstance, username = 'alice'): Promise<TokenResponse> {
  return (await authLogin(app, username)).json<TokenResponse>()
}

/** The Authorization header carrying `token`. */
export function bearer (token: string): { authorization: string } {
  return { authorization: `Bearer ${token}` }
}

/** GET /api/me (the guarded route of the JWT test apps) with `token` as the Bearer token. */
export function callMe (app: FastifyInstance, token: string): Promise<LightMyRequestResponse> {
  return app.inject({ url: '/api/me', headers: bearer(token) })
}

/** `value` as JSON in base64url: a JWT header or payload segment. */
export function b64 (value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}

/** The header and claims of a JWT, read without verification. Throws on anything that is not three segments. */
export function decodeJwt (token: unknown): { header: Record<string, unknown>, payload: JwtClaims } {
  if (typeof token !== 'string') throw new Error(`not a token: ${String(token)}`)
  const [header, payload, ...rest] = token.split('.')
  if (rest.length !== 1) throw new Error(`not a JWT: ${token}`)
  return {
    header: JSON.parse(Buffer.from(header ?? '', 'base64url').toString('utf8')),
    payload: JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8'))
  }
}

/** The claims of a JWT, read without verification. */
export function payloadOf (token: unknown): JwtClaims {
  return decodeJwt(token).payload
}

/** The `typ` header the plugin gives a token of this `type` claim (RFC 9068 for access tokens). */
export function typFor (payload: Record<string, unknown>): string {
  return payload.type === 'refresh' ? 'refresh+jwt' : 'at+jwt'
}

/**
 * A token signed with HMAC-SHA256 by node:crypto (no JWT library); the header says HS256 and
 * the `typ` the plugin uses for the payload's type, unless `header` says otherwise.
 */
export function hmacToken (payload: Record<string, unknown>, secret: string | Buffer, header: Record<string, unknown> = { alg: 'HS256', typ: typFor(payload) }): string {
  const input = `${b64(header)}.${b64(payload)}`
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`
}

/** Asserts a 401 whose body has `code` (`what` names the case in messages); returns the body. */
export function assertRefused (t: Test, res: LightMyRequestResponse, code: string, what = code): Record<string, unknown> {
  t.equal(res.statusCode, 401, `refused with 401 (${what})`)
  const body = res.json<Record<string, unknown>>()
  t.equal(body.code, code, `${what}: code`)
  return body
}

/** Asserts a 200 whose body names user `name` (the JWT test apps' GET /api/me answers { name }). */
export function assertUser (t: Test, res: LightMyRequestResponse, name = 'alice'): void {
  t.equal(res.statusCode, 200, `accepted (${res.body.slice(0, 120)})`)
  t.equal(res.json<{ name: string }>().name, name)
}

/** A point where one request of a race test is held: the code under test awaits `wait` after calling `reached`. */
export interface HeldPoint {
  /** Called by the held code when it gets there. */
  reached: () => void
  /** What the held code awaits. */
  wait: Promise<void>
  /** Resolves once the held code has reached the point. */
  arrived: Promise<void>
  /** Lets the held code go on. */
  release: () => void
}

/** A new HeldPoint, for tests that run requests truly in parallel and need one interleaving. */
export function heldPoint (): HeldPoint {
  let release = (): void => {}
  let reached = (): void => {}
  const wait = new Promise<void>((resolve) => { release = resolve })
  const arrived = new Promise<void>((resolve) => { reached = resolve })
  return { reached, wait, arrived, release }
}

/** Every operation of `inner`, answered with a promise a tick later: an async store as Redis would be. */
export function asyncStore (inner: LoginStore): LoginStore {
  const later = async <T>(fn: () => MaybePromise<T>): Promise<T> => { await tick(); return await fn() }
  return {
    get: (key) => later(() => inner.get(key)),
    set: (key, value, options) => later(() => inner.set(key, value, options)),
    delete: (key) => later(() => inner.delete(key)),
    compareAndSet: (key: string, expected: StoreValue | null, next: any, options?: StoreSetOptions) =>
      later(() => inner.compareAndSet(key, expected, next, options as StoreSetOptions)),
    increment: (key, options) => later(() => inner.increment(key, options)),
    keysOfUser: (userId) => later(() => inner.keysOfUser(userId)),
    deleteUser: (userId) => later(() => inner.deleteUser(userId)),
    close: () => later(() => inner.close?.())
  }
}

/**
 * `inner`, with one write held on demand: after `holdNextWrite()`, the next
 * `set` or `compareAndSet` calls `held.reached()` and waits for
 * `held.release()`; every other operation goes straight through.
 */
export function writeHeldStore (inner: LoginStore): { store: LoginStore, held: HeldPoint, holdNextWrite: () => void } {
  const held = heldPoint()
  let hold = false
  const later = async <T>(write: () => MaybePromise<T>): Promise<T> => {
    if (hold) {
      hold = false
      held.reached()
      await held.wait
    }
    return await write()
  }
  const store: LoginStore = {
    get: (key) => inner.get(key),
    set: (key, value, options) => later(() => inner.set(key, value, options)),
    delete: (key) => inner.delete(key),
    compareAndSet: (key: string, expected: StoreValue | null, next: any, options?: StoreSetOptions) =>
      later(() => inner.compareAndSet(key, expected, next, options as StoreSetOptions)),
    increment: (key, options) => inner.increment(key, options),
    keysOfUser: (userId) => inner.keysOfUser(userId),
    deleteUser: (userId) => inner.deleteUser(userId)
  }
  return { store, held, holdNextWrite: () => { hold = true } }
}

/** Polls `check` (no fixed sleeps) until it is true or `ms` pass; answers whether it became true. */
export async function eventually (ms: number, check: () => Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    if (await check()) return true
    await new Promise((resolve) => setImmediate(resolve))
  }
  return await check()
}
