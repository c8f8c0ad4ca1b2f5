import t, { type Test } from 'tap'
import type { SessionEndedEvent } from '../lib/index.js'
import { buildApp, CookieJar, loggedIn, me } from './helpers.js'

/*
 * A user's devices: `fastify.loginSessions.list()`, `revoke()` of one
 * session (the others stay) and `revokeAll()` with `except`, each honoured
 * on the ended session's next request.
 */

async function devicesApp (t: Test) {
  const ended: SessionEndedEvent[] = []
  const { app } = await buildApp({}, (app) => {
    app.get('/whoami', async (request) => {
      await request.loadCurrentUser()
      return { id: request.loginSession?.id ?? null }
    })
    app.loginEvents.on('sessionEnded', (event) => { ended.push(event) })
  })
  t.teardown(() => app.close())
  /** Logs alice in from a device with this User-Agent; its jar and session id. */
  const device = async (userAgent: string): Promise<{ jar: CookieJar, id: string }> => {
    const jar = new CookieJar().store(await app.inject({ method: 'POST', url: '/login/1', headers: { 'user-agent': userAgent } }))
    const res = await app.inject({ url: '/whoami', headers: { cookie: jar.header(), 'user-agent': userAgent } })
    return { jar, id: res.json().id }
  }
  return { app, ended, device }
}

t.test('list() gives every live session of the user, newest first, with public ids', async (t) => {
  const { app, device } = await devicesApp(t)
  const laptop = await device('Laptop')
  const phone = await device('Phone')
  await loggedIn(app, '2')
  const sessions = await app.loginSessions.list('1')
  t.same(sessions.map((s) => s.userAgent).sort(), ['Laptop', 'Phone'], "alice's two sessions, not bob's")
  t.same(new Set(sessions.map((s) => s.id)), new Set([laptop.id, phone.id]), 'ids are those of request.loginSession')
  t.ok(sessions[0] !== undefined && sessions[1] !== undefined && sessions[0].createdAt >= sessions[1].createdAt, 'newest first')
  t.same(await app.loginSessions.list('nobody'), [], 'an unknown user has none')
  await t.rejects(app.loginSessions.list(''), TypeError, 'an empty user id is a programming error')
})

t.test('revoke() ends one device; the others stay logged in', async (t) => {
  const { app, device, ended } = await devicesApp(t)
  const laptop = await device('Laptop')
  const phone = await device('Phone')
  t.equal(await app.loginSessions.revoke('1', phone.id), true, 'revoke answers true for a live session')
  t.equal((await me(app, phone.jar, { 'user-agent': 'Phone' })).authenticated, false, 'the phone is logged out on its next request')
  t.equal((await me(app, laptop.jar, { 'user-agent': 'Laptop' })).authenticated, true, 'the laptop is not')
  t.same(ended.map((e) => [e.reason, e.request, e.session?.id]), [['revoked', null, phone.id]], 'sessionEnded, outside any request')
  t.equal(await app.loginSessions.revoke('1', phone.id), false, 'a second revoke answers false')
  t.equal(await app.loginSessions.revoke('2', laptop.id), false, "another user's id ends nothing")
  t.equal(await app.loginSessions.revoke('1', 'not-an-id'), false, 'garbage ids end nothing')
  t.equal(await app.loginSessions.revoke('1', 42 as unknown as string), false)
  t.equal((await me(app, laptop.jar, { 'user-agent': 'Laptop' })).authenticated, true, 'and the laptop is still in')
})

t.test('revokeAll({ except }) logs out all other devices', async (t) => {
  const { app, device } = await devicesApp(t)
  const laptop = await device('Laptop')
  const phone = await device('Phone')
  const tablet = await device('Tablet')
  t.equal(await app.loginSessions.revokeAll('1', { except: laptop.id }), 2, 'two ended')
  t.equal((await me(app, laptop.jar, { 'user-agent': 'Laptop' })).authenticated, true, 'the kept device stays')
  t.equal((await me(app, phone.jar, { 'user-agent': 'Phone' })).authenticated, false)
  t.equal((await me(app, tablet.jar, { 'user-agent': 'Tablet' })).authenticated, false)
  t.equal(await app.loginSessions.revokeAll('1'), 1, 'without except, the last one too')
  t.equal((await me(app, laptop.jar, { 'user-agent': 'Laptop' })).authenticated, false)
  t.equal(await app.loginSessions.revokeAll('1'), 0, 'nothing left to end')
})
