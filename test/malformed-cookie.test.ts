import t from 'tap'
import { hkdfSync, randomBytes } from 'node:crypto'
import sodium from 'sodium-native'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { loginCookie, rememberCookie } from '../lib/testing/index.js'
import { MemoryStore } from '../lib/index.js'
import { rememberSeriesKey } from '../lib/store/keys.js'
import { secretHash } from '../lib/rotation/rotate.js'
import { ANONYMOUS, buildApp, setCookie, TEST_KEY, type TestUser, testKey } from './helpers.js'

/** GET /me and GET /private with this Cookie header: 200 anonymous and 401, never a 500. */
async function assertAnonymous (t: tap.Test, app: FastifyInstance, cookie: string, label: string): Promise<LightMyRequestResponse> {
  const me = await app.inject({ url: '/me', headers: { cookie } })
  t.equal(me.statusCode, 200, `${label}: /me answers 200`)
  t.same(me.json(), ANONYMOUS, `${label}: anonymous`)
  const priv = await app.inject({ url: '/private', headers: { cookie } })
  t.equal(priv.statusCode, 401, `${label}: /private answers 401`)
  t.equal(priv.json().code, 'FST_LOGIN_UNAUTHORIZED', `${label}: with the unauthorized error`)
  return me
}

function assertRememberCleared (t: tap.Test, res: LightMyRequestResponse, label: string): void {
  const cookie = setCookie(res, '__Host-remember_token')
  t.equal(cookie?.maxAge, 0, `${label}: remember_token cleared`)
  t.equal(cookie?.value, '', `${label}: with an empty value`)
}

/** The raw (base64url) value of a real remember token for alice. */
async function realToken (app: FastifyInstance, alice: TestUser): Promise<string> {
  return (await rememberCookie(app, alice)).slice('__Host-remember_token='.length)
}

/**
 * Seals any plaintext the way a remember token is sealed for an app whose
 * session key is TEST_KEY, to feed the server well-encrypted but wrong payloads.
 * The test 'a token sealed here with a valid payload restores' keeps this honest.
 */
function sealPayload (plain: string): string {
  const key = Buffer.from(hkdfSync('sha256', TEST_KEY, Buffer.alloc(0), 'fastify-login remember-me v2', 32))
  const message = Buffer.from(plain, 'utf8')
  const sealed = Buffer.alloc(sodium.crypto_secretbox_NONCEBYTES + sodium.crypto_secretbox_MACBYTES + message.length)
  const nonce = sealed.subarray(0, sodium.crypto_secretbox_NONCEBYTES)
  sodium.randombytes_buf(nonce)
  sodium.crypto_secretbox_easy(sealed.subarray(sodium.crypto_secretbox_NONCEBYTES), message, nonce, key)
  return sealed.toString('base64url')
}

t.test('garbage session cookies give an anonymous request, never a 500', async (t) => {
  const { app, users } = await buildApp()
  t.teardown(() => app.close())
  const other = await buildApp({ session: { key: testKey('k9') } })
  t.teardown(() => other.app.close())
  const alice = users.get('1') as TestUser

  const valid = await loginCookie(app, alice)
  const control = await app.inject({ url: '/me', headers: { cookie: valid } })
  t.equal(control.json().authenticated, true, 'control: a real session cookie logs in')

  const cases: Array<[string, string]> = [
    ['short value', 'session=abc'],
    ['empty value and stray separators', 'session=;;;'],
    ['10 KB value', `session=${'A'.repeat(10 * 1024)}`],
    ['10 KB with a separator', `__Host-session=${encodeURIComponent('A'.repeat(5 * 1024) + ';' + 'B'.repeat(5 * 1024))}`],
    ['not base64', `__Host-session=${encodeURIComponent('!!!*&^;@@@ ~~~')}`],
    ['only a separator', `__Host-session=${encodeURIComponent(';')}`],
    ['random bytes of the right shape', `__Host-session=${encodeURIComponent(randomBytes(80).toString('base64') + ';' + randomBytes(24).toString('base64'))}`],
    ['right shape, wrong key', await loginCookie(other.app, alice)],
    ['truncated real cookie', valid.slice(0, -12)],
    ['real cookie in the wrong name', valid.replace(/^__Host-session=/, 'sessionx=')]
  ]
  for (const [label, cookie] of cases) await assertAnonymous(t, app, cookie, label)
})

t.test('a decryptable session with a non-string or unknown user id is anonymous', async (t) => {
  const { app } = await buildApp()
  t.teardown(() => app.close())
  const cookieWith = (data: Record<string, unknown>): string =>
    `__Host-session=${encodeURIComponent(app.encodeSecureSession(app.createSecureSession(data)))}`

  // A real session's secret, so that only the user id is wrong in each case below.
  const real = await loginCookie(app, { id: '1' })
  const secret = app.decodeSecureSession(decodeURIComponent(real.slice('__Host-session='.length)))?.get('_sid' as never)
  const control = await app.inject({ url: '/me', headers: { cookie: cookieWith({ _user_id: '1', _sid: secret }) } })
  t.equal(control.json().authenticated, true, 'control: the real secret with its user id logs in')

  const ids: Array<[string, unknown]> = [
    ['number id', 1],
    ['array id', ['1']],
    ['object id', { $ne: null }],
    ['empty id', ''],
    ['unknown id', '999'],
    ['__proto__ id', '__proto__'],
    ['null id', null]
  ]
  for (const [label, id] of ids) await assertAnonymous(t, app, cookieWith({ _user_id: id, _sid: secret }), label)
})

t.test('garbage remember cookies give an anonymous request and are cleared', async (t) => {
  const { app, users } = await buildApp()
  t.teardown(() => app.close())
  const alice = users.get('1') as TestUser
  const token = await realToken(app, alice)

  const control = await app.inject({ url: '/me', headers: { cookie: `__Host-remember_token=${token}` } })
  t.equal(control.json().authenticated, true, 'control: the real token restores the login')

  const sessionValue = (await loginCookie(app, alice)).slice('__Host-session='.length)
  const cases: Array<[string, string]> = [
    ['empty value', ''],
    ['not base64url', encodeURIComponent('not base64url!*')],
    ['standard base64 characters', encodeURIComponent(Buffer.from(token, 'base64url').toString('base64'))],
    ['too short to hold a tag', 'AAAAAAAAAAAAAAAAAAAA'],
    ['truncated real token', token.slice(0, -6)],
    ['real token with a character dropped in the middle', token.slice(0, 20) + token.slice(21)],
    ['real token, doubled', token + token],
    ['5 KB value', 'A'.repeat(5 * 1024)],
    ['a valid session cookie value', sessionValue],
    ['unicode', encodeURIComponent('トークン✓')]
  ]
  for (const [label, value] of cases) {
    const res = await assertAnonymous(t, app, `__Host-remember_token=${value}`, label)
    assertRememberCleared(t, res, label)
  }
})

t.test('a real remember token with one bit flipped is refused', async (t) => {
  const { app, users } = await buildApp()
  t.teardown(() => app.close())
  const token = await realToken(app, users.get('1') as TestUser)
  const raw = Buffer.from(token, 'base64url')

  // First IV byte, a ciphertext byte, the last tag byte, and the lowest and highest bits.
  const positions: Array<[number, number]> = [[0, 0], [12, 3], [raw.length - 17, 7], [raw.length - 1, 0], [raw.length - 1, 7]]
  for (const [index, bit] of positions) {
    const flipped = Buffer.from(raw)
    flipped[index] = (flipped[index] as number) ^ (1 << bit)
    const value = flipped.toString('base64url')
    t.not(value, token)
    const label = `byte ${index}, bit ${bit}`
    const res = await assertAnonymous(t, app, `__Host-remember_token=${value}`, label)
    assertRememberCleared(t, res, label)
  }
})

t.test('well-encrypted remember tokens with bad payloads are refused', async (t) => {
  const store = new MemoryStore()
  const { app } = await buildApp({ store })
  t.teardown(() => app.close())
  const future = Math.floor(Date.now() / 1000) + 3600

  // n and t: the series id and secret (22 base64url characters each), recorded in the store as a login with remember-me does.
  const device = { n: 'A'.repeat(22), t: 'S'.repeat(22) }
  const now = Date.now()
  const series = { u: '1', h: secretHash(device.t), p: null, r: now, g: null, c: now, e: now + 3600_000, d: 3600, v: null, ip: '', ua: '', s: null }
  store.set(rememberSeriesKey('1', device.n), series, { ttlMs: 3600_000, userId: '1' })
  const good = await app.inject({ url: '/me', headers: { cookie: `__Host-remember_token=${sealPayload(JSON.stringify({ u: '1', x: future, d: 3600, ...device }))}` } })
  t.equal(good.json().authenticated, true, 'control: a token sealed here with a valid payload restores')

  const payloads: Array<[string, string]> = [
    ['not JSON', 'alice'],
    ['JSON null', 'null'],
    ['JSON string', '"1"'],
    ['number user id', JSON.stringify({ u: 1, x: future, d: 3600, ...device })],
    ['empty user id', JSON.stringify({ u: '', x: future, d: 3600, ...device })],
    ['unknown user id', JSON.stringify({ u: '999', x: future, d: 3600, ...device })],
    ['__proto__ user id', JSON.stringify({ u: '__proto__', x: future, d: 3600, ...device })],
    ['expiry as a string', JSON.stringify({ u: '1', x: String(future), d: 3600, ...device })],
    ['fractional expiry', JSON.stringify({ u: '1', x: future + 0.5, d: 3600, ...device })],
    ['huge expiry', JSON.stringify({ u: '1', d: 3600, ...device }).replace('{', '{"x":1e300,')],
    ['missing expiry', JSON.stringify({ u: '1', d: 3600, ...device })],
    ['expired', JSON.stringify({ u: '1', x: future - 7200, d: 3600, ...device })],
    ['missing duration', JSON.stringify({ u: '1', x: future, ...device })],
    ['missing device id', JSON.stringify({ u: '1', x: future, d: 3600, t: device.t })],
    ['device id of the wrong shape', JSON.stringify({ u: '1', x: future, d: 3600, n: 'short', t: device.t })],
    ['missing series secret', JSON.stringify({ u: '1', x: future, d: 3600, n: device.n })],
    ['series secret of the wrong shape', JSON.stringify({ u: '1', x: future, d: 3600, n: device.n, t: 7 })],
    ['a device the store does not know', JSON.stringify({ u: '1', x: future, d: 3600, n: 'B'.repeat(22), t: device.t })]
  ]
  for (const [label, plain] of payloads) {
    const res = await assertAnonymous(t, app, `__Host-remember_token=${sealPayload(plain)}`, label)
    assertRememberCleared(t, res, label)
  }
})

t.test('malformed Cookie headers never give a 500', async (t) => {
  const { app, users } = await buildApp()
  t.teardown(() => app.close())
  const token = await realToken(app, users.get('1') as TestUser)

  const headers: Array<[string, string]> = [
    ['percent signs', '%%%'],
    ['broken percent-encoding', 'session=%E0%A4%A; __Host-remember_token=%ZZ'],
    ['only separators', ';;;;'],
    ['empty names', '=x'],
    ['empty names and values', '=; =; ='],
    ['no equals signs', 'session; __Host-remember_token'],
    ['unicode', 'session=日本語; __Host-remember_token=ключ'],
    ['quoted values', 'session="abc"; __Host-remember_token="def"'],
    ['control characters', 'session=a\tb; __Host-remember_token=c\u0001d']
  ]
  for (const [label, cookie] of headers) await assertAnonymous(t, app, cookie, label)

  const emptyName = await app.inject({ url: '/me', headers: { cookie: '=x' } })
  t.equal(setCookie(emptyName, '__Host-remember_token'), undefined, 'no remember cookie was sent, so none is cleared')

  const duplicate = await app.inject({ url: '/me', headers: { cookie: `__Host-remember_token=garbage; __Host-remember_token=${token}` } })
  t.equal(duplicate.statusCode, 200, 'duplicate remember cookies: 200')
  t.equal(duplicate.json().authenticated, false, 'the first (garbage) one counts')
})
