import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import type { JwtOptions } from '../lib/index.js'
import { authenticate, bearer, buildApp, callMe, directory, getTokens, PASSWORD, type TestUser } from './helpers.js'
import { record } from './record-events.js'

/*
 * The login events of the JWT side: the token endpoint logs in, the refresh
 * endpoint refreshes, the logout endpoint and reply.jwtLogout() log out,
 * each with via 'jwt'. Session events are in events.test.ts.
 */

const SECRET = 'jwt-events-test-secret-0123456789abcdef'

/**
 * An app with the JWT part (and sessions) and:
 *  - GET  /api/me          jwtRequired; 200 { name }
 *  - POST /api/signout     jwtRequired; reply.jwtLogout(); 204
 *  - POST /api/forget      no guard; reply.jwtLogout(); 204
 *  - POST /api/mint        fastify.createAccessToken() and createRefreshToken() for alice; 200
 */
async function jwtApp (t: Test, jwt: Partial<JwtOptions> = {}): Promise<FastifyInstance> {
  const { app } = await buildApp({ jwt: { secret: SECRET, authenticate, ...jwt } }, (app) => {
    app.get('/api/me', { preHandler: app.jwtRequired }, async (request) => ({ name: (request.currentUser as TestUser).name }))
    app.post('/api/signout', { preHandler: app.jwtRequired }, async (_request, reply) => {
      await reply.jwtLogout()
      return reply.code(204).send()
    })
    app.post('/api/forget', async (_request, reply) => {
      await reply.jwtLogout()
      return reply.code(204).send()
    })
    app.post('/api/mint', async () => {
      const alice = directory.get('1') as TestUser
      return { access: await app.createAccessToken(alice, { fresh: true }), refresh: await app.createRefreshToken(alice) }
    })
  })
  t.teardown(() => app.close())
  return app
}

t.test('POST /auth: userLoggedIn once, with the user, via jwt', async (t) => {
  const app = await jwtApp(t)
  const events = record(app)

  await getTokens(app, 'bob')
  t.same(events.take(), [['userLoggedIn', 'bob', 'POST /auth', 'jwt']])

  const wrong = await app.inject({ method: 'POST', url: '/auth', payload: { username: 'bob', password: 'nope' } })
  t.equal(wrong.statusCode, 401)
  const inactive = await app.inject({ method: 'POST', url: '/auth', payload: { username: 'carol', password: PASSWORD } })
  t.equal(inactive.statusCode, 401)
  t.same(events.take(), [], 'not for refused credentials or an inactive user')
})

t.test('POST /auth: no userLoggedIn when authResponse fails', async (t) => {
  const app = await jwtApp(t, { authResponse: () => { throw new Error('no answer') } })
  const events = record(app)
  const res = await app.inject({ method: 'POST', url: '/auth', payload: { username: 'alice', password: PASSWORD } })
  t.equal(res.statusCode, 500)
  t.same(events.take(), [], 'the client got no tokens')
})

t.test('POST /auth/refresh: tokenRefreshed once, not userLoggedIn', async (t) => {
  const app = await jwtApp(t)
  const tokens = await getTokens(app)
  const events = record(app)

  const res = await app.inject({ method: 'POST', url: '/auth/refresh', headers: bearer(tokens.refresh_token) })
  t.equal(res.statusCode, 200)
  t.same(events.take(), [['tokenRefreshed', 'alice', 'POST /auth/refresh', 'jwt']])

  const refused = await app.inject({ method: 'POST', url: '/auth/refresh', headers: bearer(tokens.access_token) })
  t.equal(refused.statusCode, 401)
  t.same(events.take(), [], 'not for a refused refresh: the JWT guards raise no events')
})

t.test('POST /auth/logout: userLoggedOut once, with the token user', async (t) => {
  const app = await jwtApp(t)
  const tokens = await getTokens(app, 'bob')
  const events = record(app)

  const res = await app.inject({ method: 'POST', url: '/auth/logout', headers: bearer(tokens.access_token), payload: { refresh_token: tokens.refresh_token } })
  t.equal(res.statusCode, 204)
  t.same(events.take(), [['userLoggedOut', 'bob', 'POST /auth/logout', 'jwt']])

  const again = await app.inject({ method: 'POST', url: '/auth/logout', headers: bearer(tokens.access_token) })
  t.equal(again.statusCode, 401, 'the token is revoked')
  t.same(events.take(), [])
})

t.test('reply.jwtLogout(): userLoggedOut once', async (t) => {
  const app = await jwtApp(t)
  const tokens = await getTokens(app)
  const events = record(app)

  const res = await app.inject({ method: 'POST', url: '/api/signout', headers: bearer(tokens.access_token) })
  t.equal(res.statusCode, 204)
  t.same(events.take(), [['userLoggedOut', 'alice', 'POST /api/signout', 'jwt']])

  const none = await app.inject({ method: 'POST', url: '/api/forget' })
  t.equal(none.statusCode, 204)
  t.same(events.take(), [['userLoggedOut', null, 'POST /api/forget', 'jwt']], 'without a verified token: the anonymous value')
})

t.test('tokens the app mints, and requests a token serves, raise no event', async (t) => {
  const app = await jwtApp(t)
  const events = record(app)

  const minted = await app.inject({ method: 'POST', url: '/api/mint' })
  t.equal(minted.statusCode, 200)
  const me = await callMe(app, minted.json<{ access: string }>().access)
  t.same(me.json(), { name: 'alice' })
  t.same(events.take(), [])
})
