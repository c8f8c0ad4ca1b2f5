import t from 'tap'
import fastifyFormbody from '@fastify/formbody'
import type { FastifyInstance } from 'fastify'
import { buildApp, CookieJar, type TestUser } from './helpers.js'

/**
 * An app with a login form handler, as apps write it: POST /do-login logs
 * alice in and redirects to `request.nextUrl('/home')`. GET /where answers
 * with `request.nextUrl()` (default fallback).
 */
async function nextApp (): Promise<FastifyInstance> {
  const { app } = await buildApp({ loginUrl: '/login' }, async (app) => {
    await app.register(fastifyFormbody)
    app.post('/do-login', async (request, reply) => {
      await reply.login({ id: '1', name: 'alice' } satisfies TestUser)
      return reply.redirect(request.nextUrl('/home'))
    })
    app.get('/where', async (request) => ({ next: request.nextUrl() }))
  })
  return app
}

/** POST /do-login with `next` in the query string; returns the Location. */
async function viaQuery (app: FastifyInstance, next: string, host?: string): Promise<string | undefined> {
  const res = await app.inject({
    method: 'POST',
    url: `/do-login?next=${encodeURIComponent(next)}`,
    headers: host === undefined ? {} : { host }
  })
  if (res.statusCode !== 302) throw new Error(`expected a redirect, got ${res.statusCode} ${res.body}`)
  return res.headers.location as string | undefined
}

/** POST /do-login with `next` in a urlencoded form body; returns the Location. */
async function viaForm (app: FastifyInstance, next: string, host?: string): Promise<string | undefined> {
  const res = await app.inject({
    method: 'POST',
    url: '/do-login',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(host === undefined ? {} : { host }) },
    payload: new URLSearchParams({ next, user: 'alice' }).toString()
  })
  if (res.statusCode !== 302) throw new Error(`expected a redirect, got ${res.statusCode} ${res.body}`)
  return res.headers.location as string | undefined
}

t.test('a safe next from the query string is the redirect target', async (t) => {
  const app = await nextApp()
  t.teardown(() => app.close())

  t.equal(await viaQuery(app, '/account?tab=2'), '/account?tab=2')
  t.equal(await viaQuery(app, '/account?tab=2#billing'), '/account?tab=2#billing')
  t.equal(await viaQuery(app, '/'), '/')
  t.equal(await viaQuery(app, '/ページ?q=é'), '/%E3%83%9A%E3%83%BC%E3%82%B8?q=%C3%A9', 'non-ASCII is percent-encoded, never a 500')
})

t.test('a safe next from a form body is the redirect target', async (t) => {
  const app = await nextApp()
  t.teardown(() => app.close())

  t.equal(await viaForm(app, '/account?tab=2'), '/account?tab=2')
})

t.test('the redirect logs the user in as well', async (t) => {
  const app = await nextApp()
  t.teardown(() => app.close())

  const res = await app.inject({ method: 'POST', url: '/do-login?next=%2Fprivate' })
  t.equal(res.statusCode, 302)
  t.equal(res.headers.location, '/private')
  const cookie = new CookieJar().store(res).header()
  const followed = await app.inject({ url: '/private', headers: { cookie } })
  t.equal(followed.statusCode, 200)
  t.same(followed.json(), { name: 'alice' })
})

t.test('unsafe or missing next values give the fallback', async (t) => {
  const app = await nextApp()
  t.teardown(() => app.close())

  const unsafe = [
    '//evil.com',
    '//evil.com/account',
    'https://evil.com',
    'https://evil.com/account?tab=2',
    'http://evil.com',
    '/\\evil.com',
    '\\\\evil.com',
    '/%2F%2Fevil.com',
    '/%5Cevil.com',
    '/\t/evil.com',
    ' //evil.com',
    'javascript:alert(1)',
    '/account\r\nSet-Cookie: a=b',
    '/account%0d%0aSet-Cookie:%20a=b',
    'evil.com',
    ''
  ]
  for (const next of unsafe) {
    t.equal(await viaQuery(app, next), '/home', `query next=${JSON.stringify(next)}`)
    t.equal(await viaForm(app, next), '/home', `form next=${JSON.stringify(next)}`)
  }

  const missing = await app.inject({ method: 'POST', url: '/do-login' })
  t.equal(missing.statusCode, 302)
  t.equal(missing.headers.location, '/home', 'no next at all')

  const otherField = await app.inject({
    method: 'POST',
    url: '/do-login',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: 'user=alice'
  })
  t.equal(otherField.headers.location, '/home', 'a form without next')
})

t.test('next values that are not strings give the fallback, never a 500', async (t) => {
  const app = await nextApp()
  t.teardown(() => app.close())

  const repeated = await app.inject({ method: 'POST', url: '/do-login?next=%2Fa&next=%2Fb' })
  t.equal(repeated.statusCode, 302)
  t.equal(repeated.headers.location, '/home', 'a repeated query parameter (array)')

  const json = await app.inject({ method: 'POST', url: '/do-login', payload: { next: { href: '/account' } } })
  t.equal(json.statusCode, 302)
  t.equal(json.headers.location, '/home', 'an object in a JSON body')

  const number = await app.inject({ method: 'POST', url: '/do-login', payload: { next: 42 } })
  t.equal(number.statusCode, 302)
  t.equal(number.headers.location, '/home', 'a number in a JSON body')
})

t.test('an absolute URL on the request\'s own host becomes its path', async (t) => {
  const app = await nextApp()
  t.teardown(() => app.close())

  const host = 'app.example.com'
  t.equal(await viaQuery(app, 'http://app.example.com/account?tab=2', host), '/account?tab=2')
  t.equal(await viaForm(app, 'https://APP.example.com/account', host), '/account', 'host compared case-insensitively')
  t.equal(await viaQuery(app, 'https://app.example.com', host), '/')

  // Look-alike and other hosts stay refused.
  t.equal(await viaQuery(app, 'https://app.example.com.evil.com/account', host), '/home')
  t.equal(await viaQuery(app, 'https://evil.com/app.example.com', host), '/home')
  t.equal(await viaQuery(app, 'https://app.example.com@evil.com/', host), '/home')
  t.equal(await viaQuery(app, 'https://user:pw@app.example.com/account', host), '/home', 'credentials in the URL')
  t.equal(await viaQuery(app, 'http://app.example.com:8080/account', host), '/home', 'another port is another origin')
  t.equal(await viaQuery(app, 'http://app.example.com/account', 'other.example.com'), '/home', 'on another Host header')

  // URLs that the WHATWG parser refuses give the fallback too: never a 500.
  t.equal(await viaQuery(app, 'https://', host), '/home', 'no host at all')
  t.equal(await viaForm(app, 'http://app.example.com:99999/account', host), '/home', 'a port out of range')
  t.equal(await viaQuery(app, 'https://app.example.com//[', host), '/home', 'a path that would parse as an unparsable host')
})

t.test('the default fallback is /', async (t) => {
  const app = await nextApp()
  t.teardown(() => app.close())

  const safe = await app.inject({ url: '/where?next=%2Faccount' })
  t.same(safe.json(), { next: '/account' })
  const unsafe = await app.inject({ url: '/where?next=%2F%2Fevil.com' })
  t.same(unsafe.json(), { next: '/' })
  const none = await app.inject({ url: '/where' })
  t.same(none.json(), { next: '/' })
})

t.test('nextParam names the field nextUrl() reads', async (t) => {
  const { app } = await buildApp({ nextParam: 'return_to' }, (app) => {
    app.get('/where', async (request) => ({ next: request.nextUrl('/home') }))
  })
  t.teardown(() => app.close())

  const named = await app.inject({ url: '/where?return_to=%2Faccount' })
  t.same(named.json(), { next: '/account' })
  const ignored = await app.inject({ url: '/where?next=%2Faccount' })
  t.same(ignored.json(), { next: '/home' }, 'the default name is not read')
})
