import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { STATUS_CODES } from 'node:http'
import { createServer, type AddressInfo } from 'node:net'
import { resolve } from 'node:path'
import t from 'tap'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { BROWSER_ACCEPT, CookieJar, fakeClock, setCookie, testKey } from './helpers.js'

type Test = tap.Test

// The demo imports the built package ('fastify-login' → dist/): `npm test`
// builds first; run `npm run build` before running this file on its own.
type DemoModule = typeof import('../demo/app.mjs')
const loadDemo = (): Promise<DemoModule> => import('../demo/app.mjs')
const SERVER = resolve(__dirname, '..', 'demo', 'server.mjs')

// Some tests start the demo as a process; on a busy machine that takes a few seconds each.
t.setTimeout(120_000)

const FORM = 'application/x-www-form-urlencoded'
const GENERIC_ERROR = 'Invalid username or password.'
const DEMO_PASSWORDS: Record<string, string> = { alice: 'wonderland', bob: 'builder' }

/** A browser-like client: keeps cookies, sends Accept: text/html (and `headers`, such as its own User-Agent). */
class Browser {
  readonly jar = new CookieJar()
  constructor (readonly app: FastifyInstance, readonly headers: Record<string, string> = {}) {}

  async get (url: string, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
    const res = await this.app.inject({ method: 'GET', url, headers: { accept: BROWSER_ACCEPT, cookie: this.jar.header(), ...this.headers, ...headers } })
    this.jar.store(res)
    return res
  }

  async post (url: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
    const res = await this.app.inject({
      method: 'POST',
      url,
      payload: new URLSearchParams(form).toString(),
      headers: { accept: BROWSER_ACCEPT, 'content-type': FORM, cookie: this.jar.header(), ...this.headers, ...headers }
    })
    this.jar.store(res)
    return res
  }
}

async function demoApp (t: Test): Promise<FastifyInstance> {
  const { buildDemoApp } = await loadDemo()
  const app = await buildDemoApp()
  t.teardown(() => app.close())
  await app.ready()
  return app
}

/**
 * The 32 raw bytes `npx @fastify/secure-session > key` writes, as they reach
 * an environment variable through `SESSION_KEY=$(cat key)`: the shell drops
 * NUL bytes, and Node reads the rest as text.
 */
function rawKeyAsEnvValue (): string {
  return Buffer.from(randomBytes(32).filter((byte) => byte !== 0)).toString('latin1')
}

/** A browser logged in as alice. */
async function loggedIn (t: Test, remember = false): Promise<Browser> {
  const browser = new Browser(await demoApp(t))
  const res = await browser.post('/login', { username: 'alice', password: 'wonderland', ...(remember ? { remember: 'yes' } : {}) })
  t.equal(res.statusCode, 302, 'alice logs in')
  return browser
}

t.test('login page', async (t) => {
  t.test('GET /login is an HTML form with username, password, remember-me and next', async (t) => {
    const browser = new Browser(await demoApp(t))
    const res = await browser.get('/login?next=%2Faccount')
    t.equal(res.statusCode, 200)
    t.match(res.headers['content-type'], /^text\/html; charset=utf-8/)
    t.match(res.body, '<form method="post" action="/login">')
    t.match(res.body, /<input type="text" id="username" name="username"/)
    t.match(res.body, /<input type="password" id="password" name="password"/)
    t.match(res.body, /<input type="checkbox" id="remember" name="remember" value="yes">/)
    t.match(res.body, '<input type="hidden" name="next" value="/account">')
  })

  t.test('a redirect from a protected page flashes the login message on the form', async (t) => {
    const browser = new Browser(await demoApp(t))
    const denied = await browser.get('/account')
    t.equal(denied.statusCode, 302)
    const res = await browser.get(denied.headers.location as string)
    t.match(res.body, 'Please log in to access this page.')
    const again = await browser.get('/login')
    t.notMatch(again.body, 'Please log in to access this page.', 'a flashed message is shown once')
  })
})

t.test('wrong credentials', async (t) => {
  const cases: Array<[string, Record<string, string>]> = [
    ['wrong password', { username: 'alice', password: 'not-her-password' }],
    ['unknown user', { username: 'mallory', password: 'wonderland' }],
    ['inactive user with her right password', { username: 'carol', password: 'disabled' }],
    ['empty form', {}]
  ]
  for (const [name, form] of cases) {
    t.test(`${name}: 401, the form again, the same generic message, no login`, async (t) => {
      const browser = new Browser(await demoApp(t))
      const res = await browser.post('/login', { ...form, remember: 'yes', next: '/account' })
      t.equal(res.statusCode, 401)
      t.match(res.body, `<p class="error">${GENERIC_ERROR}</p>`)
      t.match(res.body, '<form method="post" action="/login">')
      t.match(res.body, '<input type="hidden" name="next" value="/account">', 'next is kept for the retry')
      t.notOk(setCookie(res, '__Host-remember_token'), 'no remember cookie')
      const account = await browser.get('/account')
      t.equal(account.statusCode, 302, 'still not logged in')
    })
  }

  t.test('a POST without any form body is refused, not crashed on', async (t) => {
    const app = await demoApp(t)
    const res = await app.inject({ method: 'POST', url: '/login', headers: { accept: BROWSER_ACCEPT } })
    t.equal(res.statusCode, 401)
    t.match(res.body, `<p class="error">${GENERIC_ERROR}</p>`)
    t.same(res.cookies, [], 'no cookie set')

    const browser = await loggedIn(t)
    const reauth = await browser.app.inject({ method: 'POST', url: '/reauth', headers: { accept: BROWSER_ACCEPT, cookie: browser.jar.header() } })
    t.equal(reauth.statusCode, 401, 'nor is an empty re-authentication')
    t.match(reauth.body, 'Wrong password.')
  })

  t.test('repeated fields are refused, not crashed on', async (t) => {
    const app = await demoApp(t)
    const res = await app.inject({
      method: 'POST',
      url: '/login',
      payload: 'username=alice&username=bob&password=wonderland',
      headers: { 'content-type': FORM }
    })
    t.equal(res.statusCode, 401)
    t.match(res.body, GENERIC_ERROR)
  })
})

t.test('login throttling', async (t) => {
  const THROTTLED = '<p class="error">Too many failed attempts for this account or from your network. Wait 1 second and try again.</p>'

  t.test('the 6th attempt is a 429 page saying how long to wait, even with the right password; bob is not affected', async (t) => {
    const clock = fakeClock(t)
    const browser = new Browser(await demoApp(t))
    for (let i = 0; i < 5; i++) t.equal((await browser.post('/login', { username: 'alice', password: 'guess' })).statusCode, 401, `failure ${i + 1}`)
    const refused = await browser.post('/login', { username: 'alice', password: 'wonderland', next: '/account' })
    t.equal(refused.statusCode, 429)
    t.equal(refused.headers['retry-after'], '1')
    t.match(refused.body, THROTTLED)
    t.match(refused.body, '<input type="hidden" name="next" value="/account">', 'the form is there again, with next')
    t.equal((await browser.get('/account')).statusCode, 302, 'not logged in')
    const bob = await new Browser(browser.app).post('/login', { username: 'bob', password: 'builder' })
    t.equal(bob.statusCode, 302, 'bob logs in meanwhile')
    const unknown = new Browser(browser.app)
    for (let i = 0; i < 5; i++) await unknown.post('/login', { username: 'mallory', password: 'guess' })
    const same = await unknown.post('/login', { username: 'mallory', password: 'guess', next: '/account' })
    t.same([same.statusCode, same.body.replace(/mallory/g, 'alice')], [429, refused.body], 'an unknown username gets the same page')
    clock.set(1000)
    const login = await browser.post('/login', { username: 'alice', password: 'wonderland', next: '/account' })
    t.same([login.statusCode, login.headers.location], [302, '/account'], 'a second later alice logs in')
  })

  t.test('re-authentication is throttled too', async (t) => {
    const clock = fakeClock(t)
    const browser = await loggedIn(t)
    for (let i = 0; i < 5; i++) t.equal((await browser.post('/reauth', { password: 'guess' })).statusCode, 401, `failure ${i + 1}`)
    const refused = await browser.post('/reauth', { password: 'wonderland', next: '/settings' })
    t.same([refused.statusCode, refused.headers['retry-after']], [429, '1'])
    t.match(refused.body, THROTTLED)
    clock.set(1000)
    t.equal((await browser.post('/reauth', { password: 'wonderland' })).statusCode, 302, 'a second later the password is confirmed')
    for (let i = 0; i < 4; i++) await browser.post('/reauth', { password: 'guess' })
    t.equal((await browser.post('/reauth', { password: 'wonderland' })).statusCode, 302, 'the confirmed password reset the count')
  })

  t.test('POST /auth: a 429 JSON answer with Retry-After', async (t) => {
    const app = await demoApp(t)
    const auth = async (password: string): Promise<LightMyRequestResponse> => await app.inject({ method: 'POST', url: '/auth', payload: { username: 'alice', password } })
    for (let i = 0; i < 5; i++) t.equal((await auth('guess')).statusCode, 401, `failure ${i + 1}`)
    const refused = await auth('wonderland')
    t.same([refused.statusCode, refused.headers['retry-after'], refused.json().code], [429, '1', 'FST_LOGIN_THROTTLED'])
  })
})

t.test('login, remember-me, fresh pages, re-authentication and logout', async (t) => {
  const browser = new Browser(await demoApp(t))

  const login = await browser.post('/login', { username: 'alice', password: 'wonderland', remember: 'yes', next: '/account' })
  t.equal(login.statusCode, 302)
  t.equal(login.headers.location, '/account', 'redirected to next')
  for (const name of ['__Host-session', '__Host-remember_token']) {
    const cookie = setCookie(login, name)
    t.ok(cookie, `${name} cookie set`)
    t.equal(cookie?.secure, true, `${name} is Secure`)
    t.equal(cookie?.httpOnly, true, `${name} is HttpOnly`)
    t.equal(cookie?.sameSite, 'Lax', `${name} is SameSite=Lax`)
  }

  const account = await browser.get('/account')
  t.equal(account.statusCode, 200)
  t.match(account.body, '<td>Alice Liddell</td>')
  t.match(account.body, '<tr><th>Fresh login</th><td>yes</td></tr>')

  const home = await browser.get('/')
  t.match(home.body, 'Logged in as <strong>Alice Liddell</strong>')
  t.match(home.body, 'Your login is <strong>fresh</strong>, and this browser has a remember-me cookie.')

  const settings = await browser.get('/settings')
  t.equal(settings.statusCode, 200, 'a fresh login reaches the sensitive page')
  t.match(settings.body, '<form method="post" action="/settings">')

  // The browser session ends: only the remember-me cookie is left.
  browser.jar.cookies.delete('__Host-session')
  const restored = await browser.get('/account')
  t.equal(restored.statusCode, 200, 'the remember cookie restores the login')
  t.match(restored.body, '<tr><th>Fresh login</th><td>no')
  t.match((await browser.get('/')).body, 'Your login is <strong>not fresh</strong>, and this browser has a remember-me cookie.', 'the home page says so too')

  const stale = await browser.get('/settings')
  t.equal(stale.statusCode, 302, 'a restored login is not fresh')
  t.equal(stale.headers.location, '/reauth?next=%2Fsettings')

  const reauthPage = await browser.get(stale.headers.location as string)
  t.equal(reauthPage.statusCode, 200)
  t.match(reauthPage.body, 'Please reauthenticate to access this page.')
  t.match(reauthPage.body, '<input type="hidden" name="next" value="/settings">')

  const wrong = await browser.post('/reauth', { password: 'guess', next: '/settings' })
  t.equal(wrong.statusCode, 401)
  t.match(wrong.body, 'Wrong password.')
  t.equal((await browser.get('/settings')).statusCode, 302, 'still not fresh after a wrong password')

  const confirmed = await browser.post('/reauth', { password: 'wonderland', next: '/settings' })
  t.equal(confirmed.statusCode, 302)
  t.equal(confirmed.headers.location, '/settings')
  const fresh = await browser.get('/settings')
  t.equal(fresh.statusCode, 200, 'fresh again after re-authentication')

  const logout = await browser.post('/logout', {})
  t.equal(logout.statusCode, 302)
  t.equal(logout.headers.location, '/')
  t.equal(setCookie(logout, '__Host-remember_token')?.maxAge, 0, 'the remember cookie is deleted')
  t.notOk(browser.jar.cookies.has('__Host-remember_token'))

  const after = await browser.get('/account')
  t.equal(after.statusCode, 302)
  t.equal(after.headers.location, '/login?next=%2Faccount')
  t.match((await browser.get('/')).body, 'Not logged in')
})

t.test('a session naming an account the demo does not have is anonymous', async (t) => {
  // The demo app uses the built package: its own loginCookie() knows its settings.
  const { loginCookie } = await import('fastify-login/testing')
  const app = await demoApp(t)

  const known = await app.inject({ url: '/account', headers: { accept: BROWSER_ACCEPT, cookie: await loginCookie(app, { id: '1' }) } })
  t.equal(known.statusCode, 200, 'control: such a cookie for alice logs her in')
  t.match(known.body, '<td>Alice Liddell</td>')

  const cookie = await loginCookie(app, { id: '99' })
  const account = await app.inject({ url: '/account', headers: { accept: BROWSER_ACCEPT, cookie } })
  t.equal(account.statusCode, 302)
  t.equal(account.headers.location, '/login?next=%2Faccount')
  const home = await app.inject({ url: '/', headers: { accept: BROWSER_ACCEPT, cookie } })
  t.equal(home.statusCode, 200)
  t.match(home.body, 'You are not logged in.')
})

t.test('reauth page needs a login', async (t) => {
  const browser = new Browser(await demoApp(t))
  const res = await browser.get('/reauth?next=%2Fsettings')
  t.equal(res.statusCode, 302)
  t.equal(res.headers.location, '/login?next=%2Freauth%3Fnext%3D%252Fsettings')
  const post = await browser.post('/reauth', { password: 'wonderland' })
  t.equal(post.statusCode, 302, 'POST /reauth without a login goes to the login page too')
})

t.test('next targets', async (t) => {
  const hostile = ['//evil.com', 'https://evil.com/', '/\\evil.com', 'javascript:alert(1)', '/%2F%2Fevil.com']
  for (const next of hostile) {
    t.test(`login with next=${next} redirects to /`, async (t) => {
      const browser = new Browser(await demoApp(t))
      const res = await browser.post('/login', { username: 'alice', password: 'wonderland', next })
      t.equal(res.statusCode, 302)
      t.equal(res.headers.location, '/')
    })
  }

  t.test('a same-site path with a query is kept', async (t) => {
    const browser = new Browser(await demoApp(t))
    const res = await browser.post('/login', { username: 'alice', password: 'wonderland', next: '/account?tab=2' })
    t.equal(res.headers.location, '/account?tab=2')
  })

  t.test('a hostile next is refused after re-authentication too', async (t) => {
    const browser = await loggedIn(t)
    const res = await browser.post('/reauth', { password: 'wonderland', next: '//evil.com' })
    t.equal(res.statusCode, 302)
    t.equal(res.headers.location, '/')
  })
})

t.test('/api/me', async (t) => {
  t.test('a JSON client without a login gets 401 JSON', async (t) => {
    const app = await demoApp(t)
    const res = await app.inject({ url: '/api/me', headers: { accept: 'application/json' } })
    t.equal(res.statusCode, 401)
    t.match(res.headers['content-type'], /^application\/json/)
    t.match(res.json(), { statusCode: 401, code: 'FST_LOGIN_UNAUTHORIZED' })
  })

  t.test('a browser without a login is redirected to the login page', async (t) => {
    const browser = new Browser(await demoApp(t))
    const res = await browser.get('/api/me')
    t.equal(res.statusCode, 302)
    t.equal(res.headers.location, '/login?next=%2Fapi%2Fme')
  })

  t.test('logged in: the user, without any password material', async (t) => {
    const browser = await loggedIn(t)
    const res = await browser.get('/api/me', { accept: 'application/json' })
    t.equal(res.statusCode, 200)
    t.same(res.json(), { id: '1', username: 'alice', name: 'Alice Liddell', fresh: true, remembered: false })
  })
})

t.test('Your sessions page', async (t) => {
  const DEVICE_A = { 'user-agent': 'Device A/1.0 <b>"laptop"</b>' }
  const DEVICE_B = { 'user-agent': 'Device B/2.0 (phone)' }
  const DEVICE_C = { 'user-agent': 'Device C/3.0 (tablet)' }
  const NO_SUCH_SESSION = 'No other session of yours has that id (it may have ended already): nothing was logged out.'

  /** A browser with its own User-Agent, logged in to `app` (as alice unless told). */
  async function device (t: Test, app: FastifyInstance, headers: Record<string, string>, username = 'alice'): Promise<Browser> {
    const browser = new Browser(app, headers)
    const password = DEMO_PASSWORDS[username] as string
    t.equal((await browser.post('/login', { username, password })).statusCode, 302, `${username} logs in from ${headers['user-agent']}`)
    return browser
  }

  /** The ids in the page's "Log out this device" forms. */
  const formIds = (res: LightMyRequestResponse): string[] => [...res.body.matchAll(/<input type="hidden" name="id" value="([^"]*)">/g)].map((m) => m[1] as string)
  /** The table rows of the sessions page. */
  const rows = (res: LightMyRequestResponse): string[] => res.body.split('<tr>').slice(2).map((row) => row.slice(0, row.indexOf('</tr>')))
  const flashOf = (res: LightMyRequestResponse): string | undefined => res.body.match(/<p class="message">([^<]*)<\/p>/)?.[1]

  /** The public session id of alice's session from `userAgent`. */
  async function sessionIdOf (app: FastifyInstance, userAgent: string | undefined): Promise<string> {
    const session = (await app.loginSessions.list('1')).find((s) => s.userAgent === userAgent)
    if (session === undefined) throw new Error(`no session from ${userAgent}`)
    return session.id
  }

  t.test('needs a fresh login: anonymous is sent to log in, a stale login to re-authenticate', async (t) => {
    const anonymous = new Browser(await demoApp(t))
    for (const [method, url] of [['GET', '/sessions'], ['POST', '/sessions/revoke'], ['POST', '/sessions/revoke-others']] as const) {
      const res = method === 'GET' ? await anonymous.get(url) : await anonymous.post(url, { id: 'x' })
      t.equal(res.statusCode, 302, `${method} ${url} without a login`)
      t.equal(res.headers.location, `/login?next=${encodeURIComponent(url)}`)
    }

    const browser = await loggedIn(t, true)
    const other = await device(t, browser.app, DEVICE_B)
    browser.jar.cookies.delete('__Host-session') // restored from the remember-me cookie: logged in, not fresh
    const stale = await browser.get('/sessions')
    t.equal(stale.statusCode, 302)
    t.equal(stale.headers.location, '/reauth?next=%2Fsessions')
    const post = await browser.post('/sessions/revoke-others', {})
    t.equal(post.statusCode, 302, 'the forms need a fresh login too')
    t.equal(post.headers.location, '/reauth?next=%2Fsessions%2Frevoke-others')
    t.equal((await other.get('/account')).statusCode, 200, 'and the other device was not logged out')

    const confirmed = await browser.post('/reauth', { password: 'wonderland', next: '/sessions/revoke-others' })
    t.equal(confirmed.headers.location, '/sessions/revoke-others')
    const back = await browser.get('/sessions/revoke-others')
    t.equal(back.statusCode, 302, 'a GET of a form\'s address after re-authentication goes back to the page')
    t.equal(back.headers.location, '/sessions')
    t.equal((await browser.get('/sessions')).statusCode, 200, 'fresh again: the page opens')
  })

  t.test('an API client logged in at POST /auth is listed as such, and logging it out there ends its tokens', async (t) => {
    const app = await demoApp(t)
    const a = await device(t, app, DEVICE_A)
    const auth = await app.inject({ method: 'POST', url: '/auth', payload: { username: 'alice', password: DEMO_PASSWORDS.alice }, headers: { 'user-agent': 'curl/8' } })
    t.equal(auth.statusCode, 200, 'the API login')
    const { refresh_token: refreshToken } = auth.json()
    const page = await a.get('/sessions')
    const api = rows(page).find((row) => row.includes('curl/8')) as string
    t.match(api, '<td>API client</td>', 'the API session is labelled')
    t.match(rows(page).find((row) => row.includes('Device A')), '<td>browser</td>')
    const [id] = formIds(page)
    t.equal((await a.post('/sessions/revoke', { id: id as string })).statusCode, 303, 'logged out from the page')
    const refreshed = await app.inject({ method: 'POST', url: '/auth/refresh', headers: { authorization: `Bearer ${refreshToken}` } })
    t.equal(refreshed.statusCode, 401, 'its refresh token no longer works')
  })

  t.test('lists every session of the user from two devices, this one marked, the User-Agent escaped', async (t) => {
    const app = await demoApp(t)
    const a = await device(t, app, DEVICE_A)
    const b = await device(t, app, DEVICE_B)
    await device(t, app, DEVICE_C, 'bob') // another user's session is not listed

    const page = await a.get('/sessions')
    t.equal(page.statusCode, 200)
    t.equal(page.headers['cache-control'], 'no-store')
    t.match(page.body, '<h1>Your sessions</h1>')
    const [newest, older] = rows(page) as [string, string]
    t.equal(rows(page).length, 2, 'two rows: alice\'s two sessions, not bob\'s')
    t.notMatch(page.body, 'Device C', 'bob\'s device is not there')
    t.match(newest, '<td class="agent">Device B/2.0 (phone)</td>', 'newest first: B logged in last')
    t.match(newest, '<button type="submit">Log out this device</button>')
    t.match(older, '<td class="agent">Device A/1.0 &lt;b&gt;&quot;laptop&quot;&lt;/b&gt;</td>', 'the User-Agent, escaped')
    t.notMatch(page.body, '<b>"laptop"', 'no raw markup from the User-Agent')
    t.match(older, '<strong>This device</strong>')
    t.equal(page.body.split('This device').length - 1, 1, 'only one row is this device')
    for (const row of [newest, older]) {
      t.match(row, /<td>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC<\/td>\s*<td>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC<\/td>\s*<td>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC<\/td>/, 'created, last seen, expires')
      t.match(row, '<td><code>127.0.0.1</code></td>', 'the address')
      t.match(row, '<td>no</td>', 'not restored by remember-me')
    }
    t.same(formIds(page), [await sessionIdOf(app, DEVICE_B['user-agent'])], 'one form, naming device B\'s session')
    t.match(page.body, '<form method="post" action="/sessions/revoke-others">')
    t.same(formIds(await b.get('/sessions')), [await sessionIdOf(app, DEVICE_A['user-agent'])], 'and from B, A is the other device')

    t.match((await a.get('/')).body, '<a href="/sessions">/sessions</a>', 'linked from the home page')
    t.match((await a.get('/account')).body, '<a href="/sessions">Your sessions</a>', 'and from the account page')
  })

  t.test('a session restored by remember-me says so', async (t) => {
    const browser = await loggedIn(t, true)
    browser.jar.cookies.delete('__Host-session')
    t.equal((await browser.post('/reauth', { password: 'wonderland' })).statusCode, 302)
    const [row] = rows(await browser.get('/sessions'))
    t.match(row, /<td>yes<\/td>\s*<td><strong>This device<\/strong><\/td>/)
  })

  t.test('"Log out this device" from device A ends device B; A stays logged in', async (t) => {
    const app = await demoApp(t)
    const a = await device(t, app, DEVICE_A)
    const b = await device(t, app, DEVICE_B)
    const [id] = formIds(await a.get('/sessions')) as [string]

    const res = await a.post('/sessions/revoke', { id })
    t.equal(res.statusCode, 303)
    t.equal(res.headers.location, '/sessions')
    const page = await a.get('/sessions')
    t.equal(flashOf(page), 'Logged out 1 device.')
    t.equal(rows(page).length, 1, 'only this device is left')
    t.match(page.body, 'No other device is logged in.')
    t.notMatch(page.body, 'action="/sessions/revoke-others"', 'no "log out all other devices" without others')

    const account = await b.get('/account')
    t.equal(account.statusCode, 302, 'B\'s next request is not logged in')
    t.equal(account.headers.location, '/login?next=%2Faccount')
    t.equal((await a.get('/account')).statusCode, 200, 'A is still logged in')

    const again = await a.post('/sessions/revoke', { id })
    t.equal(again.statusCode, 400, 'the same id a second time')
    t.match(again.body, NO_SUCH_SESSION)
  })

  t.test('"Log out all other devices" ends the others and says how many', async (t) => {
    const app = await demoApp(t)
    const a = await device(t, app, DEVICE_A)
    const others = [await device(t, app, DEVICE_B), await device(t, app, DEVICE_C)]
    const bob = await device(t, app, DEVICE_B, 'bob')

    const res = await a.post('/sessions/revoke-others', {})
    t.equal(res.statusCode, 303)
    t.equal(res.headers.location, '/sessions')
    const page = await a.get('/sessions')
    t.equal(flashOf(page), 'Logged out 2 other devices.')
    t.equal(rows(page).length, 1)
    t.match(rows(page)[0], '<strong>This device</strong>')
    for (const other of others) t.equal((await other.get('/account')).headers.location, '/login?next=%2Faccount', `${other.headers['user-agent']} is sent to the login page`)
    t.equal((await a.get('/account')).statusCode, 200, 'this device stays logged in')
    t.equal((await bob.get('/account')).statusCode, 200, 'another user is not touched')

    await a.post('/sessions/revoke-others', {})
    t.equal(flashOf(await a.get('/sessions')), 'No other device was logged in.', 'nothing left to end')
  })

  t.test('a bogus, missing, foreign or own id: the page with a message, never a 500', async (t) => {
    const app = await demoApp(t)
    const a = await device(t, app, DEVICE_A)
    const b = await device(t, app, DEVICE_B)
    await device(t, app, DEVICE_C, 'bob')
    const bobsId = (await app.loginSessions.list('2'))[0]?.id as string
    const cases: Array<[string, Record<string, string>, string]> = [
      ['a bogus id', { id: 'bogus' }, NO_SUCH_SESSION],
      ['markup as the id', { id: '"><script>alert(1)</script>' }, NO_SUCH_SESSION],
      ['a well-formed id of no session', { id: 'A'.repeat(43) }, NO_SUCH_SESSION],
      ['no id', {}, NO_SUCH_SESSION],
      ['an oversized id', { id: 'x'.repeat(5000) }, NO_SUCH_SESSION],
      ['another user\'s session id', { id: bobsId }, NO_SUCH_SESSION],
      ['this device\'s own id', { id: await sessionIdOf(app, DEVICE_A['user-agent']) }, 'That is this device: use “Log out” to end this session.']
    ]
    for (const [name, form, message] of cases) {
      const res = await a.post('/sessions/revoke', form)
      t.equal(res.statusCode, 400, `${name}: 400`)
      t.match(res.body, `<p class="error">${message}</p>`, `${name}: the message`)
      t.equal(rows(res).length, 2, `${name}: and the table`)
      t.notMatch(res.body, '<script>', `${name}: nothing echoed raw`)
    }
    const repeated = await app.inject({ method: 'POST', url: '/sessions/revoke', payload: 'id=a&id=b', headers: { 'content-type': FORM, cookie: a.jar.header(), ...DEVICE_A } })
    t.equal(repeated.statusCode, 400, 'a repeated id field too')
    t.equal((await a.get('/account')).statusCode, 200, 'A is still logged in')
    t.equal((await b.get('/account')).statusCode, 200, 'so is B')
    t.equal((await app.loginSessions.list('2')).length, 1, 'and bob\'s session was not ended')
  })

  t.test('a device logged in with remember-me', async (t) => {
    const app = await demoApp(t)
    const a = await device(t, app, DEVICE_A)
    const b = new Browser(app, DEVICE_B)
    await b.post('/login', { username: 'alice', password: 'wonderland', remember: 'yes' })
    await a.post('/sessions/revoke-others', {})
    t.equal(flashOf(await a.get('/sessions')), 'Logged out 1 other device.', 'its session ends')
    const back = await b.get('/account')
    t.equal(back.statusCode, 302, 'and it is logged out: its remember-me cookie does not log it in again')
    t.match(back.headers.location, /^\/login/)
  })

  t.test('"Log out everywhere" ends every session of the user, this one too', async (t) => {
    const app = await demoApp(t)
    const a = await device(t, app, DEVICE_A)
    const b = await device(t, app, DEVICE_B)
    const bob = await device(t, app, DEVICE_C, 'bob')
    t.match((await a.get('/sessions')).body, '<input type="hidden" name="everywhere" value="yes">', 'the page has the form')
    const res = await a.post('/logout', { everywhere: 'yes' })
    t.equal(res.statusCode, 302)
    t.equal(res.headers.location, '/')
    for (const browser of [a, b]) t.equal((await browser.get('/account')).statusCode, 302, `${browser.headers['user-agent']} is logged out`)
    t.equal((await bob.get('/account')).statusCode, 200, 'another user is not')
    t.same(await app.loginSessions.list('1'), [])
  })

  t.test('every ended session is one info line: user, reason and public id, no cookie', async (t) => {
    const { buildDemoApp } = await loadDemo()
    const lines: Array<Record<string, unknown>> = []
    const app = await buildDemoApp({ logger: { level: 'info', stream: { write: (line: string) => { lines.push(JSON.parse(line) as Record<string, unknown>) } } } })
    t.teardown(() => app.close())
    await app.ready()
    const a = await device(t, app, DEVICE_A)
    const b = await device(t, app, DEVICE_B)
    const c = await device(t, app, DEVICE_C)
    const [idA, idB, idC] = await Promise.all([DEVICE_A, DEVICE_B, DEVICE_C].map((d) => sessionIdOf(app, d['user-agent'])))
    const cookies = [a, b, c].flatMap((browser) => [...browser.jar.cookies.values()])

    lines.length = 0
    await a.post('/sessions/revoke', { id: idB as string })
    await a.post('/logout', { everywhere: 'yes' })
    const ended = lines.filter((line) => line.msg === 'session ended')
    const facts = ended.map(({ userId, sessionId, reason }) => ({ userId, sessionId, reason }))
    t.same(facts[0], { userId: '1', sessionId: idB, reason: 'revoked' }, 'B, from the page')
    t.same(facts.slice(1).sort((x, y) => String(x.reason).localeCompare(String(y.reason))), [
      { userId: '1', sessionId: idA, reason: 'logout' },
      { userId: '1', sessionId: idC, reason: 'revoked' }
    ], 'then A and C, by the logout everywhere (in either order)')
    const FIELDS = ['level', 'time', 'pid', 'hostname', 'reqId', 'userId', 'sessionId', 'reason', 'msg']
    for (const line of ended) {
      t.equal(line.level, 30, 'at info')
      t.same(Object.keys(line).filter((key) => !FIELDS.includes(key)), [], 'nothing else on the line')
    }
    const log = JSON.stringify(lines)
    t.notOk(cookies.some((value) => log.includes(value)), 'no cookie value in the log')
  })
})

t.test('HTML escaping', async (t) => {
  const script = '<script>alert(1)</script>'

  t.test('the username typed into a failed login is escaped', async (t) => {
    const browser = new Browser(await demoApp(t))
    const res = await browser.post('/login', { username: script, password: 'x', next: '"><script>alert(2)</script>' })
    t.equal(res.statusCode, 401)
    t.notMatch(res.body, '<script>')
    t.match(res.body, 'value="&lt;script&gt;alert(1)&lt;/script&gt;"')
    t.match(res.body, 'value="&quot;&gt;&lt;script&gt;alert(2)&lt;/script&gt;"')
  })

  t.test('the next query value is escaped on the login page', async (t) => {
    const browser = new Browser(await demoApp(t))
    const res = await browser.get(`/login?next=${encodeURIComponent('\'"><script>alert(3)</script>')}`)
    t.notMatch(res.body, '<script>')
    t.match(res.body, 'value="&#39;&quot;&gt;&lt;script&gt;alert(3)&lt;/script&gt;"')
  })

  t.test('a display name set on /settings is escaped on every page', async (t) => {
    const browser = await loggedIn(t)
    const save = await browser.post('/settings', { name: script })
    t.equal(save.statusCode, 302)
    t.equal(save.headers.location, '/settings')
    const settings = await browser.get('/settings')
    t.match(settings.body, 'Display name saved.')
    for (const url of ['/', '/account', '/settings']) {
      const res = await browser.get(url)
      t.notMatch(res.body, '<script>', `${url} has no raw script tag`)
      t.match(res.body, '&lt;script&gt;alert(1)&lt;/script&gt;', `${url} shows the name escaped`)
    }
  })
})

t.test('settings form', async (t) => {
  t.test('an empty display name is refused with 400', async (t) => {
    const browser = await loggedIn(t)
    const res = await browser.post('/settings', { name: '   ' })
    t.equal(res.statusCode, 400)
    t.match((await browser.get('/account')).body, '<td>Alice Liddell</td>', 'the name is unchanged')
  })

  t.test('changing settings needs a fresh login', async (t) => {
    const browser = await loggedIn(t, true)
    browser.jar.cookies.delete('__Host-session')
    const res = await browser.post('/settings', { name: 'Changed' })
    t.equal(res.statusCode, 302)
    t.match(res.headers.location, /^\/reauth\?next=/)
    t.match((await browser.get('/account')).body, '<td>Alice Liddell</td>', 'the name is unchanged')
  })
})

t.test('cross-site form posts are refused', async (t) => {
  const cases: Array<[string, Record<string, string>]> = [
    ['another Origin', { origin: 'https://evil.example' }],
    ['Origin: null', { origin: 'null' }],
    ['Sec-Fetch-Site: cross-site', { 'sec-fetch-site': 'cross-site' }],
    ['Sec-Fetch-Site: same-site', { 'sec-fetch-site': 'same-site' }]
  ]
  for (const [name, headers] of cases) {
    t.test(`login CSRF with ${name}: 403, no cookies`, async (t) => {
      const browser = new Browser(await demoApp(t))
      const res = await browser.post('/login', { username: 'alice', password: 'wonderland' }, headers)
      t.equal(res.statusCode, 403)
      t.same(res.cookies, [], 'no cookie set')
    })
  }

  t.test('cross-site logout leaves the user logged in', async (t) => {
    const browser = await loggedIn(t)
    const res = await browser.post('/logout', {}, { origin: 'https://evil.example' })
    t.equal(res.statusCode, 403)
    t.equal((await browser.get('/account')).statusCode, 200)
  })

  t.test('same-origin posts pass', async (t) => {
    const browser = new Browser(await demoApp(t))
    const res = await browser.post('/login', { username: 'alice', password: 'wonderland' }, { origin: 'http://localhost', 'sec-fetch-site': 'same-origin' })
    t.equal(res.statusCode, 302)
  })
})

t.test('session key', async (t) => {
  const saved = process.env.SESSION_KEY
  t.teardown(() => {
    if (saved === undefined) delete process.env.SESSION_KEY
    else process.env.SESSION_KEY = saved
  })
  const { buildDemoApp } = await loadDemo()

  async function warnings (): Promise<string[]> {
    const lines: string[] = []
    const app = await buildDemoApp({ logger: { level: 'warn', stream: { write: (line: string) => { lines.push(line) } } } })
    await app.close()
    // Only the session key's warning; the JWT secret has its own.
    return lines.map((line) => (JSON.parse(line) as { msg: string }).msg).filter((msg) => /session key/.test(msg))
  }

  t.test('the development key is used, with a warning, when SESSION_KEY is not set', async (t) => {
    delete process.env.SESSION_KEY
    const messages = await warnings()
    t.equal(messages.length, 1)
    t.match(messages[0], /DEVELOPMENT ONLY session key/)
  })

  t.test('SESSION_KEY replaces it: no warning, and the old cookies no longer log in', async (t) => {
    delete process.env.SESSION_KEY
    const devApp = await buildDemoApp()
    t.teardown(() => devApp.close())
    const devBrowser = new Browser(devApp)
    await devBrowser.post('/login', { username: 'alice', password: 'wonderland', remember: 'yes' })

    process.env.SESSION_KEY = testKey('k9').toString('base64')
    t.same(await warnings(), [])
    const app = await buildDemoApp()
    t.teardown(() => app.close())
    const res = await app.inject({ url: '/account', headers: { accept: BROWSER_ACCEPT, cookie: devBrowser.jar.header() } })
    t.equal(res.statusCode, 302, 'cookies sealed with the development key are not accepted')
  })

  t.test('the keys the README tells you to make are accepted', async (t) => {
    // `node -e "console.log(require('crypto').randomBytes(32).toString('base64'))"` and
    // `npx @fastify/secure-session | base64` both print 32 random bytes in padded base64.
    for (let i = 0; i < 20; i++) {
      process.env.SESSION_KEY = randomBytes(32).toString('base64')
      const app = await buildDemoApp()
      await app.close()
    }
    t.pass('20 random keys start the app')
  })

  // A key made with + and / in it, for the base64url case.
  let sample = randomBytes(32)
  while (!/[+/]/.test(sample.toString('base64'))) sample = randomBytes(32)
  const malformed: Array<[string, string]> = [
    ['too short', 'too-short'],
    ['16 bytes of base64', randomBytes(16).toString('base64')],
    ['33 bytes of base64', randomBytes(33).toString('base64')],
    ['32 bytes of base64 without the padding', sample.toString('base64').replace(/=+$/, '')],
    ['32 bytes of base64url', sample.toString('base64url')],
    ['32 bytes of base64 and a line break', `${sample.toString('base64')}\n`],
    ['the raw bytes of `npx @fastify/secure-session > key`', rawKeyAsEnvValue()]
  ]
  for (const [name, value] of malformed) {
    t.test(`SESSION_KEY with ${name}: a DemoConfigError with a one-line message, no app`, async (t) => {
      process.env.SESSION_KEY = value
      const err = await buildDemoApp().then(() => null, (err: unknown) => err as Error)
      t.match(err, { name: 'DemoConfigError', code: 'DEMO_INVALID_CONFIG', message: /^SESSION_KEY must be 32 random bytes in base64/ })
      t.notMatch(err?.message, /\n/, 'one line')
      t.notOk(err?.message.includes(value), 'the value is not echoed')
    })
  }

  t.test('a JWT_SECRET under 32 bytes is a DemoConfigError too', async (t) => {
    const savedSecret = process.env.JWT_SECRET
    t.teardown(() => {
      if (savedSecret === undefined) delete process.env.JWT_SECRET
      else process.env.JWT_SECRET = savedSecret
    })
    delete process.env.SESSION_KEY
    process.env.JWT_SECRET = 'x'.repeat(31)
    await t.rejects(buildDemoApp(), { name: 'DemoConfigError', message: 'JWT_SECRET must be at least 32 bytes long' })
    process.env.JWT_SECRET = 'x'.repeat(32)
    await t.rejects(buildDemoApp(), { code: 'FST_LOGIN_INVALID_OPTION', message: /JWT_SECRET|does not look random/ }, 'fastify-login refuses a secret that is not random')
    process.env.JWT_SECRET = testKey('demo jwt').toString('base64')
    const app = await buildDemoApp()
    await app.close()
  })
})

t.test('JWT API: the README curl session', async (t) => {
  const app = await demoApp(t)
  const json = { 'content-type': 'application/json' }

  const bad = await app.inject({ method: 'POST', url: '/auth', headers: json, payload: { username: 'alice', password: 'nope' } })
  t.equal(bad.statusCode, 401)
  t.equal(bad.json().code, 'FST_LOGIN_JWT_BAD_CREDENTIALS')
  const inactive = await app.inject({ method: 'POST', url: '/auth', headers: json, payload: { username: 'carol', password: 'disabled' } })
  t.equal(inactive.statusCode, 401, 'an inactive account gets the same answer')

  const auth = await app.inject({ method: 'POST', url: '/auth', headers: json, payload: { username: 'alice', password: 'wonderland' } })
  t.equal(auth.statusCode, 200)
  t.equal(auth.headers['cache-control'], 'no-store')
  const { access_token: access, refresh_token: refresh, token_type: type, expires_in: expiresIn } = auth.json()
  t.equal(type, 'Bearer')
  t.equal(expiresIn, 900)
  t.notOk(setCookie(auth, '__Host-session'), 'API clients get no session cookie')

  const me = await app.inject({ url: '/api/jwt/me', headers: { authorization: `Bearer ${access}` } })
  t.equal(me.statusCode, 200)
  t.match(me.json(), { username: 'alice', name: 'Alice', fresh: true })

  const none = await app.inject({ url: '/api/jwt/me', headers: { accept: BROWSER_ACCEPT } })
  t.equal(none.statusCode, 401, 'no token: 401 even for a browser, never a redirect')
  t.equal(none.headers['www-authenticate'], 'Bearer realm="api"')

  const renamed = await app.inject({ method: 'POST', url: '/api/jwt/name', headers: { ...json, authorization: `Bearer ${access}` }, payload: { name: 'Alice L.' } })
  t.equal(renamed.statusCode, 200, 'the fresh token may change the name')

  const refreshed = await app.inject({ method: 'POST', url: '/auth/refresh', headers: { authorization: `Bearer ${refresh}` } })
  t.equal(refreshed.statusCode, 200)
  const stale = refreshed.json().access_token
  const staleRename = await app.inject({ method: 'POST', url: '/api/jwt/name', headers: { ...json, authorization: `Bearer ${stale}` }, payload: { name: 'x' } })
  t.equal(staleRename.statusCode, 401, 'a refreshed token is not fresh')
  t.equal(staleRename.json().code, 'FST_LOGIN_JWT_FRESH_REQUIRED')

  const whoJwt = await app.inject({ url: '/api/whoami', headers: { authorization: `Bearer ${stale}` } })
  t.same(whoJwt.json(), { authenticated: true, via: 'jwt', name: 'Alice L.' })

  const logout = await app.inject({ method: 'POST', url: '/auth/logout', headers: { ...json, authorization: `Bearer ${access}` }, payload: { refresh_token: refresh } })
  t.equal(logout.statusCode, 204)
  const revoked = await app.inject({ url: '/api/jwt/me', headers: { authorization: `Bearer ${access}` } })
  t.equal(revoked.json().code, 'FST_LOGIN_JWT_REVOKED')
  const revokedRefresh = await app.inject({ method: 'POST', url: '/auth/refresh', headers: { authorization: `Bearer ${refresh}` } })
  t.equal(revokedRefresh.json().code, 'FST_LOGIN_JWT_REVOKED')
})

t.test('/api/whoami accepts a browser session too', async (t) => {
  const app = await demoApp(t)
  const browser = new Browser(app)
  t.equal((await browser.get('/api/whoami')).statusCode, 401)
  await browser.post('/login', { username: 'bob', password: 'builder' })
  const who = await browser.get('/api/whoami')
  t.same(who.json(), { authenticated: true, via: 'session', name: 'Bob Marsh' })
  const bad = await browser.get('/api/whoami', { authorization: 'Bearer not.a.token' })
  t.equal(bad.statusCode, 401, 'a bad token is refused even with a session')
})

/** How long a demo process may run in a test before it is killed (a failing test must not hang the run). */
const DEMO_PROCESS_TIMEOUT = 10_000

/** A `node demo/server.mjs` process, with its output collected. */
class DemoProcess {
  stdout = ''
  stderr = ''
  readonly exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
  private readonly child

  /** `env` goes over this process's environment, from which HOST, PORT and the keys are removed first. */
  constructor (t: Test, env: Record<string, string>) {
    const base = { ...process.env }
    for (const name of ['HOST', 'PORT', 'SESSION_KEY', 'JWT_SECRET', 'LOG_LEVEL']) delete base[name]
    this.child = spawn(process.execPath, [SERVER], { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    this.child.stdout.setEncoding('utf8').on('data', (chunk: string) => { this.stdout += chunk })
    this.child.stderr.setEncoding('utf8').on('data', (chunk: string) => { this.stderr += chunk })
    // A demo that does not stop by itself must not hang the test run.
    const timer = setTimeout(() => this.child.kill('SIGKILL'), DEMO_PROCESS_TIMEOUT)
    this.exited = once(this.child, 'exit').then(([code, signal]) => {
      clearTimeout(timer)
      return { code: code as number | null, signal: signal as NodeJS.Signals | null }
    })
    t.teardown(async () => {
      if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL')
      await this.exited
    })
  }

  /** Resolves with the first match of `pattern` in stdout; rejects if the process exits first. */
  async waitFor (pattern: RegExp): Promise<RegExpMatchArray> {
    for (;;) {
      const match = this.stdout.match(pattern)
      if (match !== null) return match
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(`the demo exited before printing ${pattern}; stderr: ${this.stderr}`)
      }
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
  }

  kill (signal: NodeJS.Signals): void {
    this.child.kill(signal)
  }
}

t.test('the demo process', async (t) => {
  t.test('a SESSION_KEY holding raw key bytes: one line on stderr, exit code 1, no stack trace', async (t) => {
    const demo = new DemoProcess(t, { SESSION_KEY: rawKeyAsEnvValue(), PORT: '0' })
    const { code } = await demo.exited
    t.equal(code, 1)
    t.equal(demo.stdout, '', 'nothing on stdout: the demo stopped before starting anything')
    const lines = demo.stderr.split('\n').filter((line) => line !== '')
    t.equal(lines.length, 1, 'one line')
    t.match(lines[0], /^fastify-login demo: SESSION_KEY must be 32 random bytes in base64 .*randomBytes\(32\)\.toString\('base64'\)/)
    t.notMatch(demo.stderr, /\bat .*:\d+:\d+/, 'no stack trace')
  })

  t.test('a bad PORT: one line too', async (t) => {
    const demo = new DemoProcess(t, { PORT: 'eighty' })
    t.equal((await demo.exited).code, 1)
    t.equal(demo.stderr, 'fastify-login demo: PORT must be a whole number from 0 to 65535, not "eighty"\n')
  })

  t.test('by default it prints http://localhost:<port>/, answers there, and stops on SIGTERM', async (t) => {
    const demo = new DemoProcess(t, { PORT: '0' })
    const [, url, port] = await demo.waitFor(/running at (http:\/\/localhost:(\d+)\/)\n/) as [string, string, string]
    const res = await fetch(`${url}login`)
    t.equal(res.status, 200, 'a client opening localhost reaches it')
    t.match(await res.text(), '<form method="post" action="/login">')
    t.match(demo.stdout, /listening on 127\.0\.0\.1:\d+/, 'the log names the socket it bound')
    t.notMatch(demo.stdout, /https?:\/\/(?!localhost:)/, 'and the only URL in its output is the localhost one')
    t.notMatch(demo.stdout, /the cookies are Secure/, 'no HTTPS warning for a loopback bind')
    t.ok(Number(port) > 0)
    demo.kill('SIGTERM')
    t.same(await demo.exited, { code: 0, signal: null }, 'a clean exit')
  })

  t.test('HOST=0.0.0.0: still http://localhost:<port>/, with the HTTPS warning for other hosts', async (t) => {
    const demo = new DemoProcess(t, { HOST: '0.0.0.0', PORT: '0', LOG_LEVEL: 'warn' })
    const [, url] = await demo.waitFor(/running at (http:\/\/localhost:\d+\/)\n/) as [string, string]
    t.equal((await fetch(`${url}login`)).status, 200)
    t.match(demo.stdout, /"level":40,.*"msg":"the cookies are Secure: over plain HTTP, browsers keep them only for localhost; use HTTPS on other hosts"/)
    t.notMatch(demo.stdout, /"level":30/, 'LOG_LEVEL=warn: no info lines')
    demo.kill('SIGINT')
    t.equal((await demo.exited).code, 0)
  })

  t.test('a port in use: one line on stderr, exit code 1', async (t) => {
    const blocker = createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    t.teardown(() => new Promise<void>((resolve) => blocker.close(() => resolve())))
    const port = (blocker.address() as AddressInfo).port
    const demo = new DemoProcess(t, { HOST: '127.0.0.1', PORT: String(port) })
    t.equal((await demo.exited).code, 1)
    t.equal(demo.stderr, `fastify-login demo: could not start the server: listen EADDRINUSE: address already in use 127.0.0.1:${port}\n`)
  })
})

t.test('browserUrl: the address the demo prints for each HOST', async (t) => {
  const { browserUrl, isLoopback } = await loadDemo()
  const cases: Array<[string, string, boolean]> = [
    ['localhost', 'http://localhost:3000/', true],
    ['127.0.0.1', 'http://localhost:3000/', true],
    ['::1', 'http://localhost:3000/', true],
    ['0.0.0.0', 'http://localhost:3000/', false],
    ['::', 'http://localhost:3000/', false],
    ['192.168.1.20', 'http://192.168.1.20:3000/', false],
    ['fd00::20', 'http://[fd00::20]:3000/', false],
    ['demo.example', 'http://demo.example:3000/', false]
  ]
  for (const [host, url, loopback] of cases) {
    t.equal(browserUrl(host, 3000), url, `HOST=${host}`)
    t.equal(isLoopback(host), loopback, `HOST=${host} is ${loopback ? '' : 'not '}loopback only`)
  }
})

/** Puts the cookie of a `Cookie` header value (`name=value`, as loginCookie() and rememberCookie() give) into a browser's jar. */
function addCookie (browser: Browser, header: string): void {
  const at = header.indexOf('=')
  browser.jar.cookies.set(header.slice(0, at), decodeURIComponent(header.slice(at + 1)))
}

t.test('a login that is not fresh: the pages give the real reason', async (t) => {
  const { loginCookie, rememberCookie } = await import('fastify-login/testing')
  const REMEMBERED = 'restored from the remember-me cookie'
  const MOVED = 'came from another address or browser'
  const MADE_NOT_FRESH = 'reply.login(user, { fresh: false })'
  const reasonsOn = (res: LightMyRequestResponse): string[] => [REMEMBERED, MOVED, MADE_NOT_FRESH].filter((text) => res.body.includes(text))
  const otherBrowser = { 'user-agent': 'Another browser/1.0' }

  t.test('restored from the remember-me cookie', async (t) => {
    const browser = new Browser(await demoApp(t))
    addCookie(browser, await rememberCookie(browser.app, { id: '1' }))
    const settings = await browser.get('/settings')
    t.equal(settings.statusCode, 302)
    const reauth = await browser.get(settings.headers.location as string)
    t.match(reauth.body, 'Yours is not fresh: it was restored from the remember-me cookie after the browser session ended. Please confirm your password, Alice Liddell.')
    t.same(reasonsOn(reauth), [REMEMBERED])
    t.same(reasonsOn(await browser.get('/account')), [REMEMBERED], 'the account page says the same')
  })

  t.test('session protection saw the browser change', async (t) => {
    const browser = await loggedIn(t)
    t.equal((await browser.get('/settings')).statusCode, 200, 'fresh at first')
    const settings = await browser.get('/settings', otherBrowser)
    t.equal(settings.statusCode, 302, 'no longer fresh from another browser')
    const reauth = await browser.get('/reauth', otherBrowser)
    t.match(reauth.body, 'Yours is not fresh: the session came from another address or browser (session protection).')
    t.same(reasonsOn(reauth), [MOVED], 'not the remember-me cookie: there is none')
  })

  t.test('logged in with fresh: false', async (t) => {
    const browser = new Browser(await demoApp(t))
    addCookie(browser, await loginCookie(browser.app, { id: '1' }, { fresh: false }))
    const reauth = await browser.get('/reauth')
    t.equal(reauth.statusCode, 200)
    t.same(reasonsOn(reauth), [MADE_NOT_FRESH])
    t.same(reasonsOn(await browser.get('/account')), [MADE_NOT_FRESH])
  })

  t.test('a fresh login: no reason, and none after a confirmed password', async (t) => {
    const browser = new Browser(await demoApp(t))
    addCookie(browser, await rememberCookie(browser.app, { id: '1' }))
    t.equal((await browser.get('/account')).statusCode, 200, 'restored')
    t.same(reasonsOn(await browser.get('/reauth', otherBrowser)), [REMEMBERED, MOVED], 'both reasons, once each')
    t.same(reasonsOn(await browser.get('/reauth', otherBrowser)), [REMEMBERED, MOVED], 'and still once each')

    const confirmed = await browser.post('/reauth', { password: 'wonderland' }, otherBrowser)
    t.equal(confirmed.statusCode, 302)
    const fresh = await browser.get('/reauth', otherBrowser)
    t.match(fresh.body, 'Yours is fresh already')
    t.same(reasonsOn(fresh), [])
    t.match((await browser.get('/account', otherBrowser)).body, '<tr><th>Fresh login</th><td>yes</td></tr>')

    t.equal((await browser.get('/settings')).statusCode, 302, 'back in the first browser: not fresh')
    t.same(reasonsOn(await browser.get('/reauth')), [MOVED], 'only the new reason: the old one went with the confirmation')
  })
})

t.test('logging: a refused request is one short info line, a server error is logged in full', async (t) => {
  const { buildDemoApp } = await loadDemo()
  const lines: Array<Record<string, unknown>> = []
  const app = await buildDemoApp({ logger: { level: 'info', stream: { write: (line: string) => { lines.push(JSON.parse(line) as Record<string, unknown>) } } } })
  t.teardown(() => app.close())
  app.get('/broken', async () => { throw new Error('the database is gone') })
  await app.ready()
  const json = { 'content-type': 'application/json' }
  const { loginCookie } = await import('fastify-login/testing')
  const sessionCookieName = (await loginCookie(app, { id: '1' })).split('=')[0]

  // What a refusal line may hold: pino's own fields and the four facts.
  const REFUSAL_FIELDS = ['level', 'time', 'pid', 'hostname', 'reqId', 'statusCode', 'code', 'method', 'url', 'msg']
  const SECRET = 'do-not-log-me-0123456789'

  interface Request { method?: 'GET' | 'POST', url: string, headers: Record<string, string>, payload?: Record<string, string> }
  async function refused (t: Test, request: Request, statusCode: number, code: string): Promise<LightMyRequestResponse> {
    lines.length = 0
    const res = await app.inject(request)
    t.equal(res.statusCode, statusCode)
    const refusals = lines.filter((line) => line.msg === 'request refused')
    t.equal(refusals.length, 1, 'one refusal line')
    const { method = 'GET', url } = request
    t.same(refusals[0], { ...refusals[0], level: 30, statusCode, code, method, url }, 'at info, with status, code, method and url')
    t.same(Object.keys(refusals[0] ?? {}).filter((key) => !REFUSAL_FIELDS.includes(key)), [], 'and nothing else')
    t.same(lines.filter((line) => 'err' in line || (line.level as number) > 30), [], 'no error object, no stack, nothing above info')
    t.notOk(JSON.stringify(lines).includes(SECRET), 'no cookie, token or password in the log')
    t.same(res.json(), { statusCode, code, error: STATUS_CODES[statusCode], message: res.json().message }, "Fastify's error format")
    return res
  }

  t.test('a guard refusing a JSON client', async (t) => {
    const res = await refused(t, { url: '/api/me', headers: { accept: 'application/json', cookie: `${sessionCookieName}=${SECRET}` } }, 401, 'FST_LOGIN_UNAUTHORIZED')
    t.equal(res.json().message, 'Please log in to access this page.')
  })

  t.test('a bad token', async (t) => {
    const res = await refused(t, { url: '/api/jwt/me', headers: { authorization: `Bearer eyJhbGciOiJIUzI1NiJ9.e30.${SECRET}` } }, 401, 'FST_LOGIN_JWT_INVALID')
    t.match(res.headers['www-authenticate'], /^Bearer realm="api", error="invalid_token"/, 'the challenge header is kept')
  })

  t.test('wrong credentials at the token endpoint', async (t) => {
    await refused(t, { method: 'POST', url: '/auth', headers: json, payload: { username: 'alice', password: SECRET } }, 401, 'FST_LOGIN_JWT_BAD_CREDENTIALS')
  })

  t.test('a body that fails its schema', async (t) => {
    const auth = await app.inject({ method: 'POST', url: '/auth', headers: json, payload: { username: 'alice', password: 'wonderland' } })
    const token = auth.json().access_token as string
    const res = await refused(t, { method: 'POST', url: '/api/jwt/name', headers: { ...json, authorization: `Bearer ${token}` }, payload: { name: '' } }, 400, 'FST_ERR_VALIDATION')
    t.notOk(JSON.stringify(lines).includes(token), 'the token is not logged either')
    t.match(res.json().message, /name/)
  })

  t.test('a server error: logged at error level with its stack, answered as Fastify does', async (t) => {
    lines.length = 0
    const res = await app.inject({ url: '/broken' })
    t.equal(res.statusCode, 500)
    t.same(res.json(), { statusCode: 500, error: 'Internal Server Error', message: 'the database is gone' })
    const errors = lines.filter((line) => line.level === 50)
    t.equal(errors.length, 1, 'one error line')
    t.match(errors[0], { msg: 'the database is gone', err: { message: 'the database is gone', stack: /\n\s+at / } })
    t.same(lines.filter((line) => line.msg === 'request refused'), [], 'not a refusal')
  })
})
