import t from 'tap'
import Fastify from 'fastify'
import fastifyLogin from '../lib/index.js'
import { CookieJar, send, TEST_KEY } from './helpers.js'

/*
 * The README's recipe for ending every session and remember-me cookie of one
 * user (after a password change, or "log out everywhere"): the stored id
 * carries a per-user version, and loadUser refuses a stale one.
 */

interface VersionedUser { id: string, name: string, version: number }

t.test('a versioned id ends every session and remember cookie of a user when the version moves', async (t) => {
  const users = new Map<string, VersionedUser>([['1', { id: '1', name: 'alice', version: 1 }], ['2', { id: '2', name: 'bob', version: 1 }]])
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyLogin, {
    session: { key: TEST_KEY },
    getUserId: (user) => `${(user as VersionedUser).id}.${(user as VersionedUser).version}`,
    loadUser: (storedId) => {
      const [id, version] = storedId.split('.')
      const user = users.get(id ?? '')
      return user !== undefined && String(user.version) === version ? user : null
    }
  })
  app.post<{ Params: { id: string } }>('/login/:id', async (request, reply) => ({ ok: await reply.login(users.get(request.params.id) as VersionedUser, { remember: true }) }))
  app.get('/me', async (request) => ({ name: (request.currentUser as VersionedUser | null)?.name ?? null }))
  await app.ready()

  const laptop = new CookieJar()
  const phone = new CookieJar()
  const bob = new CookieJar()
  await send(app, laptop, 'POST', '/login/1')
  await send(app, phone, 'POST', '/login/1')
  await send(app, bob, 'POST', '/login/2')
  phone.cookies.delete('__Host-session') // the phone only has its remember-me cookie left
  t.same((await send(app, laptop, 'GET', '/me')).json(), { name: 'alice' }, 'control: laptop session')
  t.same((await send(app, phone, 'GET', '/me')).json(), { name: 'alice' }, 'control: phone restored from remember-me')

  const alice = users.get('1') as VersionedUser
  alice.version++ // password changed: log out everywhere

  t.same((await send(app, laptop, 'GET', '/me')).json(), { name: null }, 'the laptop session is over')
  const phoneSession = new CookieJar()
  phoneSession.cookies.set('__Host-remember_token', phone.cookies.get('__Host-remember_token') as string)
  const refused = await send(app, phoneSession, 'GET', '/me')
  t.same(refused.json(), { name: null }, 'the old remember cookie no longer restores the login')
  t.equal(refused.cookies.find((cookie) => cookie.name === '__Host-remember_token')?.value, '', 'and is deleted')
  t.same((await send(app, bob, 'GET', '/me')).json(), { name: 'bob' }, 'other users stay logged in')

  const again = new CookieJar()
  await send(app, again, 'POST', '/login/1')
  t.same((await send(app, again, 'GET', '/me')).json(), { name: 'alice' }, 'a new login works with the new version')
})
