import t from 'tap'
import type { FastifyInstance, FastifyServerOptions, InjectOptions, LightMyRequestResponse } from 'fastify'
import type { FastifyLoginOptions, LoginEvent } from '../lib/index.js'
import { rememberCookie } from '../lib/testing/index.js'
import { buildApp, CookieJar, setCookie, type MeBody, type TestUser } from './helpers.js'

interface Client {
  /** An undefined value leaves the header out (a User-Agent included: inject sends one otherwise). */
  headers?: Record<string, string | undefined>
  remoteAddress?: string
}

const OTHER_BROWSER = { headers: { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Other/1.0' } }

/** The session as an untyped key/value store (its typed keys belong to other plugins). */
interface AnySession {
  get: (key: string) => unknown
  set: (key: string, value: unknown) => void
}

/** Adds POST /cart (stores body.item in the session) and GET /cart (reads it back). */
function cartRoutes (app: FastifyInstance): void {
  app.post<{ Body: { item: string } }>('/cart', async (request) => {
    (request.session as unknown as AnySession).set('cart', request.body.item)
    return { ok: true }
  })
  app.get('/cart', async (request) => ({ cart: (request.session as unknown as AnySession).get('cart') ?? null, user: request.currentUser }))
}

/** An app plus a record of its sessionProtected events. */
async function protectedApp (options: Partial<FastifyLoginOptions> = {}, serverOptions: FastifyServerOptions = {}, routes?: (app: FastifyInstance) => void) {
  const built = await buildApp(options, (app) => {
    cartRoutes(app)
    routes?.(app)
  }, serverOptions)
  const events: LoginEvent[] = []
  built.app.loginEvents.on('sessionProtected', (event: LoginEvent) => events.push(event))
  return { ...built, events }
}

function inject (app: FastifyInstance, jar: CookieJar, options: InjectOptions, client: Client = {}): Promise<LightMyRequestResponse> {
  return app.inject({
    ...options,
    ...(client.remoteAddress === undefined ? {} : { remoteAddress: client.remoteAddress }),
    headers: { ...client.headers, ...options.headers, cookie: jar.header() }
  })
}

/** Logs user `id` in from `client` and returns the jar. */
async function loggedIn (app: FastifyInstance, id: string, body: Record<string, unknown> = {}, client: Client = {}): Promise<CookieJar> {
  const jar = new CookieJar()
  const res = await inject(app, jar, { method: 'POST', url: `/login/${id}`, payload: body }, client)
  if (res.statusCode !== 200) throw new Error(`login failed: ${res.statusCode} ${res.body}`)
  return jar.store(res)
}

/** GET /me from `client` with the jar's cookies; stores what the response sets. */
async function me (app: FastifyInstance, jar: CookieJar, client: Client = {}): Promise<{ res: LightMyRequestResponse, body: MeBody }> {
  const res = await inject(app, jar, { url: '/me' }, client)
  jar.store(res)
  return { res, body: res.json<MeBody>() }
}

/** A new client: a phone on another network. */
const PHONE: Client = { headers: { 'user-agent': 'Phone/2.0' }, remoteAddress: '192.0.2.10' }

/** A jar holding only `user`'s remember-me cookie (its session is gone), issued to PHONE. */
async function rememberedJar (app: FastifyInstance, user: TestUser): Promise<CookieJar> {
  const jar = new CookieJar()
  const [name, value] = (await rememberCookie(app, user, { ip: '192.0.2.10', userAgent: 'Phone/2.0' })).split('=') as [string, string]
  jar.cookies.set(name, value)
  return jar
}

t.test('successive requests from the same client keep the fresh login', async (t) => {
  const { app, events } = await protectedApp({ sessionProtection: 'strong' })
  t.teardown(() => app.close())
  const jar = await loggedIn(app, '1', { remember: true })

  for (let i = 1; i <= 3; i++) {
    const { res, body } = await me(app, jar)
    t.same(body, { user: { id: '1', name: 'alice' }, authenticated: true, fresh: true, remembered: true }, `request ${i}`)
    t.equal(setCookie(res, '__Host-remember_token'), undefined, `request ${i}: remember cookie left alone`)
  }
  const fresh = await inject(app, jar, { url: '/fresh' })
  t.equal(fresh.statusCode, 200)
  t.equal(events.length, 0, 'no sessionProtected event')
})

t.test('basic (default): a User-Agent change keeps the user but ends freshness', async (t) => {
  const { app, events } = await protectedApp()
  t.teardown(() => app.close())
  const jar = await loggedIn(app, '1')

  const changed = await me(app, jar, OTHER_BROWSER)
  t.same(changed.body, { user: { id: '1', name: 'alice' }, authenticated: true, fresh: false, remembered: false })
  t.equal(events.length, 1, 'sessionProtected fired')
  t.same(events[0]?.user, { id: '1', name: 'alice' }, 'with the user')
  t.equal(events[0]?.via, 'session', 'via the session')
  t.equal(events[0]?.request.headers['user-agent'], OTHER_BROWSER.headers['user-agent'], 'and the request')

  for (let i = 1; i <= 2; i++) {
    const later = await me(app, jar, OTHER_BROWSER)
    t.equal(later.body.authenticated, true, `later request ${i}: still logged in`)
    t.equal(later.body.fresh, false, `later request ${i}: still not fresh`)
  }
  t.equal(events.length, 1, 'the event fired once, not on every later request')

  const fresh = await inject(app, jar, { url: '/fresh' }, OTHER_BROWSER)
  t.equal(fresh.statusCode, 401, 'freshLoginRequired refuses the changed client')
  const priv = await inject(app, jar, { url: '/private' }, OTHER_BROWSER)
  t.equal(priv.statusCode, 200, 'loginRequired still passes')
})

t.test('strong: a User-Agent change drops the login and the remember cookie, keeps other session data', async (t) => {
  const { app, events } = await protectedApp({ sessionProtection: 'strong' })
  t.teardown(() => app.close())
  const jar = await loggedIn(app, '1', { remember: true })
  const cart = await inject(app, jar, { method: 'POST', url: '/cart', payload: { item: 'apples' } })
  t.equal(cart.statusCode, 200)
  jar.store(cart)
  t.ok(jar.cookies.has('__Host-remember_token'))

  const changed = await me(app, jar, OTHER_BROWSER)
  t.equal(changed.res.statusCode, 200)
  t.same(changed.body, { user: null, authenticated: false, fresh: false, remembered: false },
    'anonymous, though the request carried a valid remember cookie')
  const cleared = setCookie(changed.res, '__Host-remember_token')
  t.equal(cleared?.maxAge, 0, 'the remember cookie is cleared (Max-Age=0)')
  t.equal(cleared?.value, '')
  t.equal(events.length, 1, 'sessionProtected fired')
  t.equal(events[0]?.user, null, 'with the anonymous user')
  t.equal(events[0]?.via, 'session', 'via the session')
  t.notOk(jar.cookies.has('__Host-remember_token'), 'the browser drops the remember cookie')

  const after = await inject(app, jar, { url: '/cart' }, OTHER_BROWSER)
  t.same(after.json(), { cart: 'apples', user: null }, 'the cart survives, the login does not')
  const back = await me(app, jar)
  t.equal(back.body.authenticated, false, 'returning to the first browser does not bring the login back')
  const priv = await inject(app, jar, { url: '/private' })
  t.equal(priv.statusCode, 401)
})

t.test('strong: a login restored from the remember cookie survives its next request (Flask-Login #685)', async (t) => {
  const { app, users, events } = await protectedApp({ sessionProtection: 'strong' })
  t.teardown(() => app.close())
  const jar = await rememberedJar(app, users.get('1') as TestUser)

  const restored = await me(app, jar, PHONE)
  t.equal(restored.body.authenticated, true, 'restored')
  t.equal(restored.body.fresh, false)
  t.ok(jar.cookies.has('__Host-session'), 'a session cookie was set')

  for (let i = 1; i <= 2; i++) {
    const next = await me(app, jar, PHONE)
    t.equal(next.body.authenticated, true, `next request ${i}: still logged in`)
    t.equal(setCookie(next.res, '__Host-remember_token'), undefined, `next request ${i}: remember cookie kept`)
  }
  t.equal(events.length, 0, 'protection did not trigger')

  const elsewhere = await me(app, jar, OTHER_BROWSER)
  t.equal(elsewhere.body.authenticated, false, 'control: another client still loses the login')
  t.equal(events.length, 1)
})

t.test('sessionProtection: false ignores client changes', async (t) => {
  const { app, events } = await protectedApp({ sessionProtection: false })
  t.teardown(() => app.close())
  const jar = await loggedIn(app, '1', { remember: true })

  const ua = await me(app, jar, OTHER_BROWSER)
  t.same(ua.body, { user: { id: '1', name: 'alice' }, authenticated: true, fresh: true, remembered: true }, 'User-Agent change')
  t.equal(setCookie(ua.res, '__Host-remember_token'), undefined)
  const ip = await me(app, jar, { remoteAddress: '198.51.100.20' })
  t.equal(ip.body.authenticated, true, 'address change')
  t.equal(ip.body.fresh, true)
  t.equal(events.length, 0)
})

t.test('strong: a remember cookie replayed from another address or browser restores nothing and is cleared', async (t) => {
  const { app, events } = await protectedApp({ sessionProtection: 'strong' })
  t.teardown(() => app.close())
  // The victim logs in with remember-me on their phone; the thief copies only the remember cookie.
  const victim = new CookieJar().store(await inject(app, new CookieJar(), { method: 'POST', url: '/login/1', payload: { remember: true } }, PHONE))
  const stolen = new CookieJar()
  stolen.cookies.set('__Host-remember_token', victim.cookies.get('__Host-remember_token') as string)

  for (const [label, thief] of [['another browser', { ...PHONE, headers: OTHER_BROWSER.headers }], ['another address', { ...PHONE, remoteAddress: '198.51.100.7' }]] as const) {
    const jar = new CookieJar()
    jar.cookies.set('__Host-remember_token', stolen.cookies.get('__Host-remember_token') as string)
    const res = await me(app, jar, thief)
    t.equal(res.body.authenticated, false, `${label}: not restored`)
    t.equal(setCookie(res.res, '__Host-remember_token')?.maxAge, 0, `${label}: the remember cookie is cleared`)
    t.equal(setCookie(res.res, '__Host-session'), undefined, `${label}: no session is created`)
  }
  t.equal(events.length, 2, 'sessionProtected fired for each replay')
  t.same(events.map((event) => [event.via, event.user]), [['remember', null], ['remember', null]], 'via the remember cookie, anonymous')

  const own = new CookieJar()
  own.cookies.set('__Host-remember_token', victim.cookies.get('__Host-remember_token') as string)
  const home = await me(app, own, PHONE)
  t.equal(home.body.authenticated, true, 'control: the client it was issued to still restores the login')
  t.equal(home.body.fresh, false)
})

t.test('strong: a remember token issued without a client binding (basic mode) is refused', async (t) => {
  const basic = await protectedApp({ sessionProtection: 'basic' })
  t.teardown(() => basic.app.close())
  const token = new CookieJar().store(await inject(basic.app, new CookieJar(), { method: 'POST', url: '/login/1', payload: { remember: true } }, PHONE))
  // The same keys under strong protection (an app that switched modes).
  const strong = await protectedApp({ sessionProtection: 'strong' })
  t.teardown(() => strong.app.close())
  const jar = new CookieJar()
  jar.cookies.set('__Host-remember_token', token.cookies.get('__Host-remember_token') as string)
  const res = await me(strong.app, jar, PHONE)
  t.equal(res.body.authenticated, false, 'an unbound token cannot prove which client it belongs to')
  t.equal(setCookie(res.res, '__Host-remember_token')?.maxAge, 0)
})

t.test('basic: a remember cookie from another client still restores the login, not fresh', async (t) => {
  const { app, users } = await protectedApp({ sessionProtection: 'basic' })
  t.teardown(() => app.close())
  const jar = await rememberedJar(app, users.get('1') as TestUser)
  const res = await me(app, jar, OTHER_BROWSER)
  t.equal(res.body.authenticated, true)
  t.equal(res.body.fresh, false)
})

t.test('sessionProtection: false: a login restored from the remember cookie is not bound to the client either', async (t) => {
  const { app, users, events } = await protectedApp({ sessionProtection: false }, {}, (app) => {
    app.get('/client-hash', async (request) => ({ stored: (request.session as unknown as AnySession).get('_id') ?? null }))
  })
  t.teardown(() => app.close())
  const jar = await rememberedJar(app, users.get('1') as TestUser)

  const restored = await me(app, jar, PHONE)
  t.same(restored.body, { user: { id: '1', name: 'alice' }, authenticated: true, fresh: false, remembered: true }, 'restored, not fresh')
  t.ok(setCookie(restored.res, '__Host-session'), 'into a new session')
  const hash = await inject(app, jar, { url: '/client-hash' }, PHONE)
  t.same(hash.json(), { stored: null }, 'the session keeps no hash of the address and User-Agent')

  const confirm = await inject(app, jar, { method: 'POST', url: '/confirm' }, PHONE)
  t.same(confirm.json(), { confirmed: true })
  jar.store(confirm)
  const moved = await me(app, jar, OTHER_BROWSER)
  t.same(moved.body, { user: { id: '1', name: 'alice' }, authenticated: true, fresh: true, remembered: true }, 'another browser and address: still logged in and fresh')
  t.equal(setCookie(moved.res, '__Host-remember_token'), undefined, 'the remember cookie is left alone')
  t.equal(events.length, 0, 'no sessionProtected event')
})

t.test('a client that sends no User-Agent', async (t) => {
  const bare: Client = { headers: { 'user-agent': undefined } }

  t.test('basic: keeps its fresh login; a User-Agent appearing later is a client change', async (t) => {
    const { app, events } = await protectedApp()
    t.teardown(() => app.close())
    const jar = await loggedIn(app, '1', {}, bare)

    for (let i = 1; i <= 2; i++) {
      const again = await me(app, jar, bare)
      t.same(again.body, { user: { id: '1', name: 'alice' }, authenticated: true, fresh: true, remembered: false }, `request ${i} without User-Agent: fresh`)
    }
    t.equal(events.length, 0)

    // inject's default User-Agent ('lightMyRequest'): also shows that the requests above really sent none.
    const withAgent = await me(app, jar)
    t.same(withAgent.body, { user: { id: '1', name: 'alice' }, authenticated: true, fresh: false, remembered: false }, 'then with a User-Agent: not fresh')
    t.equal(events.length, 1, 'sessionProtected fired')
  })

  t.test('strong: a User-Agent appearing later drops the login', async (t) => {
    const { app, events } = await protectedApp({ sessionProtection: 'strong' })
    t.teardown(() => app.close())
    const jar = await loggedIn(app, '1', { remember: true }, bare)

    t.equal((await me(app, jar, bare)).body.authenticated, true, 'control: logged in without User-Agent')
    const withAgent = await me(app, jar, OTHER_BROWSER)
    t.equal(withAgent.body.authenticated, false)
    t.equal(setCookie(withAgent.res, '__Host-remember_token')?.maxAge, 0, 'the remember cookie is cleared')
    t.equal(events.length, 1)
  })
})

t.test('an address change (remoteAddress) is a client change', async (t) => {
  t.test('basic: not fresh any more', async (t) => {
    const { app, events } = await protectedApp()
    t.teardown(() => app.close())
    const jar = await loggedIn(app, '1')

    const same = await me(app, jar)
    t.equal(same.body.fresh, true, 'control: same address stays fresh')
    const moved = await me(app, jar, { remoteAddress: '198.51.100.20' })
    t.equal(moved.body.authenticated, true)
    t.equal(moved.body.fresh, false)
    t.equal(events.length, 1)
  })

  t.test('strong: logged out', async (t) => {
    const { app, events } = await protectedApp({ sessionProtection: 'strong' })
    t.teardown(() => app.close())
    const jar = await loggedIn(app, '1', { remember: true })

    const moved = await me(app, jar, { remoteAddress: '198.51.100.20' })
    t.equal(moved.body.authenticated, false)
    t.equal(setCookie(moved.res, '__Host-remember_token')?.maxAge, 0)
    t.equal(events.length, 1)
  })
})

t.test('X-Forwarded-For counts only when Fastify trusts the proxy', async (t) => {
  const proxyA: Client = { headers: { 'x-forwarded-for': '203.0.113.7' } }
  const proxyB: Client = { headers: { 'x-forwarded-for': '198.51.100.99' } }

  t.test('trustProxy: false: a spoofed header does not change the identifier', async (t) => {
    const { app, events } = await protectedApp({ sessionProtection: 'strong' }, { trustProxy: false })
    t.teardown(() => app.close())
    const jar = await loggedIn(app, '1', {}, proxyA)

    const spoofed = await me(app, jar, proxyB)
    t.same(spoofed.body, { user: { id: '1', name: 'alice' }, authenticated: true, fresh: true, remembered: false })
    const none = await me(app, jar)
    t.equal(none.body.authenticated, true, 'nor does dropping it')
    t.equal(events.length, 0, 'no protection triggered')
  })

  t.test('trustProxy: true: the forwarded address is the client address', async (t) => {
    const { app, events } = await protectedApp({ sessionProtection: 'strong' }, { trustProxy: true })
    t.teardown(() => app.close())
    const jar = await loggedIn(app, '1', {}, proxyA)

    const same = await me(app, jar, proxyA)
    t.equal(same.body.authenticated, true, 'control: the same forwarded address keeps the login')
    t.equal(events.length, 0)
    const moved = await me(app, jar, proxyB)
    t.equal(moved.body.authenticated, false, 'another forwarded address drops it')
    t.equal(events.length, 1)
  })
})
