import t from 'tap'
import { setImmediate as tick } from 'node:timers/promises'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { FastifyLoginOptions } from '../lib/index.js'
import { ANONYMOUS, buildApp, CookieJar, makeUsers, me, send, setCookie, type TestUser } from './helpers.js'

/** Anonymous, whatever loginRemembered() says (see its own test below). */
const NOT_LOGGED_IN = { user: null, authenticated: false, fresh: false }

/** A loadUser over `users` that counts its calls. */
function countingLoader (users: Map<string, TestUser>) {
  const calls: string[] = []
  return {
    calls,
    loadUser: (id: string) => {
      calls.push(id)
      return users.get(id) ?? null
    }
  }
}

/** A request loader that maps the `x-api-key` header to a user, counting its calls. */
function apiKeyLoader (users: Map<string, TestUser>) {
  const keys = new Map([['key-alice', '1'], ['key-bob', '2'], ['key-carol', '3']])
  const state = {
    calls: 0,
    loadUserFromRequest: (request: FastifyRequest) => {
      state.calls++
      const key = request.headers['x-api-key']
      const id = typeof key === 'string' ? keys.get(key) : undefined
      return id === undefined ? null : users.get(id) ?? null
    }
  }
  return state
}

t.test('loadUser returning nothing for the stored id', async (t) => {
  for (const missing of [null, undefined]) {
    t.test(`${missing}: the request is anonymous and the stale id is forgotten`, async (t) => {
      const users = makeUsers()
      const { app } = await buildApp({ loadUser: (id) => users.get(id) ?? missing })
      t.teardown(() => app.close())
      const jar = new CookieJar()
      await send(app, jar, 'POST', '/login/1')
      t.match(await me(app, jar), { user: { name: 'alice' } })

      const alice = users.get('1') as TestUser
      users.delete('1')
      const res = await send(app, jar, 'GET', '/me')
      t.same(res.json(), ANONYMOUS, 'anonymous once the user is gone')
      t.ok(setCookie(res, '__Host-session'), 'the session is rewritten without the login')
      t.equal((await send(app, jar, 'GET', '/private')).statusCode, 401)

      users.set('1', alice)
      t.same(await me(app, jar), ANONYMOUS, 'the login does not come back with the user')
    })
  }

  t.test('a gone user in the remember cookie is anonymous and the cookie is cleared', async (t) => {
    const users = makeUsers()
    const { app } = await buildApp({ loadUser: (id) => users.get(id) ?? null })
    t.teardown(() => app.close())
    const jar = new CookieJar()
    await send(app, jar, 'POST', '/login/2', { remember: true })
    jar.cookies.delete('__Host-session')
    users.delete('2')

    const res = await send(app, jar, 'GET', '/me')
    t.match(res.json(), NOT_LOGGED_IN)
    t.equal(setCookie(res, '__Host-remember_token')?.maxAge, 0, 'remember cookie cleared')
    t.equal(setCookie(res, '__Host-session'), undefined, 'no session created for the refused restore')
    users.set('2', { id: '2', name: 'bob' })
    t.same(await me(app, jar), ANONYMOUS, 'the cleared cookie is gone for good')
  })
})

t.test('an async loadUser', async (t) => {
  const users = makeUsers()
  const { app } = await buildApp({
    loadUser: async (id) => {
      await tick()
      return users.get(id) ?? null
    }
  })
  t.teardown(() => app.close())
  const jar = new CookieJar()

  await send(app, jar, 'POST', '/login/2')
  t.same(await me(app, jar), { user: { id: '2', name: 'bob' }, authenticated: true, fresh: true, remembered: false })
  const priv = await send(app, jar, 'GET', '/private')
  t.equal(priv.statusCode, 200)
  t.same(priv.json(), { name: 'bob' })

  await send(app, jar, 'POST', '/login/1', { remember: true })
  jar.cookies.delete('__Host-session')
  t.match(await me(app, jar), { user: { name: 'alice' }, authenticated: true, fresh: false, remembered: true }, 'restores from the remember cookie too')
})

t.test('an async request loader', async (t) => {
  const users = makeUsers()
  const { app } = await buildApp({
    loadUser: undefined,
    loadUserFromRequest: async (request) => {
      await tick()
      return request.headers['x-api-key'] === 'key-bob' ? users.get('2') : undefined
    }
  })
  t.teardown(() => app.close())

  const res = await app.inject({ url: '/private', headers: { 'x-api-key': 'key-bob' } })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { name: 'bob' })
  t.equal((await app.inject({ url: '/private' })).statusCode, 401)
})

t.test('the loader runs at most once per request', async (t) => {
  const users = makeUsers()
  const counter = countingLoader(users)
  const requestLoader = apiKeyLoader(users)
  const { app } = await buildApp({ loadUser: counter.loadUser, loadUserFromRequest: requestLoader.loadUserFromRequest }, (app) => {
    app.get('/busy', { preHandler: [app.loginRequired, app.freshLoginRequired, app.verifyLogin] }, async (request) => {
      const first = await request.loadCurrentUser()
      const second = await request.loadCurrentUser()
      return { same: first === second && first === request.currentUser, name: (first as TestUser).name }
    })
    app.get('/maybe', async (request) => {
      await request.loadCurrentUser()
      await request.loadCurrentUser()
      return { user: request.currentUser }
    })
  })
  t.teardown(() => app.close())
  const jar = new CookieJar()
  await send(app, jar, 'POST', '/login/1')
  requestLoader.calls = 0

  counter.calls.length = 0
  const res = await send(app, jar, 'GET', '/busy')
  t.equal(res.statusCode, 200)
  t.same(res.json(), { same: true, name: 'alice' })
  t.same(counter.calls, ['1'], 'one loadUser call for three guards, auto-load and two loadCurrentUser() calls')

  counter.calls.length = 0
  await send(app, jar, 'GET', '/busy')
  t.same(counter.calls, ['1'], 'and one again on the next request')

  const anon = await app.inject({ url: '/maybe', headers: { 'x-api-key': 'nope' } })
  t.same(anon.json(), { user: null })
  t.equal(requestLoader.calls, 1, 'an anonymous request asks the request loader once')

  counter.calls.length = 0
  const remembered = new CookieJar()
  await send(app, remembered, 'POST', '/login/2', { remember: true })
  remembered.cookies.delete('__Host-session')
  counter.calls.length = 0
  const restored = await send(app, remembered, 'GET', '/busy')
  t.equal(restored.statusCode, 401, 'a restored login is not fresh')
  t.same(counter.calls, ['2'], 'the remember-cookie restore also loads once')
})

/** buildApp with an async loadUser that records the ids it is called with. */
async function asyncLoaderApp (setup: (app: FastifyInstance) => void): Promise<{ app: FastifyInstance, calls: string[], users: Map<string, TestUser> }> {
  const users = makeUsers()
  const calls: string[] = []
  const { app } = await buildApp({
    loadUser: async (id) => {
      calls.push(id)
      await tick()
      return users.get(id) ?? null
    }
  }, setup)
  return { app, calls, users }
}

t.test('concurrent loadCurrentUser() calls share one async load', async (t) => {
  const { app, calls } = await asyncLoaderApp((app) => {
    app.get('/both', { config: { autoLoadUser: false } }, async (request) => {
      const [first, second] = await Promise.all([request.loadCurrentUser(), request.loadCurrentUser()])
      return { first, second, same: first === second && first === request.currentUser }
    })
  })
  t.teardown(() => app.close())
  const jar = new CookieJar()
  await send(app, jar, 'POST', '/login/1')

  calls.length = 0
  const res = await send(app, jar, 'GET', '/both')
  t.equal(res.statusCode, 200)
  t.same(res.json(), { first: { id: '1', name: 'alice' }, second: { id: '1', name: 'alice' }, same: true })
  t.same(calls, ['1'], 'the second call waited for the load in flight instead of starting another')
})

t.test('an async loader on a route that skips the auto-load: the guard waits for the load itself', async (t) => {
  const { app, calls, users } = await asyncLoaderApp((app) => {
    app.get('/guarded-raw', { config: { autoLoadUser: false }, preHandler: app.loginRequired }, async (request) => ({ user: request.currentUser }))
  })
  t.teardown(() => app.close())
  const jar = new CookieJar()
  await send(app, jar, 'POST', '/login/2')

  calls.length = 0
  const res = await send(app, jar, 'GET', '/guarded-raw')
  t.equal(res.statusCode, 200, 'the logged-in user passes once the loader has answered')
  t.same(res.json(), { user: { id: '2', name: 'bob' } })
  t.same(calls, ['2'])

  const anonymous = await app.inject({ url: '/guarded-raw' })
  t.equal(anonymous.statusCode, 401, 'an anonymous request is still refused')
  t.equal(anonymous.json().code, 'FST_LOGIN_UNAUTHORIZED')

  users.delete('2')
  const gone = await send(app, jar, 'GET', '/guarded-raw')
  t.equal(gone.statusCode, 401, 'the guard acts on what the async loader found, not on the session alone')
})

t.test('an app with only a request loader (API keys)', async (t) => {
  const users = makeUsers()
  const loader = apiKeyLoader(users)
  const { app } = await buildApp({ loadUser: undefined, loadUserFromRequest: loader.loadUserFromRequest })
  t.teardown(() => app.close())

  const res = await app.inject({ url: '/me', headers: { 'x-api-key': 'key-alice' } })
  t.same(res.json(), { user: { id: '1', name: 'alice' }, authenticated: true, fresh: false, remembered: false }, 'loaded, never fresh')
  t.equal(setCookie(res, '__Host-session'), undefined, 'nothing written to the session')
  t.equal(setCookie(res, '__Host-remember_token'), undefined)

  const priv = await app.inject({ url: '/private', headers: { 'x-api-key': 'key-bob' } })
  t.equal(priv.statusCode, 200)
  t.same(priv.json(), { name: 'bob' })

  t.equal((await app.inject({ url: '/private' })).statusCode, 401, 'no key')
  t.equal((await app.inject({ url: '/private', headers: { 'x-api-key': 'key-mallory' } })).statusCode, 401, 'unknown key')
  t.equal((await app.inject({ url: '/private', headers: { 'x-api-key': 'key-carol' } })).statusCode, 401, 'an inactive user is not loaded')
  t.equal((await app.inject({ url: '/fresh', headers: { 'x-api-key': 'key-alice' } })).statusCode, 401, 'freshLoginRequired needs a session login')

  const jar = new CookieJar()
  await send(app, jar, 'GET', '/me', undefined, { 'x-api-key': 'key-alice' })
  t.same(await me(app, jar), ANONYMOUS, 'the key does not stick: the next request without it is anonymous')

  // Nothing could load a session login on the next request: reply.login() says so instead of storing one.
  const login = await send(app, jar, 'POST', '/login/1')
  t.equal(login.statusCode, 500)
  t.same(login.json(), {
    statusCode: 500,
    code: 'FST_LOGIN_INVALID_USER',
    error: 'Internal Server Error',
    message: 'fastify-login: reply.login() needs the loadUser option, to load the user on later requests'
  })
  t.equal(setCookie(login, '__Host-session'), undefined, 'no session written')
  t.same(await me(app, jar), ANONYMOUS, 'still anonymous')
})

t.test('the request loader is not used when the session has a user', async (t) => {
  const users = makeUsers()
  const loader = apiKeyLoader(users)
  const { app } = await buildApp({ loadUser: (id) => users.get(id) ?? null, loadUserFromRequest: loader.loadUserFromRequest })
  t.teardown(() => app.close())
  const jar = new CookieJar()
  await send(app, jar, 'POST', '/login/1')
  loader.calls = 0

  t.match(await me(app, jar, { 'x-api-key': 'key-bob' }), { user: { name: 'alice' }, authenticated: true, fresh: true })
  t.equal(loader.calls, 0, 'the request loader was not asked')

  await send(app, jar, 'POST', '/logout')
  loader.calls = 0
  t.match(await me(app, jar, { 'x-api-key': 'key-bob' }), { user: { name: 'bob' }, authenticated: true, fresh: false }, 'after logout the key is used')
  t.equal(loader.calls, 1)
})

t.test('the request loader is not used when the remember cookie restores a user', async (t) => {
  const users = makeUsers()
  const loader = apiKeyLoader(users)
  const { app } = await buildApp({ loadUser: (id) => users.get(id) ?? null, loadUserFromRequest: loader.loadUserFromRequest })
  t.teardown(() => app.close())
  const jar = new CookieJar()
  await send(app, jar, 'POST', '/login/1', { remember: true })
  jar.cookies.delete('__Host-session')
  loader.calls = 0

  t.match(await me(app, jar, { 'x-api-key': 'key-bob' }), { user: { name: 'alice' }, remembered: true })
  t.equal(loader.calls, 0)
})

t.test('the request loader is still tried when the remember cookie is invalid', async (t) => {
  const users = makeUsers()
  const loader = apiKeyLoader(users)
  const { app } = await buildApp({ loadUser: (id) => users.get(id) ?? null, loadUserFromRequest: loader.loadUserFromRequest })
  t.teardown(() => app.close())

  const valid = new CookieJar()
  await send(app, valid, 'POST', '/login/1', { remember: true })
  const token = valid.cookies.get('__Host-remember_token') as string
  const tampered = token.slice(0, -2) + (token.endsWith('AA') ? 'BB' : 'AA')

  for (const [label, value] of [['garbage', 'foo'], ['tampered', tampered], ['empty', '']] as const) {
    loader.calls = 0
    const res = await app.inject({
      url: '/me',
      headers: { 'x-api-key': 'key-bob', cookie: `__Host-remember_token=${value}` }
    })
    t.equal(res.statusCode, 200)
    t.same(res.json(), { user: { id: '2', name: 'bob' }, authenticated: true, fresh: false, remembered: false }, `${label} cookie: loaded from the request`)
    t.equal(loader.calls, 1, `${label}: request loader asked`)
    t.equal(setCookie(res, '__Host-remember_token')?.maxAge, 0, `${label}: the bad cookie is cleared`)
    t.equal(setCookie(res, '__Host-session'), undefined, `${label}: no session written`)
  }
})

t.test('a user deactivated after the login is anonymous on the next request', async (t) => {
  const { app, users } = await buildApp()
  t.teardown(() => app.close())
  const jar = new CookieJar()
  await send(app, jar, 'POST', '/login/2', { remember: true })
  t.match(await me(app, jar), { user: { name: 'bob' }, authenticated: true })

  const bob = users.get('2') as TestUser
  bob.isActive = false
  const res = await send(app, jar, 'GET', '/me')
  t.match(res.json(), NOT_LOGGED_IN, 'anonymous')
  t.equal(setCookie(res, '__Host-remember_token')?.maxAge, 0, 'the remember cookie cannot restore the login either: it is cleared')
  t.equal((await send(app, jar, 'GET', '/private')).statusCode, 401)

  bob.isActive = true
  t.same(await me(app, jar), ANONYMOUS, 'reactivating does not revive the ended login')
})

t.test('a user deactivated while only remembered is not restored', async (t) => {
  const { app, users } = await buildApp()
  t.teardown(() => app.close())
  const jar = new CookieJar()
  await send(app, jar, 'POST', '/login/2', { remember: true })
  jar.cookies.delete('__Host-session')
  const bob = users.get('2') as TestUser
  bob.isActive = false

  const res = await send(app, jar, 'GET', '/me')
  t.match(res.json(), NOT_LOGGED_IN)
  t.equal(setCookie(res, '__Host-remember_token')?.maxAge, 0)
  t.equal(setCookie(res, '__Host-session'), undefined, 'no session created for the refused restore')
  bob.isActive = true
  t.same(await me(app, jar), ANONYMOUS, 'the cleared cookie is gone for good')
})

t.test('loginRemembered() is false on a request whose remember cookie was refused', async (t) => {
  const { app, users } = await buildApp()
  t.teardown(() => app.close())
  const login = await app.inject({ method: 'POST', url: '/login/2', payload: { remember: true } })
  const cookie = `__Host-remember_token=${setCookie(login, '__Host-remember_token')?.value as string}`
  const bob = users.get('2') as TestUser

  bob.isActive = false
  const inactive = await app.inject({ url: '/me', headers: { cookie } })
  t.same(inactive.json(), ANONYMOUS, 'inactive user: anonymous, and not remembered')

  users.delete('2')
  const gone = await app.inject({ url: '/me', headers: { cookie } })
  t.same(gone.json(), ANONYMOUS, 'gone user: anonymous, and not remembered')
})

t.test('the anonymousUser option is the currentUser of anonymous requests', async (t) => {
  const guests: string[] = []
  const anonymousUser = ((request: FastifyRequest) => {
    guests.push(request.url)
    return { name: 'guest', anonymous: true }
  }) as unknown as FastifyLoginOptions['anonymousUser']
  const { app } = await buildApp({ anonymousUser }, (app) => {
    app.post('/logout-and-show', async (request, reply) => {
      await reply.logout()
      return { user: request.currentUser, authenticated: request.isAuthenticated() }
    })
  })
  t.teardown(() => app.close())
  const jar = new CookieJar()

  t.same(await me(app, jar), { user: { name: 'guest', anonymous: true }, authenticated: false, fresh: false, remembered: false })
  t.ok(guests.includes('/me'), 'built for the request')
  const priv = await send(app, jar, 'GET', '/private')
  t.equal(priv.statusCode, 401, 'the anonymous value is not a login')

  await send(app, jar, 'POST', '/login/1')
  t.match(await me(app, jar), { user: { name: 'alice' }, authenticated: true })
  const out = await send(app, jar, 'POST', '/logout-and-show')
  t.same(out.json(), { user: { name: 'guest', anonymous: true }, authenticated: false }, 'after logout, in the same request')
  t.same(await me(app, jar), { user: { name: 'guest', anonymous: true }, authenticated: false, fresh: false, remembered: false })
})

t.test('custom getUserId and isUserActive', async (t) => {
  interface Account { uid: string, label: string, disabled?: boolean }
  const accounts = new Map<string, Account>([
    ['u-1', { uid: 'u-1', label: 'first' }],
    ['u-2', { uid: 'u-2', label: 'second', disabled: true }]
  ])
  const { app } = await buildApp({
    loadUser: (id) => accounts.get(id) ?? null,
    getUserId: (user) => (user as Account).uid,
    isUserActive: (user) => (user as Account).disabled !== true
  }, (app) => {
    app.post<{ Params: { uid: string } }>('/login-account/:uid', async (request, reply) => {
      const account = accounts.get(request.params.uid)
      if (account === undefined) return reply.code(404).send({ ok: false })
      return { ok: await reply.login(account) }
    })
  })
  t.teardown(() => app.close())

  const jar = new CookieJar()
  t.same((await send(app, jar, 'POST', '/login-account/u-1')).json(), { ok: true })
  t.same(await me(app, jar), { user: { uid: 'u-1', label: 'first' }, authenticated: true, fresh: true, remembered: false }, 'stored and loaded by uid')

  const refused = new CookieJar()
  const res = await send(app, refused, 'POST', '/login-account/u-2')
  t.same(res.json(), { ok: false }, 'isUserActive refuses the disabled account')
  t.equal(setCookie(res, '__Host-session'), undefined)
  t.same(await me(app, refused), ANONYMOUS)

  const first = accounts.get('u-1') as Account
  first.disabled = true
  t.same(await me(app, jar), ANONYMOUS, 'isUserActive is checked on every load')
})

t.test('autoLoadUser: false', async (t) => {
  const users = makeUsers()
  const counter = countingLoader(users)
  const { app } = await buildApp({ loadUser: counter.loadUser, autoLoadUser: false }, (app) => {
    app.get('/explicit', async (request) => {
      const user = await request.loadCurrentUser()
      return { user, authenticated: request.isAuthenticated() }
    })
    app.get('/wanted', { config: { autoLoadUser: true } }, async (request) => ({ user: request.currentUser }))
  })
  t.teardown(() => app.close())
  const jar = new CookieJar()
  await send(app, jar, 'POST', '/login/1')

  counter.calls.length = 0
  t.same(await me(app, jar), ANONYMOUS, 'a plain route does not load the user')
  t.same(counter.calls, [], 'loader not called')

  const priv = await send(app, jar, 'GET', '/private')
  t.equal(priv.statusCode, 200, 'guards still load the user')
  t.same(priv.json(), { name: 'alice' })
  t.same(counter.calls, ['1'])

  counter.calls.length = 0
  t.same((await send(app, jar, 'GET', '/explicit')).json(), { user: { id: '1', name: 'alice' }, authenticated: true }, 'loadCurrentUser() loads on demand')
  t.same(counter.calls, ['1'])

  counter.calls.length = 0
  t.same((await send(app, jar, 'GET', '/wanted')).json(), { user: { id: '1', name: 'alice' } }, 'a route can opt back in')
  t.same(counter.calls, ['1'])
})

t.test('route config { autoLoadUser: false } skips the loader for that route', async (t) => {
  const users = makeUsers()
  const counter = countingLoader(users)
  const { app } = await buildApp({ loadUser: counter.loadUser }, (app) => {
    app.get('/health', { config: { autoLoadUser: false } }, async (request) => ({ user: request.currentUser, authenticated: request.isAuthenticated() }))
    app.get('/guarded-raw', { config: { autoLoadUser: false }, preHandler: app.loginRequired }, async (request) => ({ user: request.currentUser }))
  })
  t.teardown(() => app.close())
  const jar = new CookieJar()
  await send(app, jar, 'POST', '/login/1')

  counter.calls.length = 0
  const res = await send(app, jar, 'GET', '/health')
  t.same(res.json(), { user: null, authenticated: false })
  t.same(counter.calls, [], 'loader not called')

  t.match(await me(app, jar), { user: { name: 'alice' } }, 'other routes still load')
  t.same(counter.calls, ['1'])

  counter.calls.length = 0
  const guarded = await send(app, jar, 'GET', '/guarded-raw')
  t.equal(guarded.statusCode, 200, 'a guard on such a route still loads')
  t.same(guarded.json(), { user: { id: '1', name: 'alice' } })
  t.same(counter.calls, ['1'])
  t.equal((await app.inject({ url: '/guarded-raw' })).statusCode, 401)
})

t.test("a non-ASCII id ('佐藤') round-trips", async (t) => {
  const users = makeUsers()
  const counter = countingLoader(users)
  const { app } = await buildApp({ loadUser: counter.loadUser })
  t.teardown(() => app.close())
  const jar = new CookieJar()

  const login = await send(app, jar, 'POST', `/login/${encodeURIComponent('佐藤')}`, { remember: true })
  t.same(login.json(), { ok: true })
  counter.calls.length = 0
  t.same(await me(app, jar), { user: { id: '佐藤', name: 'sato' }, authenticated: true, fresh: true, remembered: true }, 'through the session')
  t.same(counter.calls, ['佐藤'], 'loadUser gets the exact id')

  jar.cookies.delete('__Host-session')
  counter.calls.length = 0
  t.same(await me(app, jar), { user: { id: '佐藤', name: 'sato' }, authenticated: true, fresh: false, remembered: true }, 'through the remember cookie')
  t.same(counter.calls, ['佐藤'])
  t.match(await me(app, jar), { user: { id: '佐藤' } }, 'and through the restored session')
})
