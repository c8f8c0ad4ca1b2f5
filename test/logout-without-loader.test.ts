import t from 'tap'
import { setImmediate as tick } from 'node:timers/promises'
import { buildApp, CookieJar, loggedIn, makeUsers, send, setCookie } from './helpers.js'

/*
 * reply.logout() never depends on the user loader: a database that is down,
 * or a stored id that the loader chokes on, must not keep a user from ending
 * their login (before, the logout answered 500 and cleared nothing).
 */

t.test('with a loader that throws, logout still ends the login and deletes the remember cookie', async (t) => {
  for (const mode of ['sync', 'async'] as const) {
    const users = makeUsers()
    let broken = false
    const { app } = await buildApp({
      loadUser: mode === 'sync'
        ? (id) => { if (broken) throw new Error('database down'); return users.get(id) ?? null }
        : async (id) => { await tick(); if (broken) throw new Error('database down'); return users.get(id) ?? null }
    })
    t.teardown(() => app.close())
    const loggedOut: unknown[] = []
    app.loginEvents.on('userLoggedOut', ({ user }) => loggedOut.push(user))
    const jar = await loggedIn(app, '1', { remember: true })
    const copy = jar.header()
    broken = true

    t.equal((await send(app, jar, 'GET', '/private')).statusCode, 500, `${mode}: the guard refuses while the loader fails`)
    const logout = await send(app, jar, 'POST', '/logout')
    t.equal(logout.statusCode, 200, `${mode}: the logout answers normally`)
    t.same(logout.json(), { ok: true })
    t.equal(setCookie(logout, '__Host-remember_token')?.maxAge, 0, `${mode}: the remember cookie is deleted`)
    t.ok(setCookie(logout, '__Host-session'), `${mode}: the session is rewritten without the login`)
    t.same(loggedOut, [null], `${mode}: userLoggedOut fires, with the anonymous value`)

    broken = false
    const after = await send(app, jar, 'GET', '/private')
    t.equal(after.statusCode, 401, `${mode}: once the loader works again, the browser is logged out`)
    t.equal((await app.inject({ url: '/me', headers: { cookie: copy } })).json().authenticated, false,
      `${mode}: a copy of the cookies from before the logout is refused too: the record and the remember-me device were ended without the loader`)
  }
})

t.test('a logout on a route that skips the automatic load does not call the loader when it fails', async (t) => {
  const { app } = await buildApp({ loadUser: () => { throw new Error('database down') } }, (app) => {
    app.post('/bye', { config: { autoLoadUser: false } }, async (_request, reply) => {
      await reply.logout()
      return { ok: true }
    })
  })
  t.teardown(() => app.close())
  const jar = new CookieJar().store(await app.inject({ method: 'POST', url: '/login/2' }))
  const res = await send(app, jar, 'POST', '/bye')
  t.equal(res.statusCode, 200)
  t.ok(setCookie(res, '__Host-session'), 'the login is cleared')
})
