import t from 'tap'
import { Writable } from 'node:stream'
import { setImmediate as tick } from 'node:timers/promises'
import type { LoginEvent } from '../lib/index.js'
import { buildApp, CookieJar, makeUsers, send } from './helpers.js'
import { EVENT_NAMES, record } from './record-events.js'

/** A logger stream that keeps every line as parsed JSON. */
function logCapture () {
  const lines: Array<Record<string, unknown>> = []
  const stream = new Writable({
    write (chunk, _encoding, callback) {
      for (const line of String(chunk).split('\n')) if (line !== '') lines.push(JSON.parse(line))
      callback()
    }
  })
  return { lines, stream }
}

t.test('userLoggedIn fires once, on the login request, with the new user', async (t) => {
  const { app } = await buildApp()
  t.teardown(() => app.close())
  const events = record(app)
  const jar = new CookieJar()

  await send(app, jar, 'POST', '/login/1')
  t.same(events.take(), [['userLoggedIn', 'alice', 'POST /login/1', 'session']])
  await send(app, jar, 'GET', '/me')
  t.same(events.take(), [], 'nothing on a later request that loads from the session')

  await send(app, jar, 'POST', '/login/3')
  t.same(events.take(), [], 'not for a refused (inactive) login')
  await send(app, jar, 'POST', '/login/3', { force: true })
  t.same(events.take(), [['userLoggedIn', 'carol', 'POST /login/3', 'session']], 'for a forced one')
})

t.test('the listener sees the request already logged in', async (t) => {
  const { app } = await buildApp()
  t.teardown(() => app.close())
  const states: unknown[] = []
  app.loginEvents.on('userLoggedIn', ({ request }: LoginEvent) => {
    states.push({ user: request.currentUser, authenticated: request.isAuthenticated() })
  })
  await app.inject({ method: 'POST', url: '/login/2' })
  t.same(states, [{ user: { id: '2', name: 'bob' }, authenticated: true }])
})

t.test('once() and off() work as on an EventEmitter', async (t) => {
  const { app } = await buildApp()
  t.teardown(() => app.close())
  const calls: string[] = []
  app.loginEvents.once('userLoggedIn', ({ user, via }) => { calls.push(`once ${(user as { name: string }).name} ${via}`) })
  const removed = (): void => { calls.push('removed') }
  app.loginEvents.on('userLoggedIn', removed)
  app.loginEvents.off('userLoggedIn', removed)

  await app.inject({ method: 'POST', url: '/login/1' })
  await app.inject({ method: 'POST', url: '/login/2' })
  t.same(calls, ['once alice session'], 'the once listener ran for the first login only')
  t.equal(app.loginEvents.listenerCount('userLoggedIn'), 0)
})

t.test('userLoggedOut fires once with the previous user', async (t) => {
  const { app } = await buildApp()
  t.teardown(() => app.close())
  const events = record(app)
  const jar = new CookieJar()
  await send(app, jar, 'POST', '/login/2')
  events.take()

  await send(app, jar, 'POST', '/logout')
  t.same(events.take(), [['userLoggedOut', 'bob', 'POST /logout', 'session']])

  await send(app, jar, 'POST', '/logout')
  t.same(events.take(), [['userLoggedOut', null, 'POST /logout', 'session']], 'a logout without a login gives the anonymous value')
})

t.test('userLoadedFromCookie fires once, on the restoring request', async (t) => {
  const { app } = await buildApp()
  t.teardown(() => app.close())
  const events = record(app)
  const jar = new CookieJar()
  await send(app, jar, 'POST', '/login/1', { remember: true })
  t.same(events.take(), [['userLoggedIn', 'alice', 'POST /login/1', 'session']], 'the login itself is not a cookie load')

  jar.cookies.delete('__Host-session')
  await send(app, jar, 'GET', '/me')
  t.same(events.take(), [['userLoadedFromCookie', 'alice', 'GET /me', 'remember']])

  await send(app, jar, 'GET', '/me')
  t.same(events.take(), [], 'the restored session serves later requests')

  const bad = await app.inject({ url: '/me', headers: { cookie: '__Host-remember_token=foo' } })
  t.equal(bad.statusCode, 200)
  t.same(events.take(), [], 'not for an invalid cookie')
})

t.test('userLoadedFromRequest fires on every request the request loader serves', async (t) => {
  const users = makeUsers()
  const { app } = await buildApp({
    loadUser: undefined,
    loadUserFromRequest: (request) => request.headers['x-api-key'] === 'key-bob' ? users.get('2') : null
  })
  t.teardown(() => app.close())
  const events = record(app)

  for (let i = 0; i < 2; i++) {
    const res = await app.inject({ url: '/private', headers: { 'x-api-key': 'key-bob' } })
    t.equal(res.statusCode, 200)
    t.same(events.take(), [['userLoadedFromRequest', 'bob', 'GET /private', 'request']], `request ${i + 1}`)
  }
  const anon = await app.inject({ url: '/me', headers: { 'x-api-key': 'wrong' } })
  t.equal(anon.statusCode, 200)
  t.same(events.take(), [], 'not when the loader finds nobody')
})

t.test('userLoginConfirmed fires once on confirmLogin()', async (t) => {
  const { app } = await buildApp()
  t.teardown(() => app.close())
  const events = record(app)
  const jar = new CookieJar()

  const none = await send(app, jar, 'POST', '/confirm')
  t.same(none.json(), { confirmed: false })
  t.same(events.take(), [], 'not without a login')

  await send(app, jar, 'POST', '/login/1', { fresh: false })
  events.take()
  const res = await send(app, jar, 'POST', '/confirm')
  t.same(res.json(), { confirmed: true })
  t.same(events.take(), [['userLoginConfirmed', 'alice', 'POST /confirm', 'session']])
  await send(app, jar, 'GET', '/fresh')
  t.same(events.take(), [], 'the confirmed login is fresh: no refresh event')
})

t.test('userUnauthorized fires once when a guard turns a request away', async (t) => {
  const { app } = await buildApp()
  t.teardown(() => app.close())
  const events = record(app)

  const res = await app.inject({ url: '/private' })
  t.equal(res.statusCode, 401)
  t.same(events.take(), [['userUnauthorized', null, 'GET /private', 'session']])

  const fresh = await app.inject({ url: '/fresh' })
  t.equal(fresh.statusCode, 401)
  t.same(events.take(), [['userUnauthorized', null, 'GET /fresh', 'session']], 'freshLoginRequired without a login is the unauthorized flow')

  await app.inject({ url: '/me' })
  t.same(events.take(), [], 'not on an open route')
})

t.test('userUnauthorized fires before a redirect to the login page too', async (t) => {
  const { app } = await buildApp({ loginUrl: '/login' })
  t.teardown(() => app.close())
  const events = record(app)
  const res = await app.inject({ url: '/private?a=1', headers: { accept: 'text/html' } })
  t.equal(res.statusCode, 302)
  t.same(events.take(), [['userUnauthorized', null, 'GET /private?a=1', 'session']])
})

t.test('userNeedsRefresh fires once for a login that is not fresh', async (t) => {
  const { app } = await buildApp()
  t.teardown(() => app.close())
  const events = record(app)
  const jar = new CookieJar()
  await send(app, jar, 'POST', '/login/2', { fresh: false })
  events.take()

  const res = await send(app, jar, 'GET', '/fresh')
  t.equal(res.statusCode, 401)
  t.same(events.take(), [['userNeedsRefresh', 'bob', 'GET /fresh', 'session']])
  await send(app, jar, 'GET', '/private')
  t.same(events.take(), [], 'loginRequired is satisfied: no event')
})

t.test('sessionProtected', async (t) => {
  t.test('basic: fires once per change of browser, with the user, who stays logged in', async (t) => {
    const { app } = await buildApp()
    t.teardown(() => app.close())
    const events = record(app)
    const jar = new CookieJar()
    await send(app, jar, 'POST', '/login/1')
    events.take()

    await send(app, jar, 'GET', '/me')
    t.same(events.take(), [], 'same browser: nothing')

    const moved = await send(app, jar, 'GET', '/me', undefined, { 'user-agent': 'other-browser' })
    t.match(moved.json(), { authenticated: true, fresh: false })
    t.same(events.take(), [['sessionProtected', 'alice', 'GET /me', 'session']])

    await send(app, jar, 'GET', '/me', undefined, { 'user-agent': 'other-browser' })
    t.same(events.take(), [], 'not again for the same new browser')
  })

  t.test('strong: fires once with the anonymous value, and the login is dropped', async (t) => {
    const { app } = await buildApp({ sessionProtection: 'strong' })
    t.teardown(() => app.close())
    const events = record(app)
    const jar = new CookieJar()
    await send(app, jar, 'POST', '/login/1', { remember: true })
    events.take()

    const res = await send(app, jar, 'GET', '/me', undefined, { 'user-agent': 'other-browser' })
    t.match(res.json(), { user: null, authenticated: false })
    t.same(events.take(), [['sessionProtected', null, 'GET /me', 'session']], 'no cookie restore event: the remember cookie is cleared instead')

    await send(app, jar, 'GET', '/me', undefined, { 'user-agent': 'other-browser' })
    t.same(events.take(), [], 'nothing left to protect')
  })

  t.test('off: never fires', async (t) => {
    const { app } = await buildApp({ sessionProtection: false })
    t.teardown(() => app.close())
    const events = record(app)
    const jar = new CookieJar()
    await send(app, jar, 'POST', '/login/1')
    events.take()
    const res = await send(app, jar, 'GET', '/me', undefined, { 'user-agent': 'other-browser' })
    t.match(res.json(), { authenticated: true, fresh: true })
    t.same(events.take(), [])
  })
})

t.test('failing listeners do not break the request', async (t) => {
  t.test('a throwing and a rejecting listener: 200, other listeners run, errors are logged', async (t) => {
    const logs = logCapture()
    const { app } = await buildApp({}, undefined, { logger: { level: 'error', stream: logs.stream } })
    t.teardown(() => app.close())
    const calls: string[] = []
    app.loginEvents.on('userLoggedIn', () => {
      calls.push('throws')
      throw new Error('listener exploded')
    })
    app.loginEvents.on('userLoggedIn', async () => {
      calls.push('rejects')
      await tick()
      throw new Error('async listener exploded')
    })
    app.loginEvents.on('userLoggedIn', ({ user }: LoginEvent) => {
      calls.push(`records ${(user as { name: string }).name}`)
    })
    const jar = new CookieJar()

    const res = await send(app, jar, 'POST', '/login/1')
    t.equal(res.statusCode, 200)
    t.same(res.json(), { ok: true })
    t.same(calls, ['throws', 'rejects', 'records alice'], 'every listener ran, in order')
    t.match((await send(app, jar, 'GET', '/me')).json(), { user: { name: 'alice' }, authenticated: true }, 'the login was stored')

    await tick()
    await tick()
    const failures = logs.lines.filter((line) => line.event === 'userLoggedIn')
    t.equal(failures.length, 2, 'both failures are logged')
    t.match(failures.map((line) => (line.err as { message: string }).message).sort(), ['async listener exploded', 'listener exploded'])
  })

  t.test('on the guard, logout and protection events too', async (t) => {
    const { app } = await buildApp({}, undefined, { logger: { level: 'fatal' } })
    t.teardown(() => app.close())
    const ran: string[] = []
    for (const name of EVENT_NAMES) {
      app.loginEvents.on(name, () => { throw new Error(`${name} listener exploded`) })
      app.loginEvents.on(name, async () => { throw new Error(`${name} async listener exploded`) })
      app.loginEvents.on(name, () => { ran.push(name) })
    }
    const jar = new CookieJar()

    t.equal((await app.inject({ url: '/private' })).statusCode, 401, 'still the 401, not a 500')
    t.equal((await send(app, jar, 'POST', '/login/1', { fresh: false, remember: true })).statusCode, 200)
    t.equal((await send(app, jar, 'GET', '/fresh')).statusCode, 401, 'still the refresh 401')
    t.equal((await send(app, jar, 'POST', '/confirm')).statusCode, 200)
    t.equal((await send(app, jar, 'GET', '/me', undefined, { 'user-agent': 'other' })).statusCode, 200)
    jar.cookies.delete('__Host-session')
    const restored = await send(app, jar, 'GET', '/me')
    t.match(restored.json(), { user: { name: 'alice' } }, 'the cookie restore still works')
    t.equal((await send(app, jar, 'POST', '/logout')).statusCode, 200)
    t.match((await send(app, jar, 'GET', '/me')).json(), { user: null, authenticated: false }, 'the logout still works')

    t.same(ran, [
      'userUnauthorized',
      'userLoggedIn',
      'userNeedsRefresh',
      'userLoginConfirmed',
      'sessionProtected',
      'userLoadedFromCookie',
      'userLoggedOut'
    ], 'the recording listeners all ran')
  })
})
