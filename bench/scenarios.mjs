// The benchmark scenarios. Each one builds a small Fastify app that serves the
// same tiny JSON body, and says which request is the authenticated one (the
// load) and which is the anonymous one (checked before each run).
//
// fastify-login is imported by its package name, so the apps run the built
// package (dist/), as users get it.
import Fastify from 'fastify'
import fastifyJwt from '@fastify/jwt'
import { createSigner, createVerifier } from 'fast-jwt'
import fastifyPassport from '@fastify/passport'
import fastifySecureSession from '@fastify/secure-session'
import fastifyLogin, { MemoryStore } from 'fastify-login'
import { RedisStore } from 'fastify-login/redis'
import { loginCookie, rememberCookie } from 'fastify-login/testing'
import Redis from 'ioredis'

// Fixed test keys: 32 bytes for the session, a long HS256 secret for JWTs.
export const SESSION_KEY = Buffer.from('fastify-login-bench-session-key!', 'utf8')
export const JWT_SECRET = 'fastify-login benchmark HS256 secret, 48 bytes.'
// The loader sends this User-Agent, and session-protected cookies are made for it.
export const USER_AGENT = 'fastify-login-bench'
export const CLIENT_IP = '127.0.0.1'
export const BODY = { hello: 'world' }

const USERS = [
  { id: '1', name: 'alice', password: 'alice-password' },
  { id: '2', name: 'bob', password: 'bob-password' }
]
const ALICE = USERS[0]
const GOOD_LOGIN = JSON.stringify({ username: 'alice', password: 'alice-password' })
const BAD_LOGIN = JSON.stringify({ username: 'alice', password: 'wrong' })
const JSON_HEADERS = { 'content-type': 'application/json' }

/** A user store that counts loads, so the runner can tell how often a scenario loads users. */
function userStore () {
  const byId = new Map(USERS.map((user) => [user.id, user]))
  const byName = new Map(USERS.map((user) => [user.name, user]))
  const stats = { loads: 0 }
  return {
    stats,
    load (id) {
      stats.loads++
      return byId.get(id) ?? null
    },
    /**
     * A loader with what a database or a remote user service costs at the
     * least: an answer on a later turn of the event loop, and a new object
     * (a JSON round trip, as a driver parses its reply). For the userCache scenarios.
     */
    async loadAsync (id) {
      stats.loads++
      await new Promise((resolve) => setImmediate(resolve))
      const user = byId.get(id)
      return user === undefined ? null : JSON.parse(JSON.stringify(user))
    },
    /** The same with a database's round trip: the answer comes 1 ms later (a timer, no CPU). */
    async loadRemote (id) {
      stats.loads++
      await new Promise((resolve) => setTimeout(resolve, 1))
      const user = byId.get(id)
      return user === undefined ? null : JSON.parse(JSON.stringify(user))
    },
    check (body) {
      const user = body !== null && typeof body === 'object' ? byName.get(body.username) : undefined
      return user !== undefined && user.password === body.password ? user : null
    }
  }
}

function newApp () {
  return Fastify({ logger: false })
}

function cookieOf (setCookie) {
  const first = Array.isArray(setCookie) ? setCookie[0] : setCookie
  return first.split(';')[0]
}

/**
 * A RedisStore on the bench's redis-server (run.mjs starts it and passes its
 * URL as BENCH_REDIS_URL), under its own `prefix`. Resolves once the client is
 * connected and, with the local cache, once its invalidation subscription is
 * confirmed (before that the cache is off and every get goes to Redis).
 * `close()` ends the subscriber and the client.
 */
export async function benchRedisStore (prefix, options = {}) {
  const url = process.env.BENCH_REDIS_URL
  if (url === undefined || url === '') throw new Error('the Redis scenarios need BENCH_REDIS_URL (run.mjs starts a redis-server and sets it)')
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 })
  await client.connect()
  const store = new RedisStore({ client, prefix, ...options })
  if (options.localCache !== false) {
    const deadline = Date.now() + 10_000
    while (!store.localCacheActive) {
      if (Date.now() > deadline) throw new Error(`${prefix}: the local cache's subscription was not confirmed after 10 s`)
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  }
  return {
    store,
    client,
    async close () {
      store.close()
      await client.quit()
    }
  }
}

/** Plugin options of a Redis scenario: its own store, closed with the app. */
async function redisOptions (app, prefix, options) {
  const redis = await benchRedisStore(prefix, options)
  app.addHook('onClose', async () => { await redis.close() })
  return { store: redis.store }
}

// The fastify-login app of the session scenarios: defaults, as the README shows them
// (`extra` adds options; a function of the app, for options that need it, such as a store closed with it).
async function sessionLoginApp (store, extra = {}) {
  const app = newApp()
  await app.register(fastifyLogin, {
    session: { key: SESSION_KEY },
    loadUser: (id) => store.load(id),
    ...(typeof extra === 'function' ? await extra(app, store) : extra)
  })
  return app
}

/** A Fastify app with @fastify/secure-session as the peers' scenarios use it. */
async function secureSessionApp () {
  const app = newApp()
  await app.register(fastifySecureSession, { key: SESSION_KEY, cookie: { path: '/', httpOnly: true } })
  return app
}

/** secure-session alone, GET /data served by `handler`; the load sends a session holding alice's uid. */
async function secureSessionScenario (handler) {
  const app = await secureSessionApp()
  app.get('/data', handler)
  await app.ready()
  const cookie = `session=${encodeURIComponent(app.encodeSecureSession(app.createSecureSession({ uid: ALICE.id })))}`
  return { app, auth: { path: '/data', headers: { cookie } }, anon: { path: '/data' } }
}

/**
 * A fastify-login app with GET /data: `route` are its route options (a
 * `preHandler` named by the guard's decorator), `cookie` which login the load
 * sends ('session' or 'remember'), `anonStatus` what a request without it gets
 * (200 on a public route).
 */
async function sessionScenario ({ preHandler, ...route }, cookie, anonStatus = 401, extra = {}) {
  const store = userStore()
  const app = await sessionLoginApp(store, extra)
  app.get('/data', preHandler === undefined ? route : { ...route, preHandler: app[preHandler] }, async () => BODY)
  await app.ready()
  // With a store, loginCookie saves the session's record there (MemoryStore, Redis), as a login does.
  const sessionAuth = async () => ({ path: '/data', headers: { cookie: await loginCookie(app, ALICE, { ip: CLIENT_IP, userAgent: USER_AGENT }) } })
  // Every restore spends its remember cookie's secret (the next one is in the answer): the load takes
  // current cookies from a pool of series and puts back what each answer set (see rotatingRequest in run.mjs).
  // A new pool before every run: a cookie spent in an earlier run would come back as a stolen one.
  const rememberAuth = async () => ({
    path: '/data',
    headers: { cookie: await rememberCookie(app, ALICE) },
    rotating: { name: REMEMBER_COOKIE, seeds: await Promise.all(Array.from({ length: 64 }, () => rememberCookie(app, ALICE))) }
  })
  const auth = cookie === 'remember' ? await rememberAuth() : await sessionAuth()
  // A new session cookie before every run (run.mjs asks for it), as a browser keeps the latest one: the loader
  // replays one fixed cookie, and once that cookie is a touchInterval (1 min) old, every request would touch
  // it; with `store: false` the touch is in the cookie itself, so each response would write a new cookie.
  // A store's record is touched once and then read back touched, whatever the cookie's age.
  const refresh = cookie === 'remember' ? rememberAuth : sessionAuth
  return { app, stats: store.stats, auth, refresh, anon: { path: '/data' }, anonStatus }
}

const REMEMBER_COOKIE = '__Host-remember_token'

/** Each scenario: `build()` returns { app, auth, anon, stats? }; auth and anon are requests. */
export const scenarios = {
  bare: {
    title: 'bare Fastify, no auth',
    async build () {
      const app = newApp()
      app.get('/data', async () => BODY)
      return { app, auth: { path: '/data' }, anon: null }
    }
  },

  'secure-session': {
    title: '@fastify/secure-session alone, handler reads the session',
    build: () => secureSessionScenario(async (request, reply) => {
      if (request.session.get('uid') === undefined) return reply.code(401).send({ error: 'login required' })
      return BODY
    })
  },

  'secure-session-write': {
    title: '@fastify/secure-session alone, handler writes a new session (what a restore must also do)',
    build: () => secureSessionScenario(async (request, reply) => {
      const uid = request.session.get('uid')
      if (uid === undefined) return reply.code(401).send({ error: 'login required' })
      request.session.regenerate()
      request.session.set('uid', uid)
      return BODY
    })
  },

  passport: {
    title: '@fastify/passport + secure-session, user deserializer',
    async build () {
      const store = userStore()
      const app = await passportApp(store)
      app.get('/data', {
        preValidation: async (request, reply) => {
          if (!request.isAuthenticated()) return reply.code(401).send({ error: 'login required' })
        }
      }, async () => BODY)
      await app.ready()
      // Logged in once through the login route; the cookie is reused for the load.
      const res = await app.inject({ method: 'POST', url: '/login', headers: JSON_HEADERS, payload: GOOD_LOGIN })
      if (res.statusCode !== 200) throw new Error(`passport login failed: ${res.statusCode} ${res.body}`)
      const cookie = cookieOf(res.headers['set-cookie'])
      return { app, stats: store.stats, auth: { path: '/data', headers: { cookie } }, anon: { path: '/data' } }
    }
  },

  'login-session': {
    title: 'fastify-login `loginRequired`, session cookie (default MemoryStore)',
    build: () => sessionScenario({ preHandler: 'loginRequired' }, 'session')
  },

  'login-session-stateless': {
    title: 'fastify-login `loginRequired`, `store: false` (the record in the cookie)',
    build: () => sessionScenario({ preHandler: 'loginRequired' }, 'session', 401, { store: false })
  },

  'login-session-redis': {
    title: 'fastify-login `loginRequired`, RedisStore with its local cache (default)',
    build: () => sessionScenario({ preHandler: 'loginRequired' }, 'session', 401,
      (app) => redisOptions(app, 'bench:login-session-redis:', {}))
  },

  'login-session-redis-nocache': {
    title: 'fastify-login `loginRequired`, RedisStore, `localCache: false` (a Redis read per request)',
    build: () => sessionScenario({ preHandler: 'loginRequired' }, 'session', 401,
      (app) => redisOptions(app, 'bench:login-session-redis-nocache:', { localCache: false }))
  },

  'login-session-async': {
    title: 'fastify-login `loginRequired`, async loader (a tick + a JSON copy), no user cache',
    build: () => sessionScenario({ preHandler: 'loginRequired' }, 'session', 401, (_app, store) => ({ loadUser: (id) => store.loadAsync(id) }))
  },

  'login-session-cached': {
    title: 'fastify-login `loginRequired`, the same async loader with `userCache: true`',
    build: () => sessionScenario({ preHandler: 'loginRequired' }, 'session', 401, (_app, store) => ({ loadUser: (id) => store.loadAsync(id), userCache: true }))
  },

  'login-session-db': {
    title: 'fastify-login `loginRequired`, a loader with a 1 ms round trip, no user cache',
    build: () => sessionScenario({ preHandler: 'loginRequired' }, 'session', 401, (_app, store) => ({ loadUser: (id) => store.loadRemote(id) }))
  },

  'login-session-db-cached': {
    title: 'fastify-login `loginRequired`, the same 1 ms loader with `userCache: true`',
    build: () => sessionScenario({ preHandler: 'loginRequired' }, 'session', 401, (_app, store) => ({ loadUser: (id) => store.loadRemote(id), userCache: true }))
  },

  'login-public': {
    title: 'fastify-login, route that never uses the user (defaults)',
    build: () => sessionScenario({}, 'session', 200)
  },

  'login-public-noload': {
    title: 'fastify-login, same route with `autoLoadUser: false`',
    build: () => sessionScenario({ config: { autoLoadUser: false } }, 'session', 200)
  },

  'login-remember': {
    title: 'fastify-login, login restored from the remember-me cookie',
    // Only the remember cookie: every request restores the login and writes a new session.
    build: () => sessionScenario({ preHandler: 'loginRequired' }, 'remember')
  },

  'fastify-jwt': {
    title: '@fastify/jwt alone, `request.jwtVerify()` in a preHandler',
    async build () {
      const app = newApp()
      await app.register(fastifyJwt, { secret: JWT_SECRET })
      app.get('/data', { preHandler: async (request) => { await request.jwtVerify() } }, async () => BODY)
      await app.ready()
      const token = app.jwt.sign({ sub: ALICE.id }, { expiresIn: '1d' })
      return { app, auth: { path: '/data', headers: { authorization: `Bearer ${token}` } }, anon: { path: '/data' } }
    }
  },

  'fast-jwt': {
    title: 'fast-jwt called directly in a preHandler (the floor for any HS256 guard)',
    async build () {
      const app = newApp()
      const verify = createVerifier({ key: JWT_SECRET, algorithms: ['HS256'] })
      const token = createSigner({ key: JWT_SECRET, algorithm: 'HS256', expiresIn: 86_400_000 })({ sub: ALICE.id })
      app.get('/data', {
        preHandler: (request, reply, done) => {
          const header = request.headers.authorization
          if (header === undefined || !header.startsWith('Bearer ')) return reply.code(401).send({ error: 'token required' })
          try {
            verify(header.slice(7))
          } catch {
            return reply.code(401).send({ error: 'bad token' })
          }
          done()
        }
      }, async () => BODY)
      await app.ready()
      return { app, auth: { path: '/data', headers: { authorization: `Bearer ${token}` } }, anon: { path: '/data' } }
    }
  },

  'login-jwt': {
    title: 'fastify-login `jwtRequired`, JWT-only app (`session: false`)',
    build: (store = userStore()) => jwtScenario(store, { session: false }, {})
  },

  'login-jwt-session': {
    title: 'fastify-login `jwtRequired`, app with sessions too (no cookie sent)',
    build: (store = userStore()) => jwtScenario(store, { session: { key: SESSION_KEY } }, {})
  },

  'login-jwt-cache': {
    title: 'fastify-login `jwtRequired` + verified-token cache, JWT-only app',
    build: (store = userStore()) => jwtScenario(store, { session: false }, { cache: true })
  },

  'login-jwt-async': {
    title: 'fastify-login `jwtRequired`, JWT-only app, async loader (a tick + a JSON copy), no user cache',
    build: (store = userStore()) => jwtScenario(store, { session: false, loadUser: (id) => store.loadAsync(id) }, {})
  },

  'login-jwt-cached': {
    title: 'fastify-login `jwtRequired`, the same async loader with `userCache: true`',
    build: (store = userStore()) => jwtScenario(store, { session: false, loadUser: (id) => store.loadAsync(id), userCache: true }, {})
  },

  'login-login': {
    title: 'fastify-login logins/s: POST /login → `reply.login()` (default MemoryStore)',
    build: () => loginScenario()
  },

  'login-login-redis': {
    title: 'fastify-login logins/s with RedisStore: POST /login → `reply.login()`',
    build: () => loginScenario((app) => redisOptions(app, 'bench:login-login-redis:', {}))
  },

  'login-jwt-auth-redis': {
    title: 'fastify-login token endpoint with RedisStore: POST /auth (a new refresh-token family each)',
    build: () => tokenScenario(false)
  },

  'login-jwt-refresh-redis': {
    title: 'fastify-login refresh with RedisStore: POST /auth/refresh, each spending the token the previous one gave',
    build: () => tokenScenario(true)
  },

  'passport-login': {
    title: '@fastify/passport logins/s: POST /login → `authenticate()`',
    async build () {
      const store = userStore()
      const app = await passportApp(store)
      await app.ready()
      return { app, ...loginRequests() }
    }
  },

  // Not in the table: the memory check loads it with a mix of everything.
  mixed: {
    title: 'fastify-login, sessions + remember-me + JWT + logins + refusals',
    async build () {
      const store = userStore()
      // The default store, made here so the server can report how many records it holds.
      const sessionStore = new MemoryStore()
      const app = await sessionLoginApp(store, { store: sessionStore, jwt: { secret: JWT_SECRET, authPath: false, accessTokenExpires: '1d' } })
      app.get('/data', { preHandler: app.loginRequired }, async () => BODY)
      app.get('/public', async () => BODY)
      app.get('/api', { preHandler: app.jwtRequired }, async () => BODY)
      app.post('/login', async (request, reply) => {
        const user = store.check(request.body)
        if (user === null) return reply.code(401).send({ error: 'wrong username or password' })
        await reply.login(user, { remember: true })
        return BODY
      })
      app.post('/logout', async (request, reply) => {
        await reply.logout()
        return BODY
      })
      app.addHook('onClose', async () => { sessionStore.close() })
      await app.ready()
      // The long-lived session of the load: never logged out (one record).
      const session = await loginCookie(app, ALICE, { ip: CLIENT_IP, userAgent: USER_AGENT })
      const sessionName = session.slice(0, session.indexOf('='))
      const rememberName = '__Host-remember_token' // the default name (rememberCookie() would record a device of its own)
      const token = await app.createAccessToken(ALICE)
      // Every session and remember-me device the cycle starts is ended in the same cycle, so the store holds as
      // many records at the end as at the start: the login (with remember-me) gives a session and a remember
      // cookie; the remember cookie alone restores a second session; logging that one out ends the device, and
      // the login's session is logged out too. `capture` keeps cookies of the response under names (per
      // connection); `withCookieOf` sends one (the runner does both: bench/run.mjs).
      const requests = [
        { path: '/data', headers: { cookie: session } },
        { method: 'POST', path: '/login', headers: JSON_HEADERS, body: GOOD_LOGIN, capture: { login: sessionName, remember: rememberName } },
        { path: '/data', withCookieOf: 'remember', capture: 'restored' },
        { path: '/api', headers: { authorization: `Bearer ${token}` } },
        { path: '/public' },
        { method: 'POST', path: '/logout', headers: {}, withCookieOf: 'restored' },
        { method: 'POST', path: '/logout', headers: {}, withCookieOf: 'login' },
        // Refused: no login, a tampered token, a wrong password (4xx expected).
        { path: '/data', expect: 401 },
        { path: '/api', headers: { authorization: `Bearer ${token.slice(0, -2)}xx` }, expect: 401 },
        { method: 'POST', path: '/login', headers: JSON_HEADERS, body: BAD_LOGIN, expect: 401 }
      ]
      return {
        app,
        stats: store.stats,
        sessionStore,
        sessionCookieName: sessionName,
        mix: requests,
        auth: requests[0],
        anon: requests[7]
      }
    }
  }
}

/**
 * The token endpoints on a RedisStore. `/auth` alone is a fixed request.
 * A refresh spends its token, so the load of the refresh scenario is a chain
 * (run.mjs): per connection one POST /auth, then POST /auth/refresh
 * `REFRESH_CHAIN - 1` times, each with the refresh token the previous
 * answer gave; a replayed token would be reuse (401) and fail the run.
 */
const REFRESH_CHAIN = 100

async function tokenScenario (chained) {
  const store = userStore()
  const app = newApp()
  const prefix = chained ? 'bench:login-jwt-refresh-redis:' : 'bench:login-jwt-auth-redis:'
  await app.register(fastifyLogin, {
    session: false,
    loadUser: (id) => store.load(id),
    ...await redisOptions(app, prefix, {}),
    jwt: { secret: JWT_SECRET, authenticate: (username, password) => store.check({ username, password }) }
  })
  await app.ready()
  const login = { method: 'POST', path: '/auth', headers: JSON_HEADERS, body: GOOD_LOGIN }
  const anon = { method: 'POST', path: chained ? '/auth/refresh' : '/auth', headers: JSON_HEADERS, body: BAD_LOGIN }
  if (!chained) return { app, stats: store.stats, auth: login, anon }
  return { app, stats: store.stats, auth: login, anon, chain: { first: login, next: { method: 'POST', path: '/auth/refresh' }, field: 'refresh_token', length: REFRESH_CHAIN } }
}

async function jwtScenario (store, core, jwtExtra) {
  const app = newApp()
  await app.register(fastifyLogin, {
    loadUser: (id) => store.load(id),
    ...core,
    jwt: { secret: JWT_SECRET, authPath: false, accessTokenExpires: '1d', ...jwtExtra }
  })
  app.get('/data', { preHandler: app.jwtRequired }, async () => BODY)
  await app.ready()
  const token = await app.createAccessToken(ALICE)
  return { app, stats: store.stats, auth: { path: '/data', headers: { authorization: `Bearer ${token}` } }, anon: { path: '/data' } }
}

/**
 * POST /login → `reply.login(user)`. With a store every login saves a new
 * record, and nothing logs them out: they stay until idleTimeout (30 min), as
 * a real login's record does until its user comes back or logs out.
 */
async function loginScenario (extra = {}) {
  const store = userStore()
  const app = await sessionLoginApp(store, extra)
  app.post('/login', async (request, reply) => {
    const user = store.check(request.body)
    if (user === null) return reply.code(401).send({ error: 'wrong username or password' })
    await reply.login(user)
    return BODY
  })
  await app.ready()
  return { app, ...loginRequests() }
}

function loginRequests () {
  return {
    auth: { method: 'POST', path: '/login', headers: JSON_HEADERS, body: GOOD_LOGIN },
    anon: { method: 'POST', path: '/login', headers: JSON_HEADERS, body: BAD_LOGIN }
  }
}

// A username/password strategy written against @fastify/passport's own Strategy
// class (what passport-local does, without the extra dependency).
class BenchStrategy extends fastifyPassport.Strategy {
  constructor (store) {
    super('bench')
    this.store = store
  }

  authenticate (request) {
    const user = this.store.check(request.body)
    if (user === null) return this.fail(401)
    this.success(user)
  }
}

/** secure-session + passport with POST /login (the strategy's username/password check). */
async function passportApp (store) {
  const app = await secureSessionApp()
  const passport = passportFor(store)
  await app.register(passport.initialize())
  await app.register(passport.secureSession())
  app.post('/login', { preValidation: passport.authenticate('bench', { authInfo: false }) }, async () => BODY)
  return app
}

function passportFor (store) {
  // A fresh Authenticator per app, so scenarios do not share passport state.
  const passport = new fastifyPassport.Authenticator()
  passport.use('bench', new BenchStrategy(store))
  passport.registerUserSerializer(async (user) => user.id)
  passport.registerUserDeserializer(async (id) => store.load(id))
  return passport
}

/** The scenarios of the table, in the order they are run in each round. */
export const TABLE_ORDER = [
  'bare',
  'secure-session',
  'secure-session-write',
  'passport',
  'login-session',
  'login-session-stateless',
  'login-session-redis',
  'login-session-redis-nocache',
  'login-session-async',
  'login-session-cached',
  'login-session-db',
  'login-session-db-cached',
  'login-public',
  'login-public-noload',
  'login-remember',
  'fastify-jwt',
  'fast-jwt',
  'login-jwt',
  'login-jwt-session',
  'login-jwt-cache',
  'login-jwt-async',
  'login-jwt-cached',
  'login-login',
  'login-login-redis',
  'login-jwt-auth-redis',
  'login-jwt-refresh-redis',
  'passport-login'
]
