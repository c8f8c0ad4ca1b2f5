import t from 'tap'
import fastifyFlash from '@fastify/flash'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { BROWSER_ACCEPT, buildApp, CookieJar, rejectsOption, TEST_KEY } from './helpers.js'

/** What a browser sends when following a link. */

const UNAUTHORIZED_BODY = {
  statusCode: 401,
  code: 'FST_LOGIN_UNAUTHORIZED',
  error: 'Unauthorized',
  message: 'Please log in to access this page.'
}

t.test('without loginUrl an anonymous request gets a 401 JSON error', async (t) => {
  const { app } = await buildApp()
  t.teardown(() => app.close())

  const api = await app.inject({ url: '/private?a=1', headers: { accept: 'application/json' } })
  t.equal(api.statusCode, 401)
  t.match(api.headers['content-type'], /^application\/json/)
  t.same(api.json(), UNAUTHORIZED_BODY)
  t.equal(api.headers.location, undefined)

  // A browser gets the same 401: there is no login page to send it to.
  const browser = await app.inject({ url: '/private?a=1', headers: { accept: BROWSER_ACCEPT } })
  t.equal(browser.statusCode, 401)
  t.same(browser.json(), UNAUTHORIZED_BODY)
  t.equal(browser.headers.location, undefined)
})

t.test('with loginUrl a browser is redirected to the login page with next', async (t) => {
  const { app } = await buildApp({ loginUrl: '/login' })
  t.teardown(() => app.close())

  const res = await app.inject({ url: '/private?a=1', headers: { accept: BROWSER_ACCEPT } })
  t.equal(res.statusCode, 302)
  t.equal(res.headers.location, '/login?next=%2Fprivate%3Fa%3D1')

  const plain = await app.inject({ url: '/private', headers: { accept: BROWSER_ACCEPT } })
  t.equal(plain.statusCode, 302)
  t.equal(plain.headers.location, '/login?next=%2Fprivate')
})

t.test('fetch(), curl and HTTP libraries (no Accept, or */*) get the 401, not the login page', async (t) => {
  const { app } = await buildApp({ loginUrl: '/login' })
  t.teardown(() => app.close())

  for (const headers of [{}, { accept: '*/*' }, { accept: 'application/json, text/plain, */*' }]) {
    const res = await app.inject({ url: '/private?a=1', headers })
    t.equal(res.statusCode, 401, JSON.stringify(headers))
    t.equal(res.headers.location, undefined)
  }
})

t.test('Fetch Metadata decides who is redirected: page navigations only', async (t) => {
  const { app } = await buildApp({ loginUrl: '/login' })
  t.teardown(() => app.close())
  const redirected = [
    { 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document', accept: BROWSER_ACCEPT },
    { 'sec-fetch-mode': 'navigate', accept: '*/*' },
    { 'sec-fetch-dest': 'document' },
    { 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'iframe', 'x-requested-with': 'XMLHttpRequest' }
  ]
  for (const headers of redirected) {
    const res = await app.inject({ url: '/private?a=1', headers })
    t.equal(res.statusCode, 302, `redirected: ${JSON.stringify(headers)}`)
    t.equal(res.headers.location, '/login?next=%2Fprivate%3Fa%3D1')
  }
  const refused = [
    // fetch() from a page, even one that asks for HTML
    { 'sec-fetch-mode': 'cors', 'sec-fetch-dest': 'empty', accept: BROWSER_ACCEPT },
    { 'sec-fetch-mode': 'same-origin', 'sec-fetch-dest': 'empty', accept: 'text/html' },
    { 'sec-fetch-mode': 'no-cors', 'sec-fetch-dest': 'image', accept: 'text/html' },
    { 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'websocket', accept: 'text/html' }
  ]
  for (const headers of refused) {
    const res = await app.inject({ url: '/private?a=1', headers })
    t.equal(res.statusCode, 401, `401: ${JSON.stringify(headers)}`)
  }
  const older = await app.inject({ url: '/private?a=1', headers: { accept: 'application/xhtml+xml' } })
  t.equal(older.statusCode, 302, 'no Fetch Metadata: an Accept that names HTML is a page load')
})

t.test('API and XHR clients get the 401 even when loginUrl is set', async (t) => {
  const { app } = await buildApp({ loginUrl: '/login' })
  t.teardown(() => app.close())

  const json = await app.inject({ url: '/private?a=1', headers: { accept: 'application/json' } })
  t.equal(json.statusCode, 401)
  t.same(json.json(), UNAUTHORIZED_BODY)
  t.equal(json.headers.location, undefined)

  const xhr = await app.inject({
    url: '/private?a=1',
    headers: { accept: BROWSER_ACCEPT, 'x-requested-with': 'XMLHttpRequest' }
  })
  t.equal(xhr.statusCode, 401)
  t.same(xhr.json(), UNAUTHORIZED_BODY)
  t.equal(xhr.headers.location, undefined)
})

t.test('a logged-in user passes the guard', async (t) => {
  const { app } = await buildApp({ loginUrl: '/login' })
  t.teardown(() => app.close())
  const jar = new CookieJar()
  jar.store(await app.inject({ method: 'POST', url: '/login/1' }))

  const res = await app.inject({ url: '/private?a=1', headers: { accept: BROWSER_ACCEPT, cookie: jar.header() } })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { name: 'alice' })
})

t.test('a login URL with a query keeps it and gets next appended', async (t) => {
  const { app } = await buildApp({ loginUrl: '/login?lang=fr' })
  t.teardown(() => app.close())

  const res = await app.inject({ url: '/private?a=1', headers: { accept: BROWSER_ACCEPT } })
  t.equal(res.statusCode, 302)
  t.equal(res.headers.location, '/login?lang=fr&next=%2Fprivate%3Fa%3D1')
})

t.test('absolute login URLs', async (t) => {
  t.test('on another origin, next is the full URL on the configured origin, whatever the Host header says', async (t) => {
    const { app } = await buildApp({ loginUrl: 'https://auth.example.com/login', origin: 'https://app.example.com' })
    t.teardown(() => app.close())

    for (const host of ['app.example.com', 'evil.example']) {
      const res = await app.inject({ url: '/private?a=1', headers: { accept: BROWSER_ACCEPT, host } })
      t.equal(res.statusCode, 302)
      t.equal(res.headers.location, 'https://auth.example.com/login?next=https%3A%2F%2Fapp.example.com%2Fprivate%3Fa%3D1', `Host: ${host}`)
    }
  })

  t.test('on the same origin, next is only the path and query', async (t) => {
    const { app } = await buildApp({ loginUrl: 'http://app.example.com/login', origin: 'http://app.example.com' })
    t.teardown(() => app.close())

    const res = await app.inject({ url: '/private?a=1', headers: { accept: BROWSER_ACCEPT, host: 'app.example.com' } })
    t.equal(res.statusCode, 302)
    t.equal(res.headers.location, 'http://app.example.com/login?next=%2Fprivate%3Fa%3D1')
  })

  t.test('a full login or refresh URL without origin fails registration', async (t) => {
    for (const name of ['loginUrl', 'refreshUrl'] as const) {
      await rejectsOption(t, { loadUser: () => null, session: { key: TEST_KEY }, [name]: 'https://auth.example.com/login' }, new RegExp(`${name} is a full URL: give the \`origin\` option`))
    }
  })

  t.test('origin must be an origin', async (t) => {
    for (const origin of ['app.example.com', 'ftp://app.example.com', 'https://app.example.com/path', 'https://app.example.com/?q', 'https://user@app.example.com', 'https://app.example.com#x', '', 42]) {
      await rejectsOption(t, { loadUser: () => null, session: { key: TEST_KEY }, origin: origin as string }, /origin must be the app's public origin/, { message: JSON.stringify(origin) })
    }
  })

  t.test('with origin, request.nextUrl() takes absolute next values on that host only', async (t) => {
    const { app } = await buildApp({ origin: 'https://app.example.com' }, (app) => {
      app.get('/login', async (request) => ({ next: request.nextUrl() }))
    })
    t.teardown(() => app.close())
    const next = async (value: string, host: string): Promise<string> =>
      (await app.inject({ url: `/login?next=${encodeURIComponent(value)}`, headers: { host } })).json().next
    t.equal(await next('https://app.example.com/account', 'evil.example'), '/account')
    t.equal(await next('https://evil.example/account', 'evil.example'), '/', 'the Host header does not widen what is accepted')
  })
})

t.test('nextParam renames the query parameter', async (t) => {
  const { app } = await buildApp({ loginUrl: '/login', nextParam: 'return_to' })
  t.teardown(() => app.close())

  const res = await app.inject({ url: '/private?a=1', headers: { accept: BROWSER_ACCEPT } })
  t.equal(res.statusCode, 302)
  t.equal(res.headers.location, '/login?return_to=%2Fprivate%3Fa%3D1')
})

t.test('useSessionForNext keeps next in the session, read once by request.nextUrl()', async (t) => {
  const { app } = await buildApp({ loginUrl: '/login', useSessionForNext: true }, (app) => {
    app.get('/login', async (request) => ({ next: request.nextUrl('/home') }))
  })
  t.teardown(() => app.close())
  const jar = new CookieJar()

  const denied = await app.inject({ url: '/private?a=1', headers: { accept: BROWSER_ACCEPT } })
  t.equal(denied.statusCode, 302)
  t.equal(denied.headers.location, '/login', 'the bare login URL, no next in the query')
  jar.store(denied)
  t.ok(jar.cookies.has('__Host-session'), 'next travels in the session cookie')

  const first = await app.inject({ url: '/login', headers: { cookie: jar.header() } })
  t.same(first.json(), { next: '/private?a=1' })
  jar.store(first)

  const second = await app.inject({ url: '/login', headers: { cookie: jar.header() } })
  t.same(second.json(), { next: '/home' }, 'the stored next is consumed by the first read')

  const fresh = await app.inject({ url: '/login' })
  t.same(fresh.json(), { next: '/home' }, 'no session: the fallback')
})

t.test('the unauthorized handler option', async (t) => {
  t.test('a handler that returns its reply wins over the redirect', async (t) => {
    const { app } = await buildApp({
      loginUrl: '/login',
      unauthorized: (_request: FastifyRequest, reply: FastifyReply) => reply.code(403).type('text/plain').send('members only')
    })
    t.teardown(() => app.close())

    const res = await app.inject({ url: '/private?a=1', headers: { accept: BROWSER_ACCEPT } })
    t.equal(res.statusCode, 403)
    t.match(res.headers['content-type'], /^text\/plain/)
    t.equal(res.body, 'members only')
    t.equal(res.headers.location, undefined)
  })

  t.test('an async handler that sends without returning the reply wins too', async (t) => {
    const { app } = await buildApp({
      unauthorized: async (request: FastifyRequest, reply: FastifyReply) => {
        reply.code(403).send({ denied: request.url })
      }
    })
    t.teardown(() => app.close())

    const res = await app.inject({ url: '/private?a=1' })
    t.equal(res.statusCode, 403)
    t.same(res.json(), { denied: '/private?a=1' })
  })

  t.test('a handler that returns without sending gives the 401 error', async (t) => {
    let calls = 0
    const { app } = await buildApp({
      loginUrl: '/login',
      unauthorized: () => { calls++ }
    })
    t.teardown(() => app.close())

    const res = await app.inject({ url: '/private?a=1', headers: { accept: BROWSER_ACCEPT } })
    t.equal(calls, 1)
    t.equal(res.statusCode, 401)
    t.same(res.json(), UNAUTHORIZED_BODY)
    t.equal(res.headers.location, undefined)
  })

  t.test('an error the handler throws is the response', async (t) => {
    const { app } = await buildApp({
      unauthorized: () => {
        const error = new Error('I am a teapot, not a login page') as Error & { statusCode: number, code: string }
        error.statusCode = 418
        error.code = 'APP_TEAPOT'
        throw error
      }
    })
    t.teardown(() => app.close())

    const res = await app.inject({ url: '/private' })
    t.equal(res.statusCode, 418)
    t.match(res.json(), { statusCode: 418, code: 'APP_TEAPOT', message: 'I am a teapot, not a login page' })
  })

  t.test('the handler is not called for a logged-in user', async (t) => {
    let calls = 0
    const { app } = await buildApp({ unauthorized: () => { calls++ } })
    t.teardown(() => app.close())
    const jar = new CookieJar()
    jar.store(await app.inject({ method: 'POST', url: '/login/2' }))

    const res = await app.inject({ url: '/private', headers: { cookie: jar.header() } })
    t.equal(res.statusCode, 200)
    t.same(res.json(), { name: 'bob' })
    t.equal(calls, 0)
  })
})

t.test('loginMessage sets the message of the 401', async (t) => {
  t.test('a string', async (t) => {
    const { app } = await buildApp({ loginMessage: 'Sign in first.' })
    t.teardown(() => app.close())

    const res = await app.inject({ url: '/private' })
    t.equal(res.statusCode, 401)
    t.same(res.json(), { ...UNAUTHORIZED_BODY, message: 'Sign in first.' })
  })

  t.test('a function of the request (localized)', async (t) => {
    const { app } = await buildApp({
      loginMessage: (request: FastifyRequest) =>
        String(request.headers['accept-language'] ?? '').startsWith('fr')
          ? 'Veuillez vous connecter pour accéder à cette page.'
          : 'Please sign in.'
    })
    t.teardown(() => app.close())

    const fr = await app.inject({ url: '/private', headers: { 'accept-language': 'fr-FR,fr;q=0.9' } })
    t.equal(fr.statusCode, 401)
    t.same(fr.json(), { ...UNAUTHORIZED_BODY, message: 'Veuillez vous connecter pour accéder à cette page.' })

    const en = await app.inject({ url: '/private', headers: { 'accept-language': 'en-GB' } })
    t.equal(en.statusCode, 401)
    t.same(en.json(), { ...UNAUTHORIZED_BODY, message: 'Please sign in.' })
  })

  t.test('false still gives a 401 with the unauthorized code', async (t) => {
    const { app } = await buildApp({ loginMessage: false })
    t.teardown(() => app.close())

    const res = await app.inject({ url: '/private' })
    t.equal(res.statusCode, 401)
    t.match(res.json(), { statusCode: 401, code: 'FST_LOGIN_UNAUTHORIZED', error: 'Unauthorized', message: String })
  })
})

t.test('with @fastify/flash the redirect flashes the login message', async (t) => {
  /** An app whose GET /login shows (and consumes) the flashed messages. */
  async function flashApp (options: Parameters<typeof buildApp>[0]) {
    const { app } = await buildApp({ loginUrl: '/login', ...options }, async (app) => {
      await app.register(fastifyFlash)
      app.get('/login', async (_request, reply) => ({ flashed: reply.flash() }))
    })
    return app
  }

  t.test('default message and category', async (t) => {
    const app = await flashApp({})
    t.teardown(() => app.close())
    const jar = new CookieJar()

    const denied = await app.inject({ url: '/private?a=1', headers: { accept: BROWSER_ACCEPT } })
    t.equal(denied.statusCode, 302)
    t.equal(denied.headers.location, '/login?next=%2Fprivate%3Fa%3D1')
    jar.store(denied)

    const page = await app.inject({ url: '/login', headers: { cookie: jar.header() } })
    t.same(page.json(), { flashed: { message: ['Please log in to access this page.'] } })
    jar.store(page)

    const again = await app.inject({ url: '/login', headers: { cookie: jar.header() } })
    t.same(again.json(), { flashed: {} }, 'shown once')
  })

  t.test('custom message (function) and category', async (t) => {
    const app = await flashApp({
      loginMessage: (request: FastifyRequest) => `Log in to see ${request.url}`,
      loginMessageCategory: 'warning'
    })
    t.teardown(() => app.close())
    const jar = new CookieJar()

    jar.store(await app.inject({ url: '/private?a=1', headers: { accept: BROWSER_ACCEPT } }))
    const page = await app.inject({ url: '/login', headers: { cookie: jar.header() } })
    t.same(page.json(), { flashed: { warning: ['Log in to see /private?a=1'] } })
  })

  t.test('loginMessage: false flashes nothing but still redirects', async (t) => {
    const app = await flashApp({ loginMessage: false })
    t.teardown(() => app.close())
    const jar = new CookieJar()

    const denied = await app.inject({ url: '/private?a=1', headers: { accept: BROWSER_ACCEPT } })
    t.equal(denied.statusCode, 302)
    t.equal(denied.headers.location, '/login?next=%2Fprivate%3Fa%3D1')
    jar.store(denied)

    const page = await app.inject({ url: '/login', headers: { cookie: jar.header() } })
    t.same(page.json(), { flashed: {} })
  })

  t.test('a 401 (API client) flashes nothing', async (t) => {
    const app = await flashApp({})
    t.teardown(() => app.close())
    const jar = new CookieJar()

    const denied = await app.inject({ url: '/private', headers: { accept: 'application/json' } })
    t.equal(denied.statusCode, 401)
    jar.store(denied)

    const page = await app.inject({ url: '/login', headers: { cookie: jar.header() } })
    t.same(page.json(), { flashed: {} })
  })
})

t.test("useSessionForNext: the README's login route sends the user to the stored next, once", async (t) => {
  const { app, users } = await buildApp({ loginUrl: '/login', useSessionForNext: true }, (app) => {
    app.post<{ Body: { id: string } }>('/login', async (request, reply) => {
      await reply.login(users.get(request.body.id) as NonNullable<ReturnType<typeof users.get>>)
      return reply.redirect(request.nextUrl('/'))
    })
    app.get('/peek-next', async (request) => ({ next: request.nextUrl('/none') }))
  })
  t.teardown(() => app.close())
  const jar = new CookieJar()
  jar.store(await app.inject({ url: '/private?a=1', headers: { accept: BROWSER_ACCEPT } }))

  const login = await app.inject({ method: 'POST', url: '/login', payload: { id: '1' }, headers: { cookie: jar.header() } })
  t.equal(login.statusCode, 302)
  t.equal(login.headers.location, '/private?a=1', 'next survived the session rotation of the login')
  jar.store(login)
  const again = await app.inject({ url: '/peek-next', headers: { cookie: jar.header() } })
  t.same(again.json(), { next: '/none' }, 'and was used only once')
  t.equal((await app.inject({ url: '/private?a=1', headers: { cookie: jar.header() } })).statusCode, 200, 'the user is logged in')
})
