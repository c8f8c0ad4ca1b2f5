import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { BROWSER_ACCEPT, buildApp, CookieJar } from './helpers.js'

/** GET `url` as a browser (optionally with cookies) and return status and Location. */
async function visit (app: FastifyInstance, url: string, cookie?: string): Promise<{ status: number, location: string | undefined }> {
  const headers: Record<string, string> = { accept: BROWSER_ACCEPT }
  if (cookie !== undefined) headers.cookie = cookie
  const res = await app.inject({ url, headers })
  return { status: res.statusCode, location: res.headers.location as string | undefined }
}

/**
 * Routes in three encapsulated scopes: /admin/* (setLoginUrl and setRefreshUrl,
 * with a nested plugin below it), /shop/* (no setLoginUrl) and /members/*
 * (registered with a prefix, setLoginUrl only).
 */
async function scopes (app: FastifyInstance): Promise<void> {
  await app.register(async (admin) => {
    admin.setLoginUrl('/admin/login')
    admin.setRefreshUrl('/admin/reauth')
    admin.get('/admin/x', { preHandler: admin.loginRequired }, async () => ({ scope: 'admin' }))
    admin.get('/admin/fresh', { preHandler: admin.freshLoginRequired }, async () => ({ scope: 'admin' }))
    await admin.register(async (reports) => {
      reports.get('/admin/reports', { preHandler: reports.loginRequired }, async () => ({ scope: 'reports' }))
    })
  })
  await app.register(async (shop) => {
    shop.get('/shop/x', { preHandler: shop.loginRequired }, async () => ({ scope: 'shop' }))
    shop.get('/shop/fresh', { preHandler: shop.freshLoginRequired }, async () => ({ scope: 'shop' }))
  })
  await app.register(async (members) => {
    members.setLoginUrl('/members/login')
    members.get('/x', { preHandler: members.loginRequired }, async () => ({ scope: 'members' }))
    members.get('/fresh', { preHandler: members.freshLoginRequired }, async () => ({ scope: 'members' }))
  }, { prefix: '/members' })
}

t.test('each scope redirects to its own login page', async (t) => {
  const { app } = await buildApp({ loginUrl: '/login' }, scopes)
  t.teardown(() => app.close())

  t.same(await visit(app, '/admin/x?a=1'), { status: 302, location: '/admin/login?next=%2Fadmin%2Fx%3Fa%3D1' })
  t.same(await visit(app, '/admin/reports'), { status: 302, location: '/admin/login?next=%2Fadmin%2Freports' },
    'a nested plugin inherits its parent scope\'s login page')
  t.same(await visit(app, '/members/x'), { status: 302, location: '/members/login?next=%2Fmembers%2Fx' },
    'works with a route prefix')
  t.same(await visit(app, '/shop/x'), { status: 302, location: '/login?next=%2Fshop%2Fx' },
    'a sibling scope without setLoginUrl uses the root one')
  t.same(await visit(app, '/private'), { status: 302, location: '/login?next=%2Fprivate' },
    'the root is not changed by a child scope')
})

t.test('a scope can have a login page when the root has none', async (t) => {
  const { app } = await buildApp({}, scopes)
  t.teardown(() => app.close())

  t.same(await visit(app, '/admin/x'), { status: 302, location: '/admin/login?next=%2Fadmin%2Fx' })
  t.same(await visit(app, '/members/x'), { status: 302, location: '/members/login?next=%2Fmembers%2Fx' })

  for (const url of ['/shop/x', '/private']) {
    const res = await app.inject({ url, headers: { accept: BROWSER_ACCEPT } })
    t.equal(res.statusCode, 401, `${url}: no login page, so 401`)
    t.equal(res.json().code, 'FST_LOGIN_UNAUTHORIZED')
  }
})

t.test('a scope login page still lets logged-in users through', async (t) => {
  const { app } = await buildApp({ loginUrl: '/login' }, scopes)
  t.teardown(() => app.close())
  const jar = new CookieJar().store(await app.inject({ method: 'POST', url: '/login/1' }))

  const res = await app.inject({ url: '/admin/x', headers: { accept: BROWSER_ACCEPT, cookie: jar.header() } })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { scope: 'admin' })
})

t.test('setRefreshUrl sets the re-authentication page per scope', async (t) => {
  const { app } = await buildApp({ loginUrl: '/login', refreshUrl: '/reauth' }, scopes)
  t.teardown(() => app.close())
  const stale = new CookieJar().store(await app.inject({ method: 'POST', url: '/login/1', payload: { fresh: false } }))

  t.same(await visit(app, '/admin/fresh', stale.header()), { status: 302, location: '/admin/reauth?next=%2Fadmin%2Ffresh' })
  t.same(await visit(app, '/shop/fresh', stale.header()), { status: 302, location: '/reauth?next=%2Fshop%2Ffresh' },
    'a sibling scope uses the root refresh page')
  t.same(await visit(app, '/members/fresh', stale.header()), { status: 302, location: '/reauth?next=%2Fmembers%2Ffresh' },
    'setLoginUrl alone does not change the refresh page')
  t.same(await visit(app, '/fresh', stale.header()), { status: 302, location: '/reauth?next=%2Ffresh' })

  // Anonymous requests to a fresh route take the scope's login page.
  t.same(await visit(app, '/admin/fresh'), { status: 302, location: '/admin/login?next=%2Fadmin%2Ffresh' })
})

t.test('a scope refresh page when the root has none', async (t) => {
  const { app } = await buildApp({}, scopes)
  t.teardown(() => app.close())
  const stale = new CookieJar().store(await app.inject({ method: 'POST', url: '/login/2', payload: { fresh: false } }))

  t.same(await visit(app, '/admin/fresh', stale.header()), { status: 302, location: '/admin/reauth?next=%2Fadmin%2Ffresh' })
  const shop = await app.inject({ url: '/shop/fresh', headers: { accept: BROWSER_ACCEPT, cookie: stale.header() } })
  t.equal(shop.statusCode, 401)
  t.equal(shop.json().code, 'FST_LOGIN_FRESH_REQUIRED')
})

t.test('setLoginUrl and setRefreshUrl refuse unsafe or malformed URLs', async (t) => {
  const bad: unknown[] = [
    'javascript:alert(1)',
    'JavaScript:alert(1)',
    'evil.com',
    'data:text/html,hi',
    'login',
    '',
    42,
    undefined
  ]
  for (const method of ['setLoginUrl', 'setRefreshUrl'] as const) {
    for (const url of bad) {
      await t.rejects(
        buildApp({}, async (app) => {
          await app.register(async (scope) => { scope[method](url as string) })
        }),
        { code: 'FST_LOGIN_INVALID_OPTION' },
        `${method}(${JSON.stringify(url)}) fails registration`
      )
    }
  }
})

t.test('login URLs with control characters, or that no browser could parse, fail registration instead of breaking every redirect', async (t) => {
  // Such a URL cannot go into a Location header: Node refuses CR/LF there, so
  // each denied request would end in a 500 (ERR_INVALID_CHAR).
  const bad = ['/login\r\nX-Injected: 1', '/login\n', 'https://sso.example.com/\tlogin', '/login\u0000', 'https://sso.example:99999/login', 'http://[::1/login']
  for (const url of bad) {
    for (const method of ['setLoginUrl', 'setRefreshUrl'] as const) {
      await t.rejects(
        buildApp({}, async (app) => {
          await app.register(async (scope) => { scope[method](url) })
        }),
        { code: 'FST_LOGIN_INVALID_OPTION' },
        `${method}(${JSON.stringify(url)}) fails registration`
      )
    }
    for (const option of ['loginUrl', 'refreshUrl'] as const) {
      await t.rejects(buildApp({ [option]: url }), { code: 'FST_LOGIN_INVALID_OPTION' }, `${option}: ${JSON.stringify(url)} fails registration`)
    }
  }
})

t.test('a non-ASCII login path never turns the redirect into a 500', async (t) => {
  let app: FastifyInstance
  try {
    ({ app } = await buildApp({}, async (app) => {
      await app.register(async (scope) => {
        scope.setLoginUrl('/ログイン')
        scope.get('/jp', { preHandler: scope.loginRequired }, async () => 'ok')
      })
    }))
  } catch (error) {
    // Refusing it at registration is a correct answer too.
    t.match(error, { code: 'FST_LOGIN_INVALID_OPTION' })
    return
  }
  t.teardown(() => app.close())
  const res = await app.inject({ url: '/jp', headers: { accept: BROWSER_ACCEPT } })
  t.equal(res.statusCode, 302)
  t.equal(res.headers.location, '/%E3%83%AD%E3%82%B0%E3%82%A4%E3%83%B3?next=%2Fjp')
})

t.test('setLoginUrl accepts paths and http(s) URLs', async (t) => {
  const { app } = await buildApp({ origin: 'https://shop.example.com' }, async (app) => {
    await app.register(async (scope) => {
      scope.setLoginUrl('https://sso.example.com/login?app=shop')
      scope.get('/sso', { preHandler: scope.loginRequired }, async () => 'ok')
    })
  })
  t.teardown(() => app.close())

  const res = await app.inject({ url: '/sso', headers: { accept: BROWSER_ACCEPT, host: 'shop.example.com' } })
  t.equal(res.statusCode, 302)
  t.equal(res.headers.location, 'https://sso.example.com/login?app=shop&next=https%3A%2F%2Fshop.example.com%2Fsso')
})

t.test('setLoginUrl with a full URL needs the origin option', async (t) => {
  const { app } = await buildApp()
  t.teardown(() => app.close())
  t.throws(() => app.setLoginUrl('https://sso.example.com/login'), { code: 'FST_LOGIN_INVALID_OPTION', message: /setLoginUrl\(\) is a full URL: give the `origin` option/ })
  t.throws(() => app.setRefreshUrl('https://sso.example.com/again'), { code: 'FST_LOGIN_INVALID_OPTION', message: /setRefreshUrl\(\) is a full URL/ })
})
