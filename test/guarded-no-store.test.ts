import t, { type Test } from 'tap'
import { buildApp, loggedIn } from './helpers.js'

/*
 * A page a session guard let through is one user's page: it gets
 * `Cache-Control: no-store`, so that after logout the back button asks the
 * server again (test/browser.test.ts shows it in Chromium) and no shared
 * cache keeps it. The route's own Cache-Control wins.
 */

async function guardedApp (t: Test) {
  const { app } = await buildApp({}, (app) => {
    app.get('/page', { preHandler: app.loginRequired }, async () => ({ page: 'mine' }))
    app.get('/fresh-page', { preHandler: app.freshLoginRequired }, async () => ({ page: 'fresh' }))
    app.get('/verified', { preHandler: app.verifyLogin }, async () => ({ page: 'verified' }))
    app.get('/own-header', { preHandler: app.loginRequired }, async (_request, reply) => {
      reply.header('cache-control', 'private, max-age=60')
      return { page: 'cacheable by the browser' }
    })
    app.get('/set-before', {
      onRequest: (_request, reply, done) => { reply.header('cache-control', 'private, max-age=5'); done() },
      preHandler: app.loginRequired
    }, async () => ({ page: 'set before the guard' }))
    app.get('/open', async () => ({ page: 'public' }))
  })
  t.teardown(() => app.close())
  return app
}

t.test('the session guards mark the pages they let through no-store', async (t) => {
  const app = await guardedApp(t)
  const jar = await loggedIn(app, '1')
  for (const url of ['/page', '/fresh-page', '/verified']) {
    const res = await app.inject({ url, headers: { cookie: jar.header() } })
    t.equal(res.statusCode, 200, url)
    t.equal(res.headers['cache-control'], 'no-store', url)
  }
})

t.test("the route's own Cache-Control wins, set before the guard or by the handler", async (t) => {
  const app = await guardedApp(t)
  const jar = await loggedIn(app, '1')
  const own = await app.inject({ url: '/own-header', headers: { cookie: jar.header() } })
  t.equal(own.statusCode, 200)
  t.equal(own.headers['cache-control'], 'private, max-age=60')
  const before = await app.inject({ url: '/set-before', headers: { cookie: jar.header() } })
  t.equal(before.statusCode, 200)
  t.equal(before.headers['cache-control'], 'private, max-age=5')
})

t.test('a route without a guard is left alone, logged in or not', async (t) => {
  const app = await guardedApp(t)
  const jar = await loggedIn(app, '1')
  t.equal((await app.inject({ url: '/open' })).headers['cache-control'], undefined)
  t.equal((await app.inject({ url: '/open', headers: { cookie: jar.header() } })).headers['cache-control'], undefined)
  // A refusal is the plugin's 401, not the page.
  const refused = await app.inject({ url: '/page' })
  t.equal(refused.statusCode, 401)
})
