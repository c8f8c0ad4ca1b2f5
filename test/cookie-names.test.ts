import t from 'tap'
import type { FastifyLoginOptions } from '../lib/index.js'
import { authenticate, buildApp, login, loggedIn, rejectsOption, send, setCookie, TEST_KEY } from './helpers.js'

/*
 * Cookie names carry the `__Host-` prefix while the cookie is Secure, has
 * Path=/ and no Domain: the browser then takes the cookie only from this very
 * host, so a sibling subdomain cannot plant one that shadows ours. Every
 * cookie of the plugin follows one set of attribute rules.
 */

const loose = (options: unknown): FastifyLoginOptions => options as FastifyLoginOptions
const base = { session: { key: TEST_KEY }, loadUser: () => null }
const SECRET = 'cookie-names-test-secret-0123456789abcdef'

t.test('default names carry __Host- on every cookie, with the attributes that allow it', async (t) => {
  const { app } = await buildApp({ jwt: { secret: SECRET, authenticate, locations: ['headers', 'cookies'] } })
  t.teardown(() => app.close())
  const session = await login(app, '1', { remember: true })
  const auth = await app.inject({ method: 'POST', url: '/auth', payload: { username: 'alice', password: 'correct horse' } })
  const names = ['__Host-session', '__Host-remember_token', '__Host-access_token_cookie', '__Host-refresh_token_cookie', '__Host-csrf_access_token', '__Host-csrf_refresh_token']
  for (const name of names) {
    const cookie = setCookie(name.includes('token_cookie') || name.includes('csrf') ? auth : session, name)
    t.ok(cookie, `${name} is set`)
    t.equal(cookie?.secure, true, `${name}: Secure`)
    t.equal(cookie?.path, '/', `${name}: Path=/`)
    t.equal(cookie?.domain, undefined, `${name}: no Domain`)
  }
})

t.test('plain names when the attributes do not allow the prefix', async (t) => {
  const cases: Array<[string, Partial<FastifyLoginOptions>, string, string]> = [
    ['session secure: false', { session: { key: TEST_KEY, cookie: { secure: false } } }, 'session', '__Host-remember_token'],
    ['session with a domain', { session: { key: TEST_KEY, cookie: { domain: 'app.example' } } }, 'session', '__Host-remember_token'],
    ['session on another path', { session: { key: TEST_KEY, cookie: { path: '/app' } } }, 'session', '__Host-remember_token'],
    ['remember secure: false', { rememberMe: { secure: false } }, '__Host-session', 'remember_token'],
    ['remember with a domain', { rememberMe: { domain: 'app.example' } }, '__Host-session', 'remember_token']
  ]
  for (const [label, options, sessionName, rememberName] of cases) {
    const { app } = await buildApp(options)
    const res = await login(app, '1', { remember: true })
    t.ok(setCookie(res, sessionName), `${label}: session cookie ${sessionName}`)
    t.ok(setCookie(res, rememberName), `${label}: remember cookie ${rememberName}`)
    await app.close()
  }
  const { app } = await buildApp({ session: false, loadUser: undefined, rememberMe: undefined, jwt: { secret: SECRET, authenticate, loadUserFromClaims: () => ({ id: '1', name: 'alice' }), locations: ['cookies'], cookies: { secure: false } } })
  t.teardown(() => app.close())
  const auth = await app.inject({ method: 'POST', url: '/auth', payload: { username: 'alice', password: 'correct horse' } })
  t.ok(setCookie(auth, 'access_token_cookie'), 'jwt cookies with secure: false: plain names')
})

t.test('a planted cookie of the plain name cannot shadow the login cookie', async (t) => {
  const { app } = await buildApp()
  t.teardown(() => app.close())
  const victim = await loggedIn(app, '1')
  const attacker = await loggedIn(app, '2')
  // A sibling subdomain can set `session=` for the parent domain, never `__Host-session=`.
  const planted = `session=${encodeURIComponent(attacker.cookies.get('__Host-session') as string)}`
  const res = await app.inject({ url: '/me', headers: { cookie: `${planted}; ${victim.header()}` } })
  t.equal(res.json().user.name, 'alice', 'the victim stays in their own session')
})

t.test('one set of attribute rules for every cookie', async (t) => {
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ["session sameSite 'none' without secure", { session: { key: TEST_KEY, cookie: { sameSite: 'none', secure: false } } }, /session\.cookie\.sameSite 'none' needs session\.cookie\.secure/],
    ["remember sameSite 'none' without secure", { rememberMe: { sameSite: 'none', secure: false } }, /rememberMe\.sameSite 'none' needs rememberMe\.secure/],
    ["jwt sameSite 'none' without secure", { jwt: { secret: SECRET, authenticate, locations: ['cookies'], cookies: { sameSite: 'none', secure: false } } }, /jwt\.cookies\.sameSite 'none' needs jwt\.cookies\.secure/],
    ['session path without /', { session: { key: TEST_KEY, cookie: { path: 'foo' } } }, /session\.cookie\.path must start with \//],
    ['remember path without /', { rememberMe: { path: 'foo' } }, /rememberMe\.path must start with \//],
    ['jwt path without /', { jwt: { secret: SECRET, authenticate, locations: ['cookies'], cookies: { path: 'foo' } } }, /jwt\.cookies\.path must start with \//],
    ['a path with a semicolon', { rememberMe: { path: '/a;b' } }, /rememberMe\.path must start with \/ and hold no spaces/],
    ['a domain with a space', { session: { key: TEST_KEY, cookie: { domain: 'a b' } } }, /session\.cookie\.domain must hold no spaces/],
    ['sameSite not a known value', { session: { key: TEST_KEY, cookie: { sameSite: true } } }, /session\.cookie\.sameSite must be 'lax', 'strict' or 'none'/],
    ['secure not a boolean', { jwt: { secret: SECRET, authenticate, locations: ['cookies'], cookies: { secure: 'yes' } } }, /jwt\.cookies\.secure must be a boolean/],
    ['httpOnly not a boolean', { session: { key: TEST_KEY, cookie: { httpOnly: 'no' } } }, /session\.cookie\.httpOnly must be a boolean/],
    ['a __Host- name with a domain', { session: { key: TEST_KEY, cookieName: '__Host-sid', cookie: { domain: 'app.example' } } }, /session\.cookieName: a __Host- cookie must be secure, with path \/ and no domain/],
    ['a __Host- name on another path', { rememberMe: { cookieName: '__Host-rm', path: '/app' } }, /rememberMe\.cookieName: a __Host- cookie must be secure/],
    ['a __Secure- name without secure', { jwt: { secret: SECRET, authenticate, locations: ['cookies'], cookies: { secure: false, accessCookieName: '__Secure-at' } } }, /jwt\.cookies\.accessCookieName: a __Secure- cookie must be secure/],
    ['session.cookie not an object', { session: { key: TEST_KEY, cookie: 'secure' } }, /session\.cookie must be an object/]
  ]
  for (const [label, options, message] of cases) {
    await rejectsOption(t, loose({ ...base, ...options }), message, { message: label })
  }
})

t.test('explicit names that fit their attributes are used as given', async (t) => {
  const { app } = await buildApp({ session: { key: TEST_KEY, cookieName: '__Host-sid' }, rememberMe: { cookieName: 'keep', secure: false } })
  t.teardown(() => app.close())
  const res = await login(app, '1', { remember: true })
  t.ok(setCookie(res, '__Host-sid'))
  t.ok(setCookie(res, 'keep'))
  const jar = await loggedIn(app, '1')
  t.equal((await send(app, jar, 'GET', '/private')).statusCode, 200)
})
