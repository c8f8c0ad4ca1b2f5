import t from 'tap'
import cors from '@fastify/cors'
import type { FastifyInstance } from 'fastify'
import { buildApp, loggedIn, send } from './helpers.js'

/*
 * OPTIONS is guarded like every other method. Flask-Login exempts it because
 * Flask answers OPTIONS itself; a Fastify OPTIONS route runs its own handler,
 * so an exemption would run that handler for anyone. CORS preflights are
 * answered by @fastify/cors in onRequest, before any preHandler guard.
 */

const GUARDS = ['loginRequired', 'freshLoginRequired', 'verifyLogin', 'verifyFreshLogin'] as const

/** For each guard, GET and OPTIONS /g/<guard> behind it; `ran` counts handler runs per method. */
function guardedRoutes (ran: Record<string, number>) {
  return (app: FastifyInstance): void => {
    for (const guard of GUARDS) {
      app.route({
        method: ['GET', 'OPTIONS'],
        url: `/g/${guard}`,
        preHandler: app[guard],
        handler: async (request) => {
          ran[request.method] = (ran[request.method] ?? 0) + 1
          return { guard, user: request.currentUser }
        }
      })
    }
  }
}

t.test('an OPTIONS route never runs its handler for an anonymous request', async (t) => {
  const ran: Record<string, number> = {}
  const { app } = await buildApp({}, guardedRoutes(ran))
  t.teardown(() => app.close())
  const unauthorized: string[] = []
  app.loginEvents.on('userUnauthorized', ({ request }) => unauthorized.push(`${request.method} ${request.url}`))

  for (const guard of GUARDS) {
    const options = await app.inject({ method: 'OPTIONS', url: `/g/${guard}` })
    t.equal(options.statusCode, 401, `${guard}: OPTIONS is refused`)
    t.equal(options.json().code, 'FST_LOGIN_UNAUTHORIZED')
  }
  t.same(ran, {}, 'no handler ran')
  t.same(unauthorized, ['OPTIONS /g/loginRequired', 'OPTIONS /g/freshLoginRequired'], 'the unauthorized flow ran for OPTIONS like for GET')
})

t.test('OPTIONS with a login passes, and the fresh guards still want a fresh one', async (t) => {
  const ran: Record<string, number> = {}
  const { app } = await buildApp({}, guardedRoutes(ran))
  t.teardown(() => app.close())
  const stale = await loggedIn(app, '1', { fresh: false })

  for (const guard of ['loginRequired', 'verifyLogin'] as const) {
    const res = await send(app, stale, 'GET', `/g/${guard}`, undefined, {})
    t.equal(res.statusCode, 200, `${guard}: GET passes`)
    const options = await app.inject({ method: 'OPTIONS', url: `/g/${guard}`, headers: { cookie: stale.header() } })
    t.equal(options.statusCode, 200, `${guard}: OPTIONS with a login passes`)
  }
  for (const guard of ['freshLoginRequired', 'verifyFreshLogin'] as const) {
    const options = await app.inject({ method: 'OPTIONS', url: `/g/${guard}`, headers: { cookie: stale.header() } })
    t.equal(options.statusCode, 401, `${guard}: OPTIONS needs a fresh login`)
    t.equal(options.json().code, 'FST_LOGIN_FRESH_REQUIRED')
  }
  t.same(ran, { GET: 2, OPTIONS: 2 })
})

t.test('a CORS preflight to a guarded route is answered by @fastify/cors before the guard', async (t) => {
  const ran: Record<string, number> = {}
  const { app } = await buildApp({ loginUrl: '/login' }, async (app) => {
    await app.register(cors, { origin: 'https://app.example', credentials: true })
    app.get('/api/data', { preHandler: app.loginRequired }, async () => {
      ran.GET = (ran.GET ?? 0) + 1
      return { secret: 42 }
    })
    guardedRoutes(ran)(app)
  })
  t.teardown(() => app.close())
  const preflight = { origin: 'https://app.example', 'access-control-request-method': 'GET', accept: 'text/html' }

  for (const url of ['/api/data', '/g/loginRequired', '/g/freshLoginRequired']) {
    const res = await app.inject({ method: 'OPTIONS', url, headers: preflight })
    t.equal(res.statusCode, 204, `${url}: the preflight gets its 204`)
    t.equal(res.headers['access-control-allow-origin'], 'https://app.example', `${url}: with the CORS headers`)
    t.equal(res.headers.location, undefined, `${url}: not redirected to the login page`)
  }
  t.same(ran, {}, 'no handler ran for the preflights')

  const get = await app.inject({ url: '/api/data', headers: { origin: 'https://app.example' } })
  t.equal(get.statusCode, 401, 'the real request without a login is refused')
  t.equal(get.headers['access-control-allow-origin'], 'https://app.example', 'with CORS headers, so the page can read the 401')
})

t.test('a custom unauthorized handler runs for an anonymous OPTIONS request too', async (t) => {
  let called = 0
  const ran: Record<string, number> = {}
  const { app } = await buildApp({
    unauthorized: async (_request, reply) => {
      called++
      return reply.code(403).send({ denied: true })
    }
  }, guardedRoutes(ran))
  t.teardown(() => app.close())

  t.equal((await app.inject({ method: 'OPTIONS', url: '/g/loginRequired' })).statusCode, 403)
  t.equal(called, 1)
  t.same(ran, {})
})

t.test('every method on a guarded route is refused without a login', async (t) => {
  const { app } = await buildApp({}, (app) => {
    app.route({
      method: ['HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'],
      url: '/write',
      preHandler: app.loginRequired,
      handler: async () => ({ written: true })
    })
  })
  t.teardown(() => app.close())

  for (const method of ['HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const) {
    const res = await app.inject({ method, url: '/write' })
    t.equal(res.statusCode, 401, `${method} is refused`)
  }
})
