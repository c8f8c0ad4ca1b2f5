import t, { type Test } from 'tap'
import { MemoryStore } from '../lib/index.js'
import { buildApp, CookieJar, login, me, send } from './helpers.js'

/*
 * Ending a session ends its remember-me device too: a revoked or logged-out
 * device cannot come back through its remember cookie, and a logout
 * everywhere (or revokeAll) cuts off every remember cookie of the user. A
 * timeout does not: remember-me exists to come back after one.
 */

const MINUTE = 60_000

async function clockApp (t: Test) {
  let now = Date.parse('2026-12-02T08:00:00Z')
  const { app } = await buildApp({ clock: () => now }, (app) => {
    app.post('/logout-everywhere', async (_request, reply) => {
      await reply.logout({ everywhere: true })
      return { ok: true }
    })
  })
  t.teardown(() => app.close())
  /** A device logged in with remember-me: its jar, and its remember cookie alone (as after the browser closed). */
  const device = async (id = '1') => {
    const jar = new CookieJar().store(await login(app, id, { remember: true }))
    const rememberOnly = (): string => `__Host-remember_token=${jar.cookies.get('__Host-remember_token') as string}`
    return { jar, rememberOnly }
  }
  return { app, device, advance: (ms: number) => { now += ms } }
}

t.test('a timed-out session comes back through remember-me, as a new session', async (t) => {
  const { app, device, advance } = await clockApp(t)
  const phone = await device()
  advance(31 * MINUTE)
  const back = await me(app, phone.jar)
  t.match(back, { authenticated: true, remembered: true, fresh: false }, 'restored after the idle timeout')
  t.same((await app.loginSessions.list('1')).map((s) => s.remembered), [true], 'one session, marked remembered')
})

t.test('revoke() ends the device: its remember cookie no longer logs it in', async (t) => {
  const { app, device, advance } = await clockApp(t)
  const phone = await device()
  advance(1000)
  const laptop = await device()
  const [newest] = await app.loginSessions.list('1')
  t.equal(await app.loginSessions.revoke('1', newest?.id as string), true, 'the laptop (newest) is revoked')
  const res = await app.inject({ url: '/private', headers: { cookie: laptop.rememberOnly() } })
  t.equal(res.statusCode, 401, 'its remember cookie is refused')
  t.equal(res.cookies.find((c) => c.name === '__Host-remember_token')?.maxAge, 0, 'and cleared')
  t.equal((await app.inject({ url: '/private', headers: { cookie: phone.rememberOnly() } })).statusCode, 200, "the phone's remember cookie still works")
})

t.test('revokeAll({ except }) ends the other devices and keeps the remember cookie of the kept one', async (t) => {
  const { app, device, advance } = await clockApp(t)
  const phone = await device()
  advance(1000)
  const laptop = await device()
  const sessions = await app.loginSessions.list('1')
  const oldest = sessions[sessions.length - 1]?.id as string
  t.equal(await app.loginSessions.revokeAll('1', { except: oldest }), 1)
  t.equal((await app.inject({ url: '/private', headers: { cookie: laptop.rememberOnly() } })).statusCode, 401, 'the ended device cannot come back')
  t.equal((await app.inject({ url: '/private', headers: { cookie: phone.rememberOnly() } })).statusCode, 200, 'the kept one can')
})

t.test('logout everywhere cuts off every remember cookie, also of devices whose session had timed out', async (t) => {
  const { app, device, advance } = await clockApp(t)
  const old = await device()
  advance(31 * MINUTE)
  const here = await device()
  const bob = await device('2')
  t.same((await app.loginSessions.list('1')).map((s) => s.kind), ['session', 'remembered'], "the old device's session timed out: it is listed as remembered, not as a session")
  await send(app, here.jar, 'POST', '/logout-everywhere')
  t.equal((await app.inject({ url: '/private', headers: { cookie: old.rememberOnly() } })).statusCode, 401, 'the unlisted device is cut off too')
  t.equal((await app.inject({ url: '/private', headers: { cookie: here.rememberOnly() } })).statusCode, 401, 'and a copy of this one')
  t.equal((await app.inject({ url: '/private', headers: { cookie: bob.rememberOnly() } })).statusCode, 200, 'other users are not touched')

  advance(1)
  const again = await device()
  t.equal((await app.inject({ url: '/private', headers: { cookie: again.rememberOnly() } })).statusCode, 200, 'a login after the cut-off remembers again')
})

t.test('revokeAll() without except cuts off remember cookies too', async (t) => {
  const { app, device } = await clockApp(t)
  const phone = await device()
  t.equal(await app.loginSessions.revokeAll('1'), 1)
  t.equal((await app.inject({ url: '/private', headers: { cookie: phone.rememberOnly() } })).statusCode, 401)
})

t.test('a logout leaves nothing behind in the store: no session record, no remember-me device', async (t) => {
  const store = new MemoryStore()
  const { app } = await buildApp({ store })
  t.teardown(() => app.close())
  const jar = new CookieJar().store(await login(app, '1', { remember: true }))
  t.equal(store.keysOfUser('1').length, 2, 'a login with remember-me: its session and its device')
  const rememberOnly = `__Host-remember_token=${jar.cookies.get('__Host-remember_token') as string}`
  await send(app, jar, 'POST', '/logout')
  t.same(store.keysOfUser('1'), [], 'both gone')
  t.equal(store.size, 0, 'and nothing else was written')
  t.equal((await app.inject({ url: '/private', headers: { cookie: rememberOnly } })).statusCode, 401, 'a copy of the remember cookie is refused')
})
