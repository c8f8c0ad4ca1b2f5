import t from 'tap'
import Fastify from 'fastify'
import secureSession from '@fastify/secure-session'
import fastifyLogin, { AlreadyRegisteredError, type FastifyLoginOptions } from '../lib/index.js'
import { buildApp, loggedIn, send, TEST_KEY, testKey } from './helpers.js'

/*
 * A second registration of the plugin, where the first one is visible, is
 * refused with FST_LOGIN_ALREADY_REGISTERED and a message saying what to do,
 * never Fastify's raw FST_ERR_DEC_ALREADY_PRESENT about some decorator.
 */

const options: FastifyLoginOptions = { session: { key: TEST_KEY }, loadUser: () => null }

t.test('registered twice on one instance', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyLogin, options)
  await t.rejects(async () => { await app.register(fastifyLogin, options).ready() }, {
    code: 'FST_LOGIN_ALREADY_REGISTERED',
    message: /registered twice on the same instance.*once, at the root.*setLoginUrl\(\)/
  })
})

t.test('registered twice with different options: the second is refused before its options are read', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyLogin, options)
  // Without `session`, the second copy would otherwise pass the session check and fail on a decorator.
  const err = await app.register(fastifyLogin, { loadUser: () => null, rememberMe: false }).ready().then(() => null, (e: unknown) => e)
  t.ok(err instanceof AlreadyRegisteredError, 'the exported class')
  t.match(err, { code: 'FST_LOGIN_ALREADY_REGISTERED' })
})

t.test('registered in a child scope under a parent that has it', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyLogin, options)
  app.register(async (child) => {
    await child.register(fastifyLogin, { loadUser: () => null, rememberMe: false, loginUrl: '/admin/login' })
  })
  await t.rejects(async () => { await app.ready() }, {
    code: 'FST_LOGIN_ALREADY_REGISTERED',
    message: /a scope whose parent already registered it.*setLoginUrl\(\)/
  })
})

t.test('sibling scopes may each register it, and the advice (setLoginUrl per scope) works under one root', async (t) => {
  // Two encapsulated siblings do not see each other: two independent apps in one server, allowed.
  const app = Fastify()
  t.teardown(() => app.close())
  for (const prefix of ['/a', '/b']) {
    app.register(async (scope) => {
      await scope.register(secureSession, { key: testKey(prefix), cookieName: `s${prefix.slice(1)}`, cookie: { path: prefix } })
      await scope.register(fastifyLogin, { loadUser: () => null, rememberMe: false, loginThrottle: false })
      scope.get(`${prefix}/private`, { preHandler: scope.loginRequired }, async () => 'ok')
    })
  }
  await app.ready()
  t.equal((await app.inject('/a/private')).statusCode, 401)
  t.equal((await app.inject('/b/private')).statusCode, 401)

  // The advice: one registration at the root, a login page per scope.
  const { app: rooted } = await buildApp({ loginUrl: '/login' }, (root) => {
    root.register(async (admin) => {
      admin.setLoginUrl('/admin/login')
      admin.get('/admin/page', { preHandler: admin.loginRequired }, async () => 'admin')
    })
  })
  t.teardown(() => rooted.close())
  const anonymous = await rooted.inject({ url: '/admin/page', headers: { accept: 'text/html' } })
  t.equal(anonymous.statusCode, 302)
  t.match(anonymous.headers.location, /^\/admin\/login\?next=/)
  const jar = await loggedIn(rooted, '1')
  t.equal((await send(rooted, jar, 'GET', '/admin/page')).body, 'admin', 'a root login opens the child scope')
})
