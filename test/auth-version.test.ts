import t, { type Test } from 'tap'
import { MemoryStore, type SessionEndedEvent } from '../lib/index.js'
import { buildApp, CookieJar, loggedIn, me, send, type TestUser } from './helpers.js'

/*
 * authVersion(user): a session made under one version of the user's
 * credentials ends when the loaded user has another (Django's session auth
 * hash). The device that changed the password logs in again and stays in.
 */

type VersionedUser = TestUser & { password: string }

async function versionedApp (t: Test, store?: false) {
  const ended: SessionEndedEvent[] = []
  const built = await buildApp({
    // Every test user starts with the same (pretend) password hash.
    authVersion: (user) => (user as Partial<VersionedUser>).password ?? 'old-hash',
    ...(store === false ? { store } : {})
  }, (app) => {
    app.loginEvents.on('sessionEnded', (event) => { ended.push(event) })
    // The password change: a new hash, then reply.login() on this device.
    app.post('/password', { preHandler: app.loginRequired }, async (request, reply) => {
      const user = request.currentUser as VersionedUser
      user.password = 'new-hash'
      await reply.login(user)
      return { ok: true }
    })
  })
  t.teardown(() => built.app.close())
  return { ...built, ended }
}

for (const mode of ['with a store', 'with store: false'] as const) {
  t.test(`a password change ends the user's other sessions, not this one (${mode})`, async (t) => {
    const { app, ended } = await versionedApp(t, mode === 'with store: false' ? false : undefined)
    const here = await loggedIn(app, '1')
    const other = await loggedIn(app, '1')
    const bob = await loggedIn(app, '2')
    const changed = await send(app, here, 'POST', '/password')
    t.equal(changed.statusCode, 200)
    t.equal((await me(app, here)).authenticated, true, 'the device that changed it stays logged in')
    t.equal((await me(app, other)).authenticated, false, 'the other session ended at its next request')
    t.equal((await me(app, bob)).authenticated, true, 'other users are not touched')
    t.same(ended.map((event) => [event.userId, event.reason]), [['1', 'authVersion']], 'sessionEnded with reason authVersion')
  })
}

t.test('the version is stored hashed, never as the app gave it', async (t) => {
  const store = new MemoryStore()
  const { app } = await buildApp({ store, authVersion: () => 'pbkdf2$secret-hash' })
  t.teardown(() => app.close())
  await loggedIn(app, '1')
  const keys = store.keysOfUser('1')
  t.equal(keys.length, 1)
  const record = store.get(keys[0] as string) as Record<string, unknown>
  t.match(record.v, /^[A-Za-z0-9_-]{43}$/, 'a SHA-256')
  t.notOk(JSON.stringify(record).includes('secret-hash'), 'the value itself is not in the store')
})

t.test('authVersion must return a string: a login with anything else is a 500 that logs nobody in', async (t) => {
  const { app } = await buildApp({ authVersion: () => 42 as unknown as string })
  t.teardown(() => app.close())
  const res = await app.inject({ method: 'POST', url: '/login/1' })
  t.equal(res.statusCode, 500)
  t.equal(res.json().code, 'FST_LOGIN_INVALID_USER')
  t.equal((await me(app, new CookieJar().store(res))).authenticated, false)
})
