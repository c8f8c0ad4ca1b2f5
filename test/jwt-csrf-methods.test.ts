import type { FastifyInstance, HTTPMethods, LightMyRequestResponse } from 'fastify'
import t, { type Test } from 'tap'
import { assertRefused, authenticate, authLogin, buildApp, CookieJar, setCookie, type TestUser } from './helpers.js'

/*
 * The CSRF double submit of cookie tokens holds on every method that is not
 * safe (RFC 9110 §9.2.1): not only POST, PUT, PATCH and DELETE but also the
 * WebDAV methods an app may add (PROPPATCH, MKCOL, SEARCH, REPORT), which a
 * cross-site page can send too once CORS allows them. Only GET, HEAD,
 * OPTIONS and TRACE go without the X-CSRF-Token header.
 */

const SECRET = 'jwt-csrf-methods-test-secret-0123456789abcdef'
const USUAL = ['POST', 'PUT', 'PATCH', 'DELETE']
// Not in Fastify's default method list: declared with addHttpMethod().
const ADDED = ['PROPPATCH', 'MKCOL', 'SEARCH', 'REPORT']
const UNSAFE = [...USUAL, ...ADDED]
const SAFE = ['GET', 'HEAD', 'OPTIONS', 'TRACE']

/** An app with cookie tokens and /api/thing behind jwtRequired for every method above. */
async function methodsApp (): Promise<FastifyInstance> {
  const { app } = await buildApp({
    jwt: { secret: SECRET, authenticate, locations: ['cookies'], cookies: {} }
  }, (app) => {
    for (const method of ADDED) app.addHttpMethod(method, { hasBody: true })
    app.route({
      // HEAD comes with GET (exposeHeadRoutes).
      method: [...UNSAFE, ...SAFE.filter((method) => method !== 'HEAD')] as HTTPMethods[],
      url: '/api/thing',
      preHandler: app.jwtRequired,
      handler: async (request) => ({ name: (request.currentUser as TestUser).name, method: request.method })
    })
  })
  return app
}

t.test('cookie tokens: the CSRF header on each method', async (t) => {
  const app = await methodsApp()
  t.teardown(() => app.close())
  const res = await authLogin(app)
  const cookie = new CookieJar().store(res).header()
  const csrf = setCookie(res, '__Host-csrf_access_token')?.value as string
  t.ok(csrf, 'the access CSRF cookie is set')
  const refreshCsrf = setCookie(res, '__Host-csrf_refresh_token')?.value as string

  const call = (method: string, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> =>
    app.inject({ method: method as HTTPMethods, url: '/api/thing', headers: { ...headers, cookie } })

  /** Passed the guard as alice (HEAD answers without a body). */
  function assertPassed (t: Test, res: LightMyRequestResponse, method: string, what: string): void {
    t.equal(res.statusCode, 200, `${method} ${what}: passes (${res.body.slice(0, 100)})`)
    if (method !== 'HEAD') t.same(res.json(), { name: 'alice', method }, `${method} ${what}: as alice`)
  }

  for (const method of UNSAFE) {
    t.test(`${method} needs the header`, async (t) => {
      assertRefused(t, await call(method), 'FST_LOGIN_JWT_CSRF', `${method} without the header`)
      assertRefused(t, await call(method, { 'x-csrf-token': `${csrf}x` }), 'FST_LOGIN_JWT_CSRF', `${method} with a wrong value`)
      assertRefused(t, await call(method, { 'x-csrf-token': refreshCsrf }), 'FST_LOGIN_JWT_CSRF', `${method} with the refresh CSRF value`)
      assertPassed(t, await call(method, { 'x-csrf-token': csrf }), method, 'with the CSRF cookie value')
    })
  }

  for (const method of SAFE) {
    t.test(`${method} goes without it`, async (t) => {
      assertPassed(t, await call(method), method, 'without the header')
    })
  }

  t.test('without the token cookie the guard refuses every method (control)', async (t) => {
    for (const method of [...UNSAFE, ...SAFE]) {
      const res = await app.inject({ method: method as HTTPMethods, url: '/api/thing', headers: { 'x-csrf-token': csrf } })
      t.equal(res.statusCode, 401, `${method}: 401`)
    }
  })
})
