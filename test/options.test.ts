import secureSession from '@fastify/secure-session'
import Fastify, { type FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import fastifyLogin, { type FastifyLoginOptions } from '../lib/index.js'
import { CookieJar, TEST_KEY, makeUsers, rejectsOption, setCookie, testKey } from './helpers.js'

const users = makeUsers()
const loadUser = (id: string): unknown => users.get(id) ?? null
/** Options as an app might get them wrong: no type checking. */
const loose = (options: unknown): FastifyLoginOptions => options as FastifyLoginOptions
/** Valid options with `overrides` on top. */
const withBase = (overrides: Record<string, unknown>): FastifyLoginOptions => loose({ session: { key: TEST_KEY }, loadUser, ...overrides })

const withAppSession = (app: FastifyInstance): void => {
  app.register(secureSession, { key: TEST_KEY, cookie: { path: '/' } })
}

t.test('loaders', async (t) => {
  t.test('no loader at all', (t) => rejectsOption(t, loose({ session: { key: TEST_KEY } }), /loadUser/))
  t.test('jwt without loadUserFromClaims is no loader either', (t) => rejectsOption(t, loose({ session: { key: TEST_KEY }, jwt: { secret: 's'.repeat(32), authPath: false } }), /give loadUser\(id, request\) or loadUserFromRequest\(request\)/))
  t.test('options that are not an object', (t) => rejectsOption(t, loose('yes'), /options must be an object/))
  t.test('loadUser not a function', (t) => rejectsOption(t, withBase({ loadUser: 'users' }), /loadUser must be a function/))
  t.test('loadUserFromRequest not a function', (t) => rejectsOption(t, withBase({ loadUser: undefined, loadUserFromRequest: {} }), /loadUserFromRequest must be a function/))
  t.test('getUserId not a function', (t) => rejectsOption(t, withBase({ getUserId: 'id' }), /getUserId must be a function/))
  t.test('isUserActive not a function', (t) => rejectsOption(t, withBase({ isUserActive: true }), /isUserActive must be a function/))
  t.test('anonymousUser not a function', (t) => rejectsOption(t, withBase({ anonymousUser: {} }), /anonymousUser must be a function/))
  t.test('unauthorized not a function', (t) => rejectsOption(t, withBase({ unauthorized: '/login' }), /unauthorized must be a function/))
  t.test('needsRefresh not a function', (t) => rejectsOption(t, withBase({ needsRefresh: '/refresh' }), /needsRefresh must be a function/))
})

t.test('session', async (t) => {
  t.test('key too short', (t) => rejectsOption(t, withBase({ session: { key: Buffer.alloc(16) } }), /session\.key must be 32 bytes/))
  t.test('key too long', (t) => rejectsOption(t, withBase({ session: { key: Buffer.alloc(64) } }), /session\.key must be 32 bytes/))
  t.test('key as short base64', (t) => rejectsOption(t, withBase({ session: { key: Buffer.alloc(16).toString('base64') } }), /session\.key must be 32 bytes/))
  t.test('key of the wrong type', (t) => rejectsOption(t, withBase({ session: { key: 42 } }), /session\.key\[0\] must be a string or a Buffer/))
  t.test('empty key array', (t) => rejectsOption(t, withBase({ session: { key: [] } }), /session\.key must not be an empty array/))
  t.test('bad key in a key array', (t) => rejectsOption(t, withBase({ session: { key: [TEST_KEY, null] } }), /session\.key\[1\]/))
  t.test('neither key nor secret', (t) => rejectsOption(t, withBase({ session: {} }), /session needs a key/))
  t.test('session of the wrong type', (t) => rejectsOption(t, withBase({ session: 'secret' }), /session/))
  t.test('session null', (t) => rejectsOption(t, withBase({ session: null }), /session/))
  t.test('short secret', (t) => rejectsOption(t, withBase({ session: { secret: 'too short', salt: 'a'.repeat(16) } }), /session\.secret must be at least 32 bytes/))
  t.test('secret of the wrong type', (t) => rejectsOption(t, withBase({ session: { secret: 42, salt: 'a'.repeat(16) } }), /session\.secret must be a string or a Buffer/))
  t.test('salt of the wrong length', (t) => rejectsOption(t, withBase({ session: { secret: 'x'.repeat(32), salt: 'short' } }), /session\.salt/))
  t.test('secret without a salt', (t) => rejectsOption(t, withBase({ session: { secret: 'x'.repeat(32) } }), /session\.salt \(16 bytes\) is required with session\.secret/))
  for (const salt of [1234567890123456, ['sixteen-byte-slt'], null]) {
    t.test(`salt of the wrong type: ${JSON.stringify(salt)}`, (t) => rejectsOption(t, withBase({ session: { secret: 'x'.repeat(32), salt } }), /session\.salt \(16 bytes\) is required with session\.secret/))
  }
  t.test('bad cookie name', (t) => rejectsOption(t, withBase({ session: { key: TEST_KEY, cookieName: 'a b' } }), /session\.cookieName/))
  t.test('cookie options that are not an object', (t) => rejectsOption(t, withBase({ session: { key: TEST_KEY, cookie: 'secure' } }), /session\.cookie/))
  for (const expiry of [0, -1, 1.5, 'x', '10y', null]) {
    t.test(`expiry ${JSON.stringify(expiry)}`, (t) => rejectsOption(t, withBase({ session: { key: TEST_KEY, expiry } }), /session\.expiry/))
  }
  t.test('no session option and no @fastify/secure-session', (t) => rejectsOption(t, withBase({ session: undefined, rememberMe: false }), /give `session` options, or register @fastify\/secure-session/))
  t.test('session option while @fastify/secure-session is registered', (t) => rejectsOption(t, withBase({ rememberMe: false }), /`session` is given but @fastify\/secure-session is already registered/, { before: withAppSession }))
  t.test('sessionName not a string', (t) => rejectsOption(t, withBase({ sessionName: 42 }), /sessionName must be a non-empty string/))
  t.test('sessionCookieName not a string', (t) => rejectsOption(t, withBase({ session: undefined, rememberMe: false, sessionCookieName: 42 }), /sessionCookieName must be a non-empty string/, { before: withAppSession }))
})

t.test('sessionProtection', async (t) => {
  for (const value of ['none', 'Strong', true, 0]) {
    t.test(JSON.stringify(value), (t) => rejectsOption(t, withBase({ sessionProtection: value }), /sessionProtection must be/))
  }
})

t.test('rememberMe', async (t) => {
  for (const value of [true, null, 'on', 365]) {
    t.test(`rememberMe ${JSON.stringify(value)}`, (t) => rejectsOption(t, withBase({ rememberMe: value }), /rememberMe must be an object or false/))
  }
  t.test('rememberMe an array', (t) => rejectsOption(t, withBase({ rememberMe: [] }), /rememberMe must be an object or false/))
  t.test('short key', (t) => rejectsOption(t, withBase({ rememberMe: { key: 'short' } }), /rememberMe\.key\[0\] must be at least 32 bytes/))
  t.test('key of the wrong type', (t) => rejectsOption(t, withBase({ rememberMe: { key: 42 } }), /rememberMe\.key\[0\] must be a string or a Buffer/))
  t.test('empty key array', (t) => rejectsOption(t, withBase({ rememberMe: { key: [] } }), /rememberMe\.key must not be an empty array/))
  t.test('bad key in a key array', (t) => rejectsOption(t, withBase({ rememberMe: { key: [testKey('r').toString('base64'), Buffer.alloc(8)] } }), /rememberMe\.key\[1\] must be at least 32 bytes/))
  for (const sameSite of ['off', true, 'nonee']) {
    t.test(`sameSite ${JSON.stringify(sameSite)}`, (t) => rejectsOption(t, withBase({ rememberMe: { sameSite } }), /rememberMe\.sameSite must be/))
  }
  t.test("sameSite 'none' without secure", (t) => rejectsOption(t, withBase({ rememberMe: { sameSite: 'none', secure: false } }), /rememberMe\.sameSite 'none' needs rememberMe\.secure/))
  t.test('secure not a boolean', (t) => rejectsOption(t, withBase({ rememberMe: { secure: 'yes' } }), /rememberMe\.secure must be a boolean/))
  t.test('refreshEachRequest not a boolean', (t) => rejectsOption(t, withBase({ rememberMe: { refreshEachRequest: 1 } }), /rememberMe\.refreshEachRequest must be a boolean/))
  for (const duration of [0, 'x', -1, 1.5, '', '1e3', '999999999w']) {
    t.test(`duration ${JSON.stringify(duration)}`, (t) => rejectsOption(t, withBase({ rememberMe: { duration } }), /rememberMe\.duration must be/))
  }
  for (const cookieName of ['a b', 'a;b', 'a=b', '']) {
    t.test(`cookieName ${JSON.stringify(cookieName)}`, (t) => rejectsOption(t, withBase({ rememberMe: { cookieName } }), /rememberMe\.cookieName/))
  }
  t.test('empty path', (t) => rejectsOption(t, withBase({ rememberMe: { path: '' } }), /rememberMe\.path/))
  t.test('domain not a string', (t) => rejectsOption(t, withBase({ rememberMe: { domain: 42 } }), /rememberMe\.domain/))
  t.test('rememberMe without loadUser', (t) => rejectsOption(t, withBase({ loadUser: undefined, loadUserFromRequest: () => null, rememberMe: {} }), /rememberMe needs loadUser/))
  t.test('rememberMe without a session (session: false)', (t) => rejectsOption(t, withBase({ session: false, rememberMe: {} }), /rememberMe needs a session/))
  t.test('rememberMe.key is needed when the app registers the session', (t) => rejectsOption(t, withBase({ session: undefined }), /rememberMe\.key is required/, { before: withAppSession }))
  t.test('rememberMe: {} is not enough either when the app registers the session', (t) => rejectsOption(t, withBase({ session: undefined, rememberMe: { duration: '30d' } }), /rememberMe\.key is required/, { before: withAppSession }))
})

t.test('urls and flags', async (t) => {
  for (const url of ['javascript:x', 'login', 'ftp://sso.example/login', '', 42]) {
    t.test(`loginUrl ${JSON.stringify(url)}`, (t) => rejectsOption(t, withBase({ loginUrl: url }), /loginUrl must be/))
    t.test(`refreshUrl ${JSON.stringify(url)}`, (t) => rejectsOption(t, withBase({ refreshUrl: url }), /refreshUrl must be/))
  }
  // The right shape, but no browser could follow the redirect.
  for (const url of ['https://sso.example:99999/login', 'http://[::1/login']) {
    t.test(`loginUrl ${url} (unparsable)`, (t) => rejectsOption(t, withBase({ loginUrl: url }), /loginUrl is not a valid URL/))
    t.test(`refreshUrl ${url} (unparsable)`, (t) => rejectsOption(t, withBase({ refreshUrl: url }), /refreshUrl is not a valid URL/))
  }
  t.test('nextParam empty', (t) => rejectsOption(t, withBase({ nextParam: '' }), /nextParam must be a non-empty string/))
  for (const keep of ['cart', [1], ['cart', null], {}]) {
    t.test(`keepSessionKeys ${JSON.stringify(keep)}`, (t) => rejectsOption(t, withBase({ keepSessionKeys: keep }), /keepSessionKeys must be an array of strings/))
  }
  for (const value of ['yes', 1, null]) {
    t.test(`useSessionForNext ${JSON.stringify(value)}`, (t) => rejectsOption(t, withBase({ useSessionForNext: value }), /useSessionForNext must be a boolean/))
    t.test(`autoLoadUser ${JSON.stringify(value)}`, (t) => rejectsOption(t, withBase({ autoLoadUser: value }), /autoLoadUser must be a boolean/))
  }
})

t.test('messages', async (t) => {
  for (const value of [42, true, {}, null]) {
    t.test(`loginMessage ${JSON.stringify(value)}`, (t) => rejectsOption(t, withBase({ loginMessage: value }), /loginMessage must be a string, a function or false/))
    t.test(`refreshMessage ${JSON.stringify(value)}`, (t) => rejectsOption(t, withBase({ refreshMessage: value }), /refreshMessage must be a string, a function or false/))
  }
  t.test('loginMessageCategory not a string', (t) => rejectsOption(t, withBase({ loginMessageCategory: 5 }), /loginMessageCategory must be a non-empty string/))
  t.test('refreshMessageCategory empty', (t) => rejectsOption(t, withBase({ refreshMessageCategory: '' }), /refreshMessageCategory must be a non-empty string/))
})

/**
 * Registers `options` (after `before`), then logs alice in through the app and
 * checks that the next request knows her: the option set works end to end.
 * Returns the login response.
 */
async function worksEndToEnd (t: Test, options: FastifyLoginOptions, before?: (app: FastifyInstance) => void, remember = false) {
  const app = Fastify()
  t.teardown(() => app.close())
  if (before !== undefined) before(app)
  await app.register(fastifyLogin, options)
  app.post('/login', async (_request, reply) => ({ ok: await reply.login(users.get('1') as object, { remember }) }))
  app.get('/me', async (request) => ({ user: request.currentUser, authenticated: request.isAuthenticated() }))
  await app.ready()

  const jar = new CookieJar()
  const login = await app.inject({ method: 'POST', url: '/login' })
  t.equal(login.statusCode, 200)
  t.same(login.json(), { ok: true })
  jar.store(login)
  const me = await app.inject({ url: '/me', headers: { cookie: jar.header() } })
  t.equal(me.statusCode, 200)
  t.match(me.json(), { authenticated: true, user: { id: '1', name: 'alice' } })
  return login
}

t.test('good option sets register and work', async (t) => {
  t.test('session key as a Buffer', async (t) => {
    await worksEndToEnd(t, withBase({}))
  })
  t.test('session key as base64, with rotation', async (t) => {
    await worksEndToEnd(t, withBase({ session: { key: [TEST_KEY.toString('base64'), testKey('k9')] } }))
  })
  t.test('session secret and salt', async (t) => {
    const res = await worksEndToEnd(t, withBase({ session: { secret: 'correct horse battery staple, long enough', salt: 'sixteen-byte-slt', cookieName: 'sid', expiry: '2h' } }))
    t.ok(setCookie(res, 'sid'), 'session cookie has the configured name')
  })
  t.test('session secret with a Buffer salt', async (t) => {
    await worksEndToEnd(t, withBase({ session: { secret: 'correct horse battery staple, long enough', salt: Buffer.alloc(16, 3) } }), undefined, true)
  })
  t.test('app-registered session with a remember key', async (t) => {
    const res = await worksEndToEnd(t, withBase({ session: undefined, rememberMe: { key: testKey('r'), cookieName: 'keep_me', duration: '30d' } }), withAppSession, true)
    const cookie = setCookie(res, 'keep_me')
    t.ok(cookie, 'remember cookie set')
    t.equal(cookie?.maxAge, 30 * 86400)
  })
  t.test('app-registered session without remember-me', async (t) => {
    const res = await worksEndToEnd(t, withBase({ session: undefined, rememberMe: false }), withAppSession)
    t.notOk(setCookie(res, '__Host-remember_token'))
  })
  t.test('every option given a valid value', async (t) => {
    const res = await worksEndToEnd(t, withBase({
      session: { key: TEST_KEY, cookieName: 'app_session', expiry: 3600, cookie: { path: '/', secure: true } },
      getUserId: (user: { id: string }) => user.id,
      isUserActive: (user: { isActive?: boolean }) => user.isActive !== false,
      anonymousUser: () => null,
      rememberMe: { cookieName: 'rm', duration: '2w', path: '/', domain: 'app.example', secure: true, sameSite: 'none', refreshEachRequest: true },
      sessionProtection: 'strong',
      keepSessionKeys: ['cart', 'locale'],
      autoLoadUser: true,
      origin: 'https://app.example',
      loginUrl: '/login',
      refreshUrl: 'https://sso.example/refresh',
      useSessionForNext: true,
      nextParam: 'return_to',
      unauthorized: undefined,
      needsRefresh: undefined,
      loginMessage: (request: { url: string }) => `log in for ${request.url}`,
      loginMessageCategory: 'warning',
      refreshMessage: false,
      refreshMessageCategory: 'info'
    }), undefined, true)
    const cookie = setCookie(res, 'rm')
    t.match(cookie, { domain: 'app.example', sameSite: 'None', secure: true, httpOnly: true, maxAge: 14 * 86400 })
  })
})
