import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { buildApp, CookieJar } from './helpers.js'

const GUARDS = ['loginRequired', 'freshLoginRequired', 'verifyLogin', 'verifyFreshLogin'] as const

/** For each guard, GET and OPTIONS /g/<guard> behind it, answering { guard, user }. */
function guardedRoutes (app: FastifyInstance): void {
  for (const guard of GUARDS) {
    for (const method of ['GET', 'OPTIONS'] as const) {
      app.route({
        method,
        url: `/g/${guard}`,
        preHandler: app[guard],
        handler: async (request) => ({ guard, user: request.currentUser })
      })
    }
  }
}

t.test('OPTIONS passes every guard without a login', async (t) => {
  const { app } = await buildApp({}, guardedRoutes)
  t.teardown(() => app.close())
  const unauthorized: string[] = []
  app.loginEvents.on('userUnauthorized', ({ request }) => unauthorized.push(`${request.method} ${request.url}`))

  for (const guard of GUARDS) {
    const preflight = await app.inject({ method: 'OPTIONS', url: `/g/${guard}` })
    t.equal(preflight.statusCode, 200, `${guard}: OPTIONS passes`)
    t.same(preflight.json(), { guard, user: null }, `${guard}: and stays anonymous`)

    const get = await app.inject({ method: 'GET', url: `/g/${guard}` })
    t.equal(get.statusCode, 401, `${guard}: GET on the same path is refused`)
    t.equal(get.json().code, 'FST_LOGIN_UNAUTHORIZED')
  }
  t.same(unauthorized, ['GET /g/loginRequired', 'GET /g/freshLoginRequired'], 'no unauthorized event for OPTIONS')
})

t.test('OPTIONS is not redirected to the login page', async (t) => {
  const { app } = await buildApp({ loginUrl: '/login', refreshUrl: '/reauth' }, guardedRoutes)
  t.teardown(() => app.close())
  const accept = 'text/html'

  for (const guard of ['loginRequired', 'freshLoginRequired'] as const) {
    const preflight = await app.inject({ method: 'OPTIONS', url: `/g/${guard}`, headers: { accept, origin: 'https://app.example' } })
    t.equal(preflight.statusCode, 200, `${guard}: OPTIONS passes`)
    t.equal(preflight.headers.location, undefined, `${guard}: no redirect`)

    const get = await app.inject({ method: 'GET', url: `/g/${guard}`, headers: { accept } })
    t.equal(get.statusCode, 302, `${guard}: a browser GET is redirected`)
  }
})

t.test('OPTIONS passes the fresh guards with a login that is not fresh', async (t) => {
  const { app } = await buildApp({}, guardedRoutes)
  t.teardown(() => app.close())
  const jar = new CookieJar()
  jar.store(await app.inject({ method: 'POST', url: '/login/1', payload: { fresh: false } }))
  const cookie = jar.header()

  for (const guard of ['freshLoginRequired', 'verifyFreshLogin'] as const) {
    const preflight = await app.inject({ method: 'OPTIONS', url: `/g/${guard}`, headers: { cookie } })
    t.equal(preflight.statusCode, 200, `${guard}: OPTIONS passes`)

    const get = await app.inject({ method: 'GET', url: `/g/${guard}`, headers: { cookie } })
    t.equal(get.statusCode, 401, `${guard}: GET needs a fresh login`)
    t.equal(get.json().code, 'FST_LOGIN_FRESH_REQUIRED')
  }
})

t.test('a custom unauthorized handler is not called for OPTIONS', async (t) => {
  let called = 0
  const { app } = await buildApp({
    unauthorized: async (_request, reply) => {
      called++
      return reply.code(403).send({ denied: true })
    }
  }, guardedRoutes)
  t.teardown(() => app.close())

  t.equal((await app.inject({ method: 'OPTIONS', url: '/g/loginRequired' })).statusCode, 200)
  t.equal(called, 0)
  const get = await app.inject({ method: 'GET', url: '/g/loginRequired' })
  t.equal(get.statusCode, 403)
  t.equal(called, 1)
})

t.test('only OPTIONS is exempt: other methods on a guarded route are refused', async (t) => {
  const { app } = await buildApp({}, (app) => {
    app.route({
      method: ['HEAD', 'POST', 'PUT', 'DELETE', 'PATCH'],
      url: '/write',
      preHandler: app.loginRequired,
      handler: async () => ({ written: true })
    })
  })
  t.teardown(() => app.close())

  for (const method of ['HEAD', 'POST', 'PUT', 'DELETE', 'PATCH'] as const) {
    const res = await app.inject({ method, url: '/write' })
    t.equal(res.statusCode, 401, `${method} is refused`)
  }
})
