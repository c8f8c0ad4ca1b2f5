import { Writable } from 'node:stream'
import t from 'tap'
import fastifyAuth from '@fastify/auth'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { BROWSER_ACCEPT, buildApp, loggedIn, type TestUser } from './helpers.js'

type HttpError = Error & { statusCode: number, code: string }

function httpError (statusCode: number, code: string, message: string): HttpError {
  return Object.assign(new Error(message), { statusCode, code })
}

/** Another auth strategy: a static API key in a header. */
async function apiKey (request: FastifyRequest): Promise<void> {
  if (request.headers['x-api-key'] !== 'let-me-in') throw httpError(401, 'APP_BAD_API_KEY', 'bad API key')
}

/** A role check that needs the user loaded by verifyLogin before it. */
async function isAlice (request: FastifyRequest): Promise<void> {
  if ((request.currentUser as TestUser | null)?.name !== 'alice') throw httpError(403, 'APP_FORBIDDEN', 'alice only')
}

/** Collects the app's log lines at warn level and above. */
function logCollector (): { lines: string[], stream: Writable } {
  const lines: string[] = []
  const stream = new Writable({
    write (chunk, _encoding, callback) {
      lines.push(String(chunk))
      callback()
    }
  })
  return { lines, stream }
}

/**
 * An app with @fastify/auth and these routes:
 *  - GET /either       or:  apiKey, verifyLogin
 *  - GET /both         and: verifyLogin, isAlice
 *  - GET /fresh-auth   verifyFreshLogin
 *  - GET /hooked       loginRequired as the route's onRequest hook
 */
async function authApp (options: Parameters<typeof buildApp>[0] = {}) {
  const logs = logCollector()
  const { app } = await buildApp(options, async (app: FastifyInstance) => {
    await app.register(fastifyAuth)
    app.get('/either', { preHandler: app.auth([apiKey, app.verifyLogin]) }, async (request) => ({
      user: (request.currentUser as TestUser | null)?.name ?? null
    }))
    app.get('/both', { preHandler: app.auth([app.verifyLogin, isAlice], { relation: 'and' }) }, async () => ({ ok: true }))
    app.get('/fresh-auth', { preHandler: app.auth([app.verifyFreshLogin]) }, async () => ({ ok: true }))
    app.get('/hooked', { onRequest: app.loginRequired }, async (request) => ({ name: (request.currentUser as TestUser).name }))
  }, { logger: { level: 'warn', stream: logs.stream } })
  return { app, logs: logs.lines }
}

/** The Cookie header of user `id` logged in. */
async function loginAs (app: FastifyInstance, id: string, body: Record<string, unknown> = {}): Promise<string> {
  return (await loggedIn(app, id, body)).header()
}

t.test('or-relation: either a login or the other check lets the request in', async (t) => {
  const { app, logs } = await authApp()
  t.teardown(() => app.close())
  const cookie = await loginAs(app, '2')

  const byLogin = await app.inject({ url: '/either', headers: { cookie } })
  t.equal(byLogin.statusCode, 200)
  t.same(byLogin.json(), { user: 'bob' })

  const byKey = await app.inject({ url: '/either', headers: { 'x-api-key': 'let-me-in' } })
  t.equal(byKey.statusCode, 200)
  t.same(byKey.json(), { user: null })

  t.same(logs, [], 'nothing logged at warn or above')
})

t.test('or-relation: when every check fails there is one clean 401', async (t) => {
  const { app, logs } = await authApp({ loginUrl: '/login' })
  t.teardown(() => app.close())

  for (const accept of ['application/json', BROWSER_ACCEPT]) {
    const res = await app.inject({ url: '/either', headers: { accept, 'x-api-key': 'wrong' } })
    t.equal(res.statusCode, 401, `${accept}: verifyLogin never redirects, even with loginUrl`)
    t.equal(res.headers.location, undefined)
    t.match(res.headers['content-type'], /^application\/json/)
    t.same(res.json(), {
      statusCode: 401,
      code: 'FST_LOGIN_UNAUTHORIZED',
      error: 'Unauthorized',
      message: 'Please log in to access this page.'
    })
  }
  t.same(logs.filter((line) => /already sent|FST_ERR_REP_ALREADY_SENT/i.test(line)), [], 'no "Reply already sent" warning')
  t.same(logs, [], 'nothing logged at warn or above')
})

t.test('and-relation: the login is checked first, then the other check', async (t) => {
  const { app, logs } = await authApp()
  t.teardown(() => app.close())

  const alice = await app.inject({ url: '/both', headers: { cookie: await loginAs(app, '1') } })
  t.equal(alice.statusCode, 200)
  t.same(alice.json(), { ok: true })

  const bob = await app.inject({ url: '/both', headers: { cookie: await loginAs(app, '2') } })
  t.equal(bob.statusCode, 403)
  t.match(bob.json(), { statusCode: 403, code: 'APP_FORBIDDEN' })

  const anonymous = await app.inject({ url: '/both' })
  t.equal(anonymous.statusCode, 401)
  t.match(anonymous.json(), { statusCode: 401, code: 'FST_LOGIN_UNAUTHORIZED' })

  t.same(logs, [], 'nothing logged at warn or above')
})

t.test('verifyFreshLogin', async (t) => {
  const { app } = await authApp({ refreshUrl: '/reauth', loginUrl: '/login' })
  t.teardown(() => app.close())

  const fresh = await app.inject({ url: '/fresh-auth', headers: { cookie: await loginAs(app, '1') } })
  t.equal(fresh.statusCode, 200)

  const stale = await app.inject({
    url: '/fresh-auth',
    headers: { accept: BROWSER_ACCEPT, cookie: await loginAs(app, '1', { fresh: false }) }
  })
  t.equal(stale.statusCode, 401, 'throws, does not redirect to refreshUrl')
  t.equal(stale.headers.location, undefined)
  t.same(stale.json(), {
    statusCode: 401,
    code: 'FST_LOGIN_FRESH_REQUIRED',
    error: 'Unauthorized',
    message: 'Please reauthenticate to access this page.'
  })

  const anonymous = await app.inject({ url: '/fresh-auth', headers: { accept: BROWSER_ACCEPT } })
  t.equal(anonymous.statusCode, 401)
  t.equal(anonymous.headers.location, undefined)
  t.equal(anonymous.json().code, 'FST_LOGIN_UNAUTHORIZED')
})

t.test('loginRequired works as a route onRequest hook', async (t) => {
  t.test('401 without loginUrl, 200 when logged in', async (t) => {
    const { app, logs } = await authApp()
    t.teardown(() => app.close())

    const anonymous = await app.inject({ url: '/hooked' })
    t.equal(anonymous.statusCode, 401)
    t.equal(anonymous.json().code, 'FST_LOGIN_UNAUTHORIZED')

    const res = await app.inject({ url: '/hooked', headers: { cookie: await loginAs(app, '1') } })
    t.equal(res.statusCode, 200)
    t.same(res.json(), { name: 'alice' })
    t.same(logs, [])
  })

  t.test('redirects a browser when loginUrl is set', async (t) => {
    const { app, logs } = await authApp({ loginUrl: '/login' })
    t.teardown(() => app.close())

    const res = await app.inject({ url: '/hooked?a=1', headers: { accept: BROWSER_ACCEPT } })
    t.equal(res.statusCode, 302)
    t.equal(res.headers.location, '/login?next=%2Fhooked%3Fa%3D1')
    t.same(logs, [], 'the handler does not run after the redirect')
  })
})
