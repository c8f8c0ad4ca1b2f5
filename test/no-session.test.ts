import t from 'tap'
import secureSession from '@fastify/secure-session'
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify'
import fastifyLogin from '../lib/index.js'
import { ANONYMOUS, BROWSER_ACCEPT, buildApp, makeUsers, TEST_KEY, type TestUser } from './helpers.js'

/*
 * Apps whose requests carry no session: `session: false` (API-only apps,
 * where users come from a request loader), and a `sessionName` that names no
 * session, a setup mistake that must be reported plainly.
 */

const users = makeUsers()
const ALICE = { id: '1', name: 'alice' }

/** Users by API key, as an API-only app might load them. */
function byApiKey (request: FastifyRequest): TestUser | null {
  const key = request.headers['x-api-key']
  return (key === 'key-alice' ? users.get('1') : key === 'key-carol' ? users.get('3') : undefined) ?? null
}

t.test('session: false: an API-only app with a request loader', async (t) => {
  const { app } = await buildApp({ session: false, loadUser: undefined, loadUserFromRequest: byApiKey, loginUrl: '/login' })
  t.teardown(() => app.close())

  const me = await app.inject({ url: '/me', headers: { 'x-api-key': 'key-alice' } })
  t.equal(me.statusCode, 200)
  t.same(me.json(), { user: ALICE, authenticated: true, fresh: false, remembered: false }, 'the request loader gives the user; without a session no login is fresh')
  t.same(me.cookies, [], 'no cookie at all')
  t.same((await app.inject({ url: '/me' })).json(), ANONYMOUS, 'no key: anonymous')
  t.same((await app.inject({ url: '/me', headers: { 'x-api-key': 'key-carol' } })).json(), ANONYMOUS, 'an inactive user is not loaded')

  const priv = await app.inject({ url: '/private', headers: { 'x-api-key': 'key-alice' } })
  t.equal(priv.statusCode, 200)
  t.same(priv.json(), { name: 'alice' })
  const refused = await app.inject({ url: '/private', headers: { accept: BROWSER_ACCEPT } })
  t.equal(refused.statusCode, 302, 'an anonymous browser is still sent to the login page')
  t.equal(refused.headers.location, '/login?next=%2Fprivate')

  const fresh = await app.inject({ url: '/fresh', headers: { 'x-api-key': 'key-alice' } })
  t.equal(fresh.statusCode, 401, 'freshLoginRequired cannot be met without a session login')
  t.equal(fresh.json().code, 'FST_LOGIN_FRESH_REQUIRED')

  const login = await app.inject({ method: 'POST', url: '/login/1' })
  t.equal(login.statusCode, 500, 'reply.login() is a programming error here')
  t.equal(login.json().code, 'FST_LOGIN_INVALID_USER')
  t.match(login.json().message, /needs the loadUser option/)
  t.same(login.cookies, [], 'and sets no cookie')
})

t.test('session: false with loadUser: the session user is never looked for, and reply.login() has nowhere to go', async (t) => {
  const seen: string[] = []
  const { app } = await buildApp({
    session: false,
    loadUser: (id) => { seen.push(id); return users.get(id) ?? null },
    loadUserFromRequest: byApiKey
  })
  t.teardown(() => app.close())

  t.same((await app.inject({ url: '/me', headers: { 'x-api-key': 'key-alice' } })).json(), { user: ALICE, authenticated: true, fresh: false, remembered: false })
  const login = await app.inject({ method: 'POST', url: '/login/1' })
  t.equal(login.statusCode, 500)
  t.equal(login.json().code, 'FST_LOGIN_SESSIONS_DISABLED')
  t.match(login.json().message, /session: false/, 'the message names the cause')
  t.same(login.cookies, [], 'no cookie set')
  t.same(seen, [], 'loadUser was never called')
})

t.test('a sessionName that names no session: every request that needs the user is a 500 that says why', async (t) => {
  async function start (sessionName: string | undefined): Promise<FastifyInstance> {
    const app = Fastify()
    t.teardown(() => app.close())
    await app.register(secureSession, { key: TEST_KEY, sessionName: 'userSession', cookie: { path: '/' } })
    await app.register(fastifyLogin, { loadUser: (id) => users.get(id) ?? null, rememberMe: false, ...(sessionName === undefined ? {} : { sessionName }) })
    app.post('/login', async (_request, reply) => ({ ok: await reply.login(users.get('1') as object) }))
    app.get('/me', async (request) => ({ user: request.currentUser }))
    app.get('/health', { config: { autoLoadUser: false } }, async () => 'ok')
    await app.ready()
    return app
  }

  const wrong = await start(undefined) // the default 'session' is not the name the app gave
  const res = await wrong.inject({ url: '/me' })
  t.equal(res.statusCode, 500)
  t.same(res.json(), {
    statusCode: 500,
    code: 'FST_LOGIN_NO_SESSION',
    error: 'Internal Server Error',
    message: 'fastify-login: request.session is missing; is @fastify/secure-session registered in this scope?'
  })
  t.equal((await wrong.inject({ method: 'POST', url: '/login' })).json().code, 'FST_LOGIN_NO_SESSION', 'reply.login() too')
  t.equal((await wrong.inject({ url: '/health' })).statusCode, 200, 'a route that never needs the user is unaffected')

  const right = await start('userSession')
  const login = await right.inject({ method: 'POST', url: '/login' })
  t.same(login.json(), { ok: true }, 'control: with the right sessionName the same app logs in')
  const cookie = login.cookies.map((c) => `${c.name}=${encodeURIComponent(c.value)}`).join('; ')
  t.same((await right.inject({ url: '/me', headers: { cookie } })).json(), { user: ALICE })
})
