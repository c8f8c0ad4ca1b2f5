import t, { type Test } from 'tap'
import Fastify from 'fastify'
import fastifyLogin, { MemoryStore } from '../lib/index.js'
import { CookieJar, TEST_KEY, heldPoint, type HeldPoint } from './helpers.js'

/*
 * Remember-me devices against requests running at the same time as a
 * revoke: a touch must not bring an ended device back, a restore already in
 * flight must not survive a logout everywhere, revokeAll({ except }) keeps
 * the kept device whose tabs restored at once,
 * and a second login in one browser ends the first login's device. A gate
 * in the user loader holds one request at a chosen point.
 */

const REMEMBER = '__Host-remember_token'
const MINUTE = 60_000

async function gatedApp (t: Test, options: { refreshEachRequest?: boolean } = {}) {
  let now = Date.parse('2026-12-02T08:00:00Z')
  let gate: HeldPoint | null = null
  const alice = { id: '1', name: 'alice' }
  const app = Fastify()
  await app.register(fastifyLogin, {
    session: { key: TEST_KEY },
    store: new MemoryStore({ clock: () => now }),
    clock: () => now,
    rememberMe: { refreshEachRequest: options.refreshEachRequest ?? false },
    loadUser: async (id, request) => {
      const held = gate
      if (held !== null && request.headers['x-gate'] === '1') {
        gate = null
        held.reached()
        await held.wait
      }
      return id === '1' ? alice : null
    }
  })
  app.post('/login', async (request, reply) => ({ ok: await reply.login(alice, { remember: (request.query as { r?: string }).r !== '0' }) }))
  app.post('/logout', async (_request, reply) => { await reply.logout(); return { ok: true } })
  app.post('/logout-everywhere', async (_request, reply) => { await reply.logout({ everywhere: true }); return { ok: true } })
  app.get('/me', async (request) => ({ auth: request.isAuthenticated(), id: request.loginSession?.id ?? null }))
  await app.ready()
  t.teardown(() => app.close())
  const hold = (): HeldPoint => {
    gate = heldPoint()
    return gate
  }
  const rememberOnly = (jar: CookieJar): string => `${REMEMBER}=${encodeURIComponent(jar.cookies.get(REMEMBER) as string)}`
  const me = async (cookie: string, extra: Record<string, string> = {}) => (await app.inject({ url: '/me', headers: { cookie, ...extra } })).json()
  return { app, hold, rememberOnly, me, advance: (ms: number) => { now += ms } }
}

t.test('a touch racing revokeAll() does not bring the remember-me device back', async (t) => {
  const { app, hold, rememberOnly, me, advance } = await gatedApp(t, { refreshEachRequest: true })
  const jar = new CookieJar().store(await app.inject({ method: 'POST', url: '/login' }))
  advance(2 * MINUTE) // the next request touches the record and extends the device
  const gate = hold()
  const racing = app.inject({ url: '/me', headers: { cookie: jar.header(), 'x-gate': '1' } })
  await gate.arrived // it read the record and is loading the user
  t.equal(await app.loginSessions.revokeAll('1'), 1)
  gate.release()
  t.same((await racing).json(), { auth: false, id: null }, 'the racing request finds its session gone at its write: anonymous')
  t.same(await me(rememberOnly(jar)), { auth: false, id: null }, 'and the remember cookie stays ended')
})

t.test('a restore in flight does not survive a logout everywhere', async (t) => {
  const { app, hold, rememberOnly, me, advance } = await gatedApp(t)
  const jar = new CookieJar().store(await app.inject({ method: 'POST', url: '/login' }))
  const stolen = rememberOnly(jar)
  const gate = hold()
  const restoring = app.inject({ url: '/me', headers: { cookie: stolen, 'x-gate': '1' } })
  await gate.arrived // past its device check, loading the user
  t.equal((await app.inject({ method: 'POST', url: '/logout-everywhere', headers: { cookie: jar.header() } })).statusCode, 200)
  gate.release()
  const res = await restoring
  t.same(res.json(), { auth: false, id: null }, 'the restore found its device gone once its session existed, and dropped it')
  t.same(await app.loginSessions.list('1'), [], 'no session is left')
  advance(MINUTE)
  t.same(await me(new CookieJar().store(res).header()), { auth: false, id: null }, 'nor does its cookie log in later')
})

t.test('revokeAll({ except }) keeps the kept device, whose two tabs restored at once into one session', async (t) => {
  const { app, rememberOnly, me } = await gatedApp(t)
  const login = new CookieJar().store(await app.inject({ method: 'POST', url: '/login' }))
  const remember = rememberOnly(login)
  // The browser restarts without its session cookie; two tabs restore at once.
  const [one, two] = await Promise.all([
    app.inject({ url: '/me', headers: { cookie: remember } }),
    app.inject({ url: '/me', headers: { cookie: remember } })
  ])
  const kept = new CookieJar().store(two)
  const keptId = two.json().id
  t.equal(one.json().id, keptId, 'the tabs share one session: the second one joined the first restore')
  t.equal(await app.loginSessions.revokeAll('1', { except: keptId }), 1, 'the other (the login) ended')
  t.equal((await me(kept.header())).auth, true, 'the kept session works')
  t.equal((await me(rememberOnly(kept))).auth, true, "and the kept device's remember cookie still restores")
})

t.test('a second login in one browser ends the first login\'s remember-me device', async (t) => {
  const { app, rememberOnly, me } = await gatedApp(t)
  const jar = new CookieJar().store(await app.inject({ method: 'POST', url: '/login' }))
  const first = rememberOnly(jar)
  jar.store(await app.inject({ method: 'POST', url: '/login?r=0', headers: { cookie: jar.header() } }))
  t.equal((await me(first)).auth, false, 'a copy of the first remember cookie is refused once it is replaced')
  jar.store(await app.inject({ method: 'POST', url: '/logout', headers: { cookie: jar.header() } }))
  t.equal((await me(first)).auth, false, 'and after the logout')
})
