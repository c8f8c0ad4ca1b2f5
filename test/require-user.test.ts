import t from 'tap'
import { authenticate, bearer, buildApp, getTokens, loggedIn, type TestUser } from './helpers.js'

/*
 * request.requireUser(): the user a guard (or the automatic load) settled,
 * typed without null; a 401 when there is none, so a handler whose route
 * forgot its guard fails closed.
 */

const UNAUTHORIZED = { statusCode: 401, code: 'FST_LOGIN_UNAUTHORIZED', error: 'Unauthorized', message: 'Please log in to access this page.' }

/** The name of the user requireUser() gives (TestUser: the test app's users). */
const nameRoute = { handler: async (request: { requireUser: () => object }) => ({ name: (request.requireUser() as TestUser).name }) }

t.test('behind loginRequired it is the logged-in user', async (t) => {
  const { app } = await buildApp({}, (app) => {
    app.get('/guarded', { preHandler: app.loginRequired }, nameRoute.handler)
  })
  t.teardown(() => app.close())
  const jar = await loggedIn(app, '1')
  const res = await app.inject({ url: '/guarded', headers: { cookie: jar.header() } })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { name: 'alice' })
})

t.test('without a guard and without a login it answers 401, never an anonymous user', async (t) => {
  const { app } = await buildApp({}, (app) => {
    app.get('/forgot-guard', nameRoute.handler)
  })
  t.teardown(() => app.close())
  const res = await app.inject({ url: '/forgot-guard' })
  t.equal(res.statusCode, 401)
  t.same(res.json(), UNAUTHORIZED)
  // With a login, the automatic load (on by default) settled the user.
  const jar = await loggedIn(app, '2')
  t.same((await app.inject({ url: '/forgot-guard', headers: { cookie: jar.header() } })).json(), { name: 'bob' })
})

t.test('it loads nothing itself: with autoLoadUser off and no guard, a login is not enough', async (t) => {
  const { app } = await buildApp({ autoLoadUser: false, loadUser: async (id) => (id === '1' ? { id: '1', name: 'alice' } : null) }, (app) => {
    app.get('/unloaded', nameRoute.handler)
    // A load still in flight is not a login either.
    app.get('/loading', async (request) => {
      const loading = request.loadCurrentUser()
      try {
        return nameRoute.handler(request)
      } finally {
        await loading
      }
    })
  })
  t.teardown(() => app.close())
  const jar = await loggedIn(app, '1')
  for (const url of ['/unloaded', '/loading']) {
    const res = await app.inject({ url, headers: { cookie: jar.header() } })
    t.equal(res.statusCode, 401, url)
    t.equal(res.json().code, 'FST_LOGIN_UNAUTHORIZED', url)
  }
})

t.test('the 401 uses the configured login message', async (t) => {
  const { app } = await buildApp({ loginMessage: (request) => `log in for ${request.url}` }, (app) => {
    app.get('/forgot-guard', nameRoute.handler)
  })
  t.teardown(() => app.close())
  const res = await app.inject({ url: '/forgot-guard' })
  t.equal(res.statusCode, 401)
  t.equal(res.json().message, 'log in for /forgot-guard')
})

t.test('a failed automatic load is thrown again, as the guards do', async (t) => {
  const { app } = await buildApp({ loadUser: () => { throw new Error('database down') } }, (app) => {
    app.get('/forgot-guard', nameRoute.handler)
  })
  t.teardown(() => app.close())
  const jar = await loggedIn(app, '1')
  const res = await app.inject({ url: '/forgot-guard', headers: { cookie: jar.header() } })
  t.equal(res.statusCode, 500)
  t.equal(res.json().message, 'database down')
})

t.test('behind jwtRequired it is the token user', async (t) => {
  const { app } = await buildApp({ jwt: { secret: 'require-user-test-secret-0123456789abcd', authenticate } }, (app) => {
    app.get('/api/guarded', { preHandler: app.jwtRequired }, nameRoute.handler)
  })
  t.teardown(() => app.close())
  const { access_token: token } = await getTokens(app)
  const res = await app.inject({ url: '/api/guarded', headers: bearer(token) })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { name: 'alice' })
  t.equal((await app.inject({ url: '/api/guarded' })).statusCode, 401)
})
