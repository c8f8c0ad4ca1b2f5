import t from 'tap'
import { MemoryStore, type LoginStore, type StoreSetOptions, type StoreValue } from '../lib/index.js'
import { familyCases, familyApp, refresh, refreshed, SECRET, testClock, type Tokens } from './jwt-family-cases.js'
import {
  assertRefused, assertUser, asyncStore, authLogin, callMe, CookieJar, directory, getTokens, hmacToken, payloadOf, PASSWORD, type TestUser
} from './helpers.js'

/*
 * Refresh-token families on the MemoryStore (directly, and behind promises
 * as a networked store answers), then what holds whatever the store: the
 * listing and ending of API sessions through fastify.loginSessions, the auth
 * version, tokens of no family or of a forged one, the verified-token cache.
 */

t.test('MemoryStore', async (t) => {
  familyCases(t, (clock) => new MemoryStore({ clock }))
})

t.test('MemoryStore behind promises', async (t) => {
  familyCases(t, (clock) => asyncStore(new MemoryStore({ clock })))
})

t.test('the 50 concurrent refreshes really interleave: compare-and-sets lose', async (t) => {
  const clock = testClock()
  const inner = asyncStore(new MemoryStore({ clock: clock.now }))
  let lost = 0
  const store: LoginStore = {
    ...inner,
    compareAndSet: async (key: string, expected: StoreValue | null, next: any, options?: StoreSetOptions) => {
      const swapped = await inner.compareAndSet(key, expected, next, options as StoreSetOptions)
      if (!swapped && key.startsWith('jwtfam:')) lost++
      return swapped
    }
  }
  const { app } = await familyApp(t, store, clock)
  const first = await getTokens(app)
  const answers = await Promise.all(Array.from({ length: 50 }, () => refresh(app, first.refresh_token)))
  t.equal(new Set(answers.map((res) => res.json<Tokens>().refresh_token)).size, 1)
  t.ok(lost > 0, `concurrent rotations met at the store (${lost} compare-and-sets lost)`)
})

t.test('fastify.loginSessions lists, revokes and ends API sessions', async (t) => {
  const clock = testClock()
  const { app } = await familyApp(t, new MemoryStore({ clock: clock.now }), clock)
  const phone = (await app.inject({ method: 'POST', url: '/auth', headers: { 'user-agent': 'phone-app/1.0' }, payload: { username: 'alice', password: PASSWORD } })).json<Tokens>()
  clock.advance(1000)
  const laptop = await getTokens(app)
  const bob = await getTokens(app, 'bob')
  const phoneId = payloadOf(phone.refresh_token).fam as string
  const laptopId = payloadOf(laptop.refresh_token).fam as string

  const listed = await app.loginSessions.list('1')
  t.same(listed.map((s) => [s.id, s.kind]), [[laptopId, 'api'], [phoneId, 'api']], 'newest first, kind api')
  const phoneInfo = listed[1]
  t.equal(phoneInfo?.userAgent, 'phone-app/1.0')
  t.equal(phoneInfo?.ip, '127.0.0.1')
  t.equal(phoneInfo?.remembered, false)
  t.equal(phoneInfo?.rememberedUntil, null)
  t.equal(phoneInfo?.expiresAt?.getTime(), (phoneInfo?.createdAt.getTime() ?? 0) + 30 * 86400_000, 'expires with its refresh token')

  clock.advance(60_000)
  const next = await refreshed(t, app, phone.refresh_token)
  const after = (await app.loginSessions.list('1')).find((s) => s.id === phoneId)
  t.equal(after?.lastSeenAt.getTime(), clock.now(), 'lastSeenAt: the last refresh')
  t.equal(after?.createdAt.getTime(), phoneInfo?.createdAt.getTime())

  t.equal(await app.loginSessions.revoke('1', phoneId), true, 'revoke() ends a family by its id')
  t.equal(await app.loginSessions.revoke('1', phoneId), false, 'once')
  t.equal(await app.loginSessions.revoke('2', laptopId), false, "another user's family is not found")
  t.equal(await app.loginSessions.revoke('1', 'x'.repeat(24)), false, 'an unknown id of that shape')
  assertRefused(t, await callMe(app, next.access_token), 'FST_LOGIN_JWT_REVOKED')
  assertRefused(t, await refresh(app, next.refresh_token), 'FST_LOGIN_JWT_REVOKED')
  assertUser(t, await callMe(app, laptop.access_token))

  t.equal(await app.loginSessions.revokeAll('1'), 0, 'revokeAll() counts sessions; the family ends all the same')
  assertRefused(t, await callMe(app, laptop.access_token), 'FST_LOGIN_JWT_REVOKED')
  t.same(await app.loginSessions.list('1'), [])
  assertUser(t, await callMe(app, bob.access_token), 'bob')

  // A family whose refresh token has expired is no longer listed.
  clock.advance(31 * 86400_000)
  t.same(await app.loginSessions.list('2'), [])
})

t.test('logout everywhere from a browser session reaches API clients', async (t) => {
  const clock = testClock()
  const { app } = await familyApp(t, new MemoryStore({ clock: clock.now }), clock)
  const api = await getTokens(app)
  const browser = new CookieJar().store(await app.inject({ method: 'POST', url: '/login/1' }))
  const out = await app.inject({ method: 'POST', url: '/logout-everywhere', headers: { cookie: browser.header() } })
  t.equal(out.statusCode, 200)
  assertRefused(t, await callMe(app, api.access_token), 'FST_LOGIN_JWT_REVOKED')
  assertRefused(t, await refresh(app, api.refresh_token), 'FST_LOGIN_JWT_REVOKED')
})

t.test('revokeAllTokens() ends every family, and the cut-off holds', async (t) => {
  const clock = testClock()
  const { app } = await familyApp(t, new MemoryStore({ clock: clock.now }), clock)
  const api = await getTokens(app)
  await app.revokeAllTokens('1')
  t.same(await app.loginSessions.list('1'), [])
  assertRefused(t, await refresh(app, api.refresh_token), 'FST_LOGIN_JWT_REVOKED')
})

t.test('authVersion: a family started before a password change ends', async (t) => {
  const clock = testClock()
  const versions = new Map([['1', 'v1']])
  const { app } = await familyApp(t, new MemoryStore({ clock: clock.now }), clock, {}, {
    authVersion: (user) => versions.get((user as TestUser).id) ?? 'none'
  })
  const before = await getTokens(app)
  assertUser(t, await callMe(app, before.access_token))
  versions.set('1', 'v2')
  assertRefused(t, await callMe(app, before.access_token), 'FST_LOGIN_JWT_REVOKED', 'the access token')
  t.same(await app.loginSessions.list('1'), [], 'the family ended')
  assertRefused(t, await refresh(app, before.refresh_token), 'FST_LOGIN_JWT_REVOKED', 'its refresh token')
  const after = await getTokens(app)
  assertUser(t, await callMe(app, after.access_token), 'alice')
  await refreshed(t, app, after.refresh_token)
})

t.test('tokens of no family, of a forged family, of another user', async (t) => {
  const clock = testClock()
  const { app } = await familyApp(t, new MemoryStore({ clock: clock.now }), clock)
  const now = Math.floor(Date.now() / 1000)
  const claims = (type: string, extra: Record<string, unknown> = {}): Record<string, unknown> =>
    ({ sub: '1', jti: `j${Math.random()}`.replace('.', ''), type, iat: now, nbf: now, exp: now + 900, fresh: false, ...extra })
  const sign = (payload: Record<string, unknown>): string => hmacToken(payload, SECRET)

  assertRefused(t, await refresh(app, sign(claims('refresh'))), 'FST_LOGIN_JWT_REVOKED', 'a refresh token from before families')
  assertRefused(t, await callMe(app, sign(claims('access', { fam: 'not a family id' }))), 'FST_LOGIN_JWT_REVOKED', 'a fam that is no id')
  assertRefused(t, await callMe(app, sign(claims('access', { fam: 42 }))), 'FST_LOGIN_JWT_REVOKED', 'a fam that is no string')
  assertRefused(t, await callMe(app, sign(claims('access', { fam: 'A'.repeat(24) }))), 'FST_LOGIN_JWT_REVOKED', 'a family that does not exist')
  const alice = await getTokens(app)
  const fam = payloadOf(alice.access_token).fam
  assertRefused(t, await callMe(app, sign(claims('access', { sub: '2', fam }))), 'FST_LOGIN_JWT_REVOKED', "another user's family")
  assertUser(t, await callMe(app, sign(claims('access', { fam }))), 'alice')

  const extra = await familyApp(t, new MemoryStore(), clock, { additionalClaims: () => ({ fam: 'A'.repeat(24), role: 'x' }) })
  const made = await getTokens(extra.app)
  t.not(payloadOf(made.access_token).fam, 'A'.repeat(24), 'additionalClaims cannot set fam')
  const plain = await extra.app.createAccessToken(directory.get('1') as TestUser)
  t.equal(payloadOf(plain).fam, undefined, 'nor put one on a token of no family (createAccessToken)')
  assertUser(t, await callMe(extra.app, plain))
})

t.test('createRefreshToken() starts a family; a refresh keeps its lifetime', async (t) => {
  const clock = testClock()
  const { app } = await familyApp(t, new MemoryStore({ clock: clock.now }), clock)
  const token = await app.createRefreshToken(directory.get('1') as TestUser, { expiresIn: '1h' })
  const [listed] = await app.loginSessions.list('1')
  t.same([listed?.id, listed?.ip, listed?.userAgent], [payloadOf(token).fam, '', ''], 'listed, with no client')
  const next = await refreshed(t, app, token)
  const claims = payloadOf(next.refresh_token)
  t.equal(claims.exp - claims.iat, 3600, 'the successor lives as long as the token it replaces')
})

t.test('the verified-token cache never skips the family check', async (t) => {
  const clock = testClock()
  const { app } = await familyApp(t, new MemoryStore({ clock: clock.now }), clock, { cache: true })
  const tokens = await getTokens(app)
  assertUser(t, await callMe(app, tokens.access_token))
  assertUser(t, await callMe(app, tokens.access_token), 'alice')
  await app.loginSessions.revoke('1', payloadOf(tokens.access_token).fam as string)
  assertRefused(t, await callMe(app, tokens.access_token), 'FST_LOGIN_JWT_REVOKED', 'a cached token of an ended family')
})

t.test('an authResponse that throws leaves no family behind', async (t) => {
  const clock = testClock()
  const { app } = await familyApp(t, new MemoryStore({ clock: clock.now }), clock, { authResponse: () => { throw new Error('no') } })
  app.log.level = 'silent'
  const res = await app.inject({ method: 'POST', url: '/auth', payload: { username: 'alice', password: PASSWORD } })
  t.equal(res.statusCode, 500)
  t.same(await app.loginSessions.list('1'), [])
})

t.test('the successor keeps the presented refresh token in the cookie location, and a graced retry sets the same cookies', async (t) => {
  const clock = testClock()
  const { app } = await familyApp(t, new MemoryStore({ clock: clock.now }), clock, { locations: ['cookies'], cookies: { csrf: false } })
  const jar = new CookieJar().store(await authLogin(app))
  const cookie = jar.header()
  const first = await app.inject({ method: 'POST', url: '/auth/refresh', headers: { cookie } })
  const again = await app.inject({ method: 'POST', url: '/auth/refresh', headers: { cookie } })
  t.equal(first.statusCode, 200)
  t.same(again.cookies.map((c) => [c.name, c.value]), first.cookies.map((c) => [c.name, c.value]))
  assertUser(t, await app.inject({ url: '/api/me', headers: { cookie: jar.store(first).header() } }))
  t.equal((await app.inject({ method: 'POST', url: '/auth/logout', headers: { cookie: jar.header() } })).statusCode, 204)
  assertRefused(t, await app.inject({ method: 'POST', url: '/auth/refresh', headers: { cookie } }), 'FST_LOGIN_JWT_REVOKED')
})

t.test('revokeToken() with claims the app made: a jti of any text, a fam of no shape', async (t) => {
  const clock = testClock()
  const { app } = await familyApp(t, new MemoryStore({ clock: clock.now }), clock)
  const now = Math.floor(Date.now() / 1000)
  const odd = { sub: '1', jti: 'a jti/with: spaces and {braces}', type: 'access', iat: now, nbf: now, exp: now + 900, fresh: false }
  await app.revokeToken(odd as never)
  assertRefused(t, await callMe(app, hmacToken(odd, SECRET)), 'FST_LOGIN_JWT_REVOKED', 'a token whose jti is no base64url')
  const tokens = await getTokens(app)
  await app.revokeToken({ ...payloadOf(tokens.refresh_token), fam: 'not-a-family' })
  await refreshed(t, app, tokens.refresh_token)
})
