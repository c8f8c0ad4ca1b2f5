import t from 'tap'
import { MemoryStore } from '../lib/index.js'
import { buildApp, CookieJar, send, writeHeldStore, type TestUser } from './helpers.js'

/*
 * The user cache and a login that hands over a changed user (a password
 * form that logs the user in again, Django's update_session_auth_hash): the
 * new password is in the database before reply.login() is called, so from
 * that moment a fresh load ends the other sessions. While the login is still
 * writing its session to the store, a cached copy with the old password must
 * not keep those sessions going.
 */

interface Account extends TestUser {
  password: string
}

t.test('during a login with a new password, an old session is not let through by a cached copy', async (t) => {
  for (const userCache of [false, true]) {
    const users = new Map<string, Account>([['1', { id: '1', name: 'alice', password: 'a1' }]])
    const inner = new MemoryStore()
    t.teardown(() => inner.close())
    // The login's store writes: holdNextWrite() holds the next one until held.release().
    const { store, held, holdNextWrite } = writeHeldStore(inner)
    const { app } = await buildApp({
      store,
      userCache,
      authVersion: (user) => (user as Account).password,
      loadUser: (id) => {
        const user = users.get(id)
        return user === undefined ? null : { ...user }
      }
    }, (app) => {
      app.post('/relogin', async (_request, reply) => ({ ok: await reply.login({ ...users.get('1') as Account }) }))
    })
    t.teardown(() => app.close())

    const phone = new CookieJar()
    t.equal((await send(app, phone, 'POST', '/relogin')).statusCode, 200)
    t.equal((await send(app, phone, 'GET', '/private')).statusCode, 200, 'the phone is logged in (and, with the cache, alice is cached)')
    // The password form on the laptop: the new password is saved, then the user is logged in again.
    ;(users.get('1') as Account).password = 'a2'
    holdNextWrite()
    const renewing = send(app, new CookieJar(), 'POST', '/relogin')
    await held.arrived
    const during = await send(app, phone, 'GET', '/private')
    held.release()
    t.equal((await renewing).statusCode, 200)
    t.equal(during.statusCode, 401, `userCache: ${userCache}: the phone's old-password session is refused while the login is under way`)
    t.equal((await send(app, phone, 'GET', '/private')).statusCode, 401, `userCache: ${userCache}: and after it`)
  }
})

t.test('a login refused because the user is inactive drops the cached copy too', async (t) => {
  for (const userCache of [false, true]) {
    const users = new Map<string, Account>([['1', { id: '1', name: 'alice', password: 'a1' }]])
    const { app } = await buildApp({
      userCache,
      loadUser: (id) => {
        const user = users.get(id)
        return user === undefined ? null : { ...user }
      }
    }, (app) => {
      app.post('/relogin', async (_request, reply) => ({ ok: await reply.login({ ...users.get('1') as Account }) }))
    })
    t.teardown(() => app.close())
    const phone = new CookieJar()
    await send(app, phone, 'POST', '/relogin')
    t.equal((await send(app, phone, 'GET', '/private')).statusCode, 200)
    // Deactivated; a login attempt hands the plugin the user as she is now, and is refused.
    ;(users.get('1') as Account).isActive = false
    t.same((await send(app, new CookieJar(), 'POST', '/relogin')).json(), { ok: false })
    t.equal((await send(app, phone, 'GET', '/private')).statusCode, 401, `userCache: ${userCache}: her session ends at its next request`)
  }
})

t.test('a remember-me restore that finds the user inactive drops the cached copy', async (t) => {
  for (const userCache of [false, true]) {
    const users = new Map<string, Account>([['1', { id: '1', name: 'alice', password: 'a1' }]])
    const { app } = await buildApp({
      userCache,
      loadUser: (id) => {
        const user = users.get(id)
        return user === undefined ? null : { ...user }
      }
    }, (app) => {
      app.post('/relogin', async (request, reply) => ({ ok: await reply.login({ ...users.get('1') as Account }, request.body as { remember?: boolean }) }))
    })
    t.teardown(() => app.close())
    const phone = new CookieJar()
    await send(app, phone, 'POST', '/relogin', {})
    t.equal((await send(app, phone, 'GET', '/private')).statusCode, 200)
    const res = await app.inject({ method: 'POST', url: '/relogin', payload: { remember: true } })
    const laptop = new CookieJar()
    for (const cookie of res.cookies) if (cookie.name === '__Host-remember_token') laptop.cookies.set(cookie.name, cookie.value)
    t.equal(laptop.cookies.size, 1, 'the laptop keeps only its remember-me cookie')
    t.equal((await send(app, phone, 'GET', '/private')).statusCode, 200, 'the phone again (with the cache, alice is cached again)')
    ;(users.get('1') as Account).isActive = false
    // The laptop's restore loads her afresh and finds her deactivated.
    t.equal((await send(app, laptop, 'GET', '/private')).statusCode, 401)
    t.equal((await send(app, phone, 'GET', '/private')).statusCode, 401, `userCache: ${userCache}: the phone's session ends at its next request`)
  }
})
