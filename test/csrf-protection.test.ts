import t, { type Test } from 'tap'
import csrfProtection from '@fastify/csrf-protection'
import type { FastifyInstance } from 'fastify'
import type { FastifyLoginOptions } from '../lib/index.js'
import { buildApp, CookieJar, rejectsOption, send, TEST_KEY, type TestUser } from './helpers.js'

/*
 * @fastify/csrf-protection with sessionPlugin '@fastify/secure-session' keeps
 * its secret in the session (`_csrf`). The session rotation at login keeps
 * it by default (`keepSessionKeys`), so a form opened before the login still
 * posts after it; every login key is still replaced.
 */

/**
 * buildApp() plus csrf-protection and:
 *  - GET  /form          a CSRF token: { token }
 *  - POST /form-login    CSRF-checked; logs alice in
 *  - POST /transfer      CSRF-checked and loginRequired
 *  - POST /comment       CSRF-checked only
 *  - POST /form-logout   CSRF-checked; logs out (body { destroy } destroys the session)
 */
async function csrfApp (t: Test, options: Partial<FastifyLoginOptions> = {}, sessionKey?: string): Promise<FastifyInstance> {
  const { app } = await buildApp({ rememberMe: false, ...options }, async (app) => {
    await app.register(csrfProtection, { sessionPlugin: '@fastify/secure-session', ...(sessionKey === undefined ? {} : { sessionKey }) })
    app.get('/form', async (_request, reply) => ({ token: await reply.generateCsrf() }))
    app.post('/form-login', { preHandler: app.csrfProtection }, async (_request, reply) => ({ ok: await reply.login({ id: '1', name: 'alice' } satisfies TestUser) }))
    app.post('/transfer', { preHandler: [app.csrfProtection, app.loginRequired] }, async (request) => ({ by: (request.currentUser as TestUser).name }))
    app.post('/comment', { preHandler: app.csrfProtection }, async () => ({ ok: true }))
    app.post<{ Body: { destroy?: boolean } | undefined }>('/form-logout', { preHandler: app.csrfProtection }, async (request, reply) => {
      await reply.logout({ destroySession: request.body?.destroy === true })
      return { ok: true }
    })
  })
  t.teardown(() => app.close())
  return app
}

/** A new browser that opened the form: its jar and the form's token. */
async function openForm (app: FastifyInstance): Promise<{ jar: CookieJar, token: string }> {
  const jar = new CookieJar()
  const res = await send(app, jar, 'GET', '/form')
  return { jar, token: res.json<{ token: string }>().token }
}

function post (app: FastifyInstance, jar: CookieJar, url: string, token: string, payload: Record<string, unknown> = {}) {
  return send(app, jar, 'POST', url, payload, { 'x-csrf-token': token })
}

t.test('a token from before the login is accepted after it (default keepSessionKeys)', async (t) => {
  const app = await csrfApp(t)
  const { jar, token } = await openForm(app)
  const before = jar.header()
  const login = await post(app, jar, '/form-login', token)
  t.same(login.json(), { ok: true }, 'the login form posts with its token')
  t.not(jar.header(), before, 'the login wrote a new session cookie')

  const after = await post(app, jar, '/transfer', token)
  t.equal(after.statusCode, 200, 'the same token still posts after the login')
  t.same(after.json(), { by: 'alice' })
  t.equal((await post(app, jar, '/transfer', 'not-a-token')).statusCode, 403, 'a wrong token is still refused')
})

t.test('a token of another session is refused, before and after the login', async (t) => {
  const app = await csrfApp(t)
  const victim = await openForm(app)
  const attacker = await openForm(app)
  const planted = await post(app, victim.jar, '/form-login', attacker.token)
  t.equal(planted.statusCode, 403, 'the login form refuses a token of another session')
  t.equal(planted.json().code, 'FST_CSRF_INVALID_TOKEN')

  t.equal((await post(app, victim.jar, '/form-login', victim.token)).statusCode, 200)
  const res = await post(app, victim.jar, '/transfer', attacker.token)
  t.equal(res.statusCode, 403, 'after the login too')
  t.equal(res.json().code, 'FST_CSRF_INVALID_TOKEN')
})

t.test('keepSessionKeys without _csrf: the secret is replaced at login', async (t) => {
  for (const keep of [[], ['cart']]) {
    const app = await csrfApp(t, { keepSessionKeys: keep })
    const { jar, token } = await openForm(app)
    t.equal((await post(app, jar, '/form-login', token)).statusCode, 200)
    const res = await post(app, jar, '/transfer', token)
    t.equal(res.statusCode, 403, `${JSON.stringify(keep)}: the token of before the login is refused`)
    t.equal(res.json().code, 'FST_CSRF_MISSING_SECRET')
    const fresh = (await send(app, jar, 'GET', '/form')).json<{ token: string }>().token
    t.equal((await post(app, jar, '/transfer', fresh)).statusCode, 200, 'a token made after the login posts')
  }
})

t.test('a csrf-protection sessionKey of its own is kept when listed', async (t) => {
  const app = await csrfApp(t, { keepSessionKeys: ['csrfSecret'] }, 'csrfSecret')
  const { jar, token } = await openForm(app)
  t.equal((await post(app, jar, '/form-login', token)).statusCode, 200)
  t.equal((await post(app, jar, '/transfer', token)).statusCode, 200)
})

t.test('logout keeps the secret; logout with destroySession drops it', async (t) => {
  const app = await csrfApp(t)
  const { jar, token } = await openForm(app)
  await post(app, jar, '/form-login', token)
  t.equal((await post(app, jar, '/form-logout', token)).statusCode, 200)
  t.equal((await post(app, jar, '/transfer', token)).statusCode, 401, 'logged out')
  t.equal((await post(app, jar, '/comment', token)).statusCode, 200, 'the open forms of the site still post')

  t.equal((await post(app, jar, '/form-logout', token, { destroy: true })).statusCode, 200)
  const res = await post(app, jar, '/comment', token)
  t.equal(res.statusCode, 403, 'a destroyed session has no secret')
  t.equal(res.json().code, 'FST_CSRF_MISSING_SECRET')
})

t.test('keepSessionKeys must not hold the login keys, and must be names', async (t) => {
  const base = { session: { key: TEST_KEY }, loadUser: () => null } as FastifyLoginOptions
  for (const key of ['_user_id', '_sid', '_login']) {
    await rejectsOption(t, { ...base, keepSessionKeys: ['_csrf', key] }, new RegExp(`keepSessionKeys must not hold ${key}: it is one of the plugin's login keys`))
  }
  await rejectsOption(t, { ...base, keepSessionKeys: [''] }, /keepSessionKeys must be an array of strings/)
})
