import t from 'tap'
import Fastify from 'fastify'
import fastifyLogin, {
  freshJwtRequired,
  freshLoginRequired,
  jwtOptional,
  jwtRequired,
  loginRequired,
  refreshJwtRequired,
  verifyFreshLogin,
  verifyLogin
} from '../lib/index.js'
import { authenticate, buildApp, getTokens, loggedIn, makeUsers, send, TEST_KEY, type TestUser } from './helpers.js'

/*
 * No way of writing a guarded route leaves it open: the guards are named
 * exports usable in any scope, the JWT guard decorators exist without `jwt`,
 * and wherever a guard cannot do its job it refuses with an error that names
 * the cause, never a 2xx.
 */

const SESSION_GUARDS = { loginRequired, freshLoginRequired, verifyLogin, verifyFreshLogin }
const JWT_GUARDS = { jwtRequired, jwtOptional, freshJwtRequired, refreshJwtRequired }
const SECRET = 'guard-exports-test-secret-0123456789abcdef'

t.test('the exported session guards work as hooks in any scope that sees the plugin', async (t) => {
  const { app } = await buildApp({}, async (app) => {
    await app.register(async (scope) => {
      for (const [name, guard] of Object.entries(SESSION_GUARDS)) {
        scope.get(`/x/${name}`, { preHandler: guard }, async (request) => ({ name: (request.currentUser as TestUser).name }))
      }
    })
  })
  t.teardown(() => app.close())
  const jar = await loggedIn(app, '1')
  for (const name of Object.keys(SESSION_GUARDS)) {
    t.equal((await app.inject({ url: `/x/${name}` })).statusCode, 401, `${name}: refused without a login`)
    const res = await send(app, jar, 'GET', `/x/${name}`)
    t.same([res.statusCode, res.json()], [200, { name: 'alice' }], `${name}: passes with one`)
  }
})

t.test('an exported guard in a scope that does not see the plugin refuses every request, naming the cause', async (t) => {
  const users = makeUsers()
  const app = Fastify()
  t.teardown(() => app.close())
  // The plugin lives in one encapsulated scope; a sibling (as @fastify/autoload makes them) does not see it.
  await app.register(async (auth) => {
    await auth.register(fastifyLogin, { session: { key: TEST_KEY }, loadUser: (id) => users.get(id) ?? null })
  })
  let ran = 0
  await app.register(async (sibling) => {
    t.equal(sibling.loginRequired, undefined, 'the decorator is not there (Fastify would ignore it and run the route for anyone)')
    for (const [name, guard] of Object.entries({ ...SESSION_GUARDS, ...JWT_GUARDS })) {
      sibling.get(`/open/${name}`, { preHandler: guard }, async () => { ran++; return 'secret' })
    }
  })
  await app.ready()

  for (const name of Object.keys({ ...SESSION_GUARDS, ...JWT_GUARDS })) {
    const res = await app.inject({ url: `/open/${name}` })
    t.equal(res.statusCode, 500, `${name}: refused`)
    t.equal(res.json().code, 'FST_LOGIN_NOT_REGISTERED')
    t.match(res.json().message, new RegExp(`${name} guards a route in a scope where the plugin is not registered`))
  }
  t.equal(ran, 0, 'no handler ran')
  const awaited = loginRequired(await Promise.resolve({ server: app } as never), {} as never)
  await t.rejects(awaited as Promise<unknown>, { code: 'FST_LOGIN_NOT_REGISTERED' }, 'awaited from app code, it rejects')
})

t.test('without jwt, the JWT guard decorators exist and refuse; routes that use them stop ready()', async (t) => {
  const { app } = await buildApp()
  t.teardown(() => app.close())
  for (const name of Object.keys(JWT_GUARDS) as Array<keyof typeof JWT_GUARDS>) {
    t.type(app[name], 'function', `app.${name} is defined`)
    await t.rejects(app[name]({} as never, {} as never) as Promise<void>, { code: 'FST_LOGIN_JWT_DISABLED', message: new RegExp(`${name} needs the \`jwt\` option`) })
  }

  for (const [label, pick] of [['decorator', (a: typeof app) => a.jwtRequired], ['export', () => jwtRequired], ['export in an array', () => [loginRequired, refreshJwtRequired]]] as const) {
    const other = Fastify()
    t.teardown(() => other.close())
    await other.register(fastifyLogin, { session: { key: TEST_KEY }, loadUser: () => null })
    const wanted = { code: 'FST_LOGIN_JWT_DISABLED', message: /\(route GET \/api\) needs the `jwt` option/ }
    t.throws(() => other.get('/api', { preHandler: pick(other) as never }, async () => 'open?'), wanted, `${label}: declaring the route throws`)
    const inPlugin = Fastify()
    t.teardown(() => inPlugin.close())
    await inPlugin.register(fastifyLogin, { session: { key: TEST_KEY }, loadUser: () => null })
    inPlugin.register(async (scope) => { scope.get('/api', { preHandler: pick(scope) as never }, async () => 'open?') })
    await t.rejects(async () => { await inPlugin.ready() }, wanted, `${label}: declared in a plugin, it stops ready()`)
  }

  const hookOnly = Fastify()
  t.teardown(() => hookOnly.close())
  await hookOnly.register(fastifyLogin, { session: { key: TEST_KEY }, loadUser: () => null })
  hookOnly.addHook('preHandler', hookOnly.jwtRequired) // not seen by onRoute: refused per request instead
  hookOnly.get('/api', async () => 'open?')
  const res = await hookOnly.inject({ url: '/api' })
  t.equal(res.statusCode, 500)
  t.equal(res.json().code, 'FST_LOGIN_JWT_DISABLED')
})

t.test('the exported JWT guards work like the decorators, and skip the session load like them', async (t) => {
  const loads: string[] = []
  const users = makeUsers()
  const { app } = await buildApp({
    loadUser: (id) => { loads.push(id); return users.get(id) ?? null },
    jwt: { secret: SECRET, authenticate }
  }, (app) => {
    for (const [name, guard] of Object.entries(JWT_GUARDS)) {
      app.get(`/j/${name}`, { preHandler: guard }, async (request) => ({ name: (request.currentUser as TestUser | null)?.name ?? null }))
    }
  })
  t.teardown(() => app.close())
  const { access_token: access, refresh_token: refresh } = await getTokens(app)
  loads.length = 0
  for (const name of ['jwtRequired', 'jwtOptional', 'freshJwtRequired']) {
    t.equal((await app.inject({ url: `/j/${name}`, headers: { authorization: `Bearer ${access}` } })).json().name, 'alice', name)
  }
  t.equal((await app.inject({ url: '/j/refreshJwtRequired', headers: { authorization: `Bearer ${refresh}` } })).json().name, 'alice')
  t.equal((await app.inject({ url: '/j/jwtRequired' })).statusCode, 401)
  t.same((await app.inject({ url: '/j/jwtOptional' })).json(), { name: null })
  t.same(loads, ['1', '1', '1', '1'], 'one load per token check, none by the session auto-load (jwtOptional keeps it)')
})
