import t, { type Test } from 'tap'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import secureSession from '@fastify/secure-session'
import { Authenticator, Strategy } from '@fastify/passport'
import fastifyLogin, { type FastifyLoginOptions } from '../lib/index.js'
import { CookieJar, makeUsers, send, TEST_KEY, type TestUser } from './helpers.js'

/*
 * A gradual migration from @fastify/passport: both plugins on one app and one
 * @fastify/secure-session session. Passport owns `request.isAuthenticated()`
 * (its meaning: `request.user` is set); fastify-login's guards read only its
 * own login, so each plugin's login passes its own guards and not the other's.
 */

const users = makeUsers()

/** A passport strategy that logs in the user named by the x-passport-user header (a stand-in for passport-local). */
class HeaderStrategy extends Strategy {
  constructor () { super('header') }
  override authenticate (request: FastifyRequest): void {
    const user = users.get(String(request.headers['x-passport-user']))
    if (user === undefined) this.fail(401)
    else this.success(user)
  }
}

type Order = 'passport first' | 'fastify-login first' | 'fastify-login first, its own session'

/** The app: passport and fastify-login in `order`, and a guarded route of each. */
async function migratingApp (t: Test, order: Order, extra: Partial<FastifyLoginOptions> = {}): Promise<FastifyInstance> {
  const passport = new Authenticator()
  passport.use(new HeaderStrategy())
  passport.registerUserSerializer(async (user: TestUser) => user.id)
  passport.registerUserDeserializer(async (id: string) => users.get(id) ?? null)
  const app = Fastify()
  t.teardown(() => app.close())
  const registerPassport = async (): Promise<void> => {
    await app.register(passport.initialize())
    await app.register(passport.secureSession())
  }
  const loginOptions = { loadUser: (id: string) => users.get(id) ?? null, rememberMe: false, loginThrottle: false, ...extra } as FastifyLoginOptions
  if (order === 'passport first') {
    await app.register(secureSession, { key: TEST_KEY })
    await registerPassport()
    await app.register(fastifyLogin, loginOptions)
  } else if (order === 'fastify-login first') {
    await app.register(secureSession, { key: TEST_KEY })
    await app.register(fastifyLogin, { ...loginOptions, decorateIsAuthenticated: false })
    await registerPassport()
  } else {
    await app.register(fastifyLogin, { ...loginOptions, session: { key: TEST_KEY, cookie: { secure: false } }, decorateIsAuthenticated: false })
    await registerPassport()
  }

  app.post('/passport/login', { preValidation: passport.authenticate('header') }, async () => ({ ok: true }))
  app.post<{ Params: { id: string } }>('/login/:id', async (request, reply) => ({ ok: await reply.login(users.get(request.params.id) as TestUser) }))
  // The passport app's own guard, as such apps write it: passport's request.isAuthenticated().
  const passportGuard = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (!request.isAuthenticated()) await reply.code(401).send({ guard: 'passport' })
  }
  app.get('/passport/private', { preValidation: passportGuard }, async (request) => ({ name: (request.user as TestUser).name }))
  app.get('/private', { preHandler: app.loginRequired }, async (request) => ({ name: (request.currentUser as TestUser).name }))
  app.get('/verified', { preHandler: app.verifyLogin }, async () => 'ok')
  app.get('/is', async (request) => ({ isAuthenticated: request.isAuthenticated(), loggedIn: await request.loadCurrentUser() !== null }))
  await app.ready()
  return app
}

/** The status of the passport guard's route and of fastify-login's guarded routes, with the jar's cookies. */
async function guards (app: FastifyInstance, jar: CookieJar): Promise<{ passport: number, login: number, verify: number }> {
  return {
    passport: (await send(app, jar, 'GET', '/passport/private')).statusCode,
    login: (await send(app, jar, 'GET', '/private')).statusCode,
    verify: (await send(app, jar, 'GET', '/verified')).statusCode
  }
}

for (const order of ['passport first', 'fastify-login first', 'fastify-login first, its own session'] as const) {
  t.test(order, async (t) => {
    const app = await migratingApp(t, order)

    t.same(await guards(app, new CookieJar()), { passport: 401, login: 401, verify: 401 }, 'anonymous: both refuse')

    const viaPassport = new CookieJar()
    const res = await send(app, viaPassport, 'POST', '/passport/login', undefined, { 'x-passport-user': '1' })
    t.equal(res.statusCode, 200, 'passport logs in')
    t.same(await guards(app, viaPassport), { passport: 200, login: 401, verify: 401 }, 'a passport login passes the passport guard only')
    t.equal((await send(app, viaPassport, 'GET', '/passport/private')).json().name, 'alice')

    const viaLogin = new CookieJar()
    t.same((await send(app, viaLogin, 'POST', '/login/2')).json(), { ok: true }, 'fastify-login logs in')
    t.same(await guards(app, viaLogin), { passport: 401, login: 200, verify: 200 }, 'a fastify-login login passes its own guards only')
    t.equal((await send(app, viaLogin, 'GET', '/private')).json().name, 'bob')

    // One browser, one session: each plugin's login rotates the session, and that ends the other's login.
    t.equal((await send(app, viaPassport, 'POST', '/login/2')).statusCode, 200)
    t.same(await guards(app, viaPassport), { passport: 401, login: 200, verify: 200 }, 'a fastify-login login after passport\'s replaces it')
    t.equal((await send(app, viaLogin, 'POST', '/passport/login', undefined, { 'x-passport-user': '1' })).statusCode, 200)
    t.same(await guards(app, viaLogin), { passport: 200, login: 401, verify: 401 }, 'a passport login after fastify-login\'s replaces it')
  })
}

t.test('keepSessionKeys: [\'passport\'] lets a passport login survive a fastify-login login (both logged in)', async (t) => {
  const app = await migratingApp(t, 'passport first', { keepSessionKeys: ['passport'] })
  const jar = new CookieJar()
  await send(app, jar, 'POST', '/passport/login', undefined, { 'x-passport-user': '1' })
  await send(app, jar, 'POST', '/login/2')
  t.same(await guards(app, jar), { passport: 200, login: 200, verify: 200 })
  t.equal((await send(app, jar, 'GET', '/passport/private')).json().name, 'alice', 'each plugin keeps its own user')
  t.equal((await send(app, jar, 'GET', '/private')).json().name, 'bob')
})

t.test('request.isAuthenticated() is passport\'s wherever passport owns it', async (t) => {
  for (const order of ['passport first', 'fastify-login first'] as const) {
    const app = await migratingApp(t, order)
    const ours = new CookieJar()
    await send(app, ours, 'POST', '/login/1')
    t.same((await send(app, ours, 'GET', '/is')).json(), { isAuthenticated: false, loggedIn: true }, `${order}: false for a fastify-login login`)
    const theirs = new CookieJar()
    await send(app, theirs, 'POST', '/passport/login', undefined, { 'x-passport-user': '1' })
    t.same((await send(app, theirs, 'GET', '/is')).json(), { isAuthenticated: true, loggedIn: false }, `${order}: true for a passport login`)
  }
})

t.test('fastify-login first without decorateIsAuthenticated: false, passport fails at registration (never a silent mix)', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(secureSession, { key: TEST_KEY })
  await app.register(fastifyLogin, { loadUser: () => null, rememberMe: false })
  await t.rejects(async () => { await app.register(new Authenticator().initialize()).ready() }, { code: 'FST_ERR_DEC_ALREADY_PRESENT', message: /isAuthenticated/ })
})

t.test('decorateIsAuthenticated', async (t) => {
  t.test('true while passport already has the name: a clear registration error', async (t) => {
    const app = Fastify()
    t.teardown(() => app.close())
    await app.register(secureSession, { key: TEST_KEY })
    await app.register(new Authenticator().initialize())
    await t.rejects(async () => { await app.register(fastifyLogin, { loadUser: () => null, rememberMe: false, decorateIsAuthenticated: true }).ready() }, {
      code: 'FST_LOGIN_INVALID_OPTION',
      message: /decorateIsAuthenticated is true, but request\.isAuthenticated\(\) is already decorated.*passport/
    })
  })

  t.test('not a boolean: refused', async (t) => {
    const app = Fastify()
    t.teardown(() => app.close())
    await t.rejects(async () => { await app.register(fastifyLogin, { loadUser: () => null, session: { key: TEST_KEY }, decorateIsAuthenticated: 'no' as never }).ready() }, {
      code: 'FST_LOGIN_INVALID_OPTION',
      message: /decorateIsAuthenticated must be a boolean/
    })
  })

  t.test('false without passport: no request.isAuthenticated, the guards still work', async (t) => {
    const app = Fastify()
    t.teardown(() => app.close())
    await app.register(fastifyLogin, { loadUser: (id) => users.get(id) ?? null, session: { key: TEST_KEY }, decorateIsAuthenticated: false })
    app.post('/login', async (_request, reply) => ({ ok: await reply.login(users.get('1') as TestUser) }))
    app.get('/private', { preHandler: app.loginRequired }, async (request) => ({ has: typeof request.isAuthenticated }))
    await app.ready()
    t.equal(app.hasRequestDecorator('isAuthenticated'), false)
    const jar = new CookieJar()
    t.equal((await send(app, jar, 'GET', '/private')).statusCode, 401)
    await send(app, jar, 'POST', '/login')
    t.same((await send(app, jar, 'GET', '/private')).json(), { has: 'undefined' })
  })

  t.test('true without passport: decorated as usual', async (t) => {
    const app = Fastify()
    t.teardown(() => app.close())
    await app.register(fastifyLogin, { loadUser: () => null, session: { key: TEST_KEY }, decorateIsAuthenticated: true })
    app.get('/', async (request) => ({ authenticated: request.isAuthenticated() }))
    t.same((await app.inject('/')).json(), { authenticated: false })
  })
})
