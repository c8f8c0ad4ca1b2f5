import t from 'tap'
import type { FastifyLoginOptions } from '../lib/index.js'
import { authenticate, buildApp, rejectsOption, TEST_KEY, testKey } from './helpers.js'

/*
 * Options fail closed: a misspelt option is an error (not a silently kept
 * default), and secret material that is visibly not random is refused with
 * a message that says how to make a good one.
 */

const loose = (options: unknown): FastifyLoginOptions => options as FastifyLoginOptions
const base = { session: { key: TEST_KEY }, loadUser: () => null }
const SECRET = 'strict-options-test-secret-0123456789abcdef'

t.test('unknown options fail registration, naming the closest known option', async (t) => {
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['top level', { loginURL: '/login' }, /unknown option loginURL: did you mean loginUrl\?/],
    ['top level, no near name', { frobnicate: true }, /unknown option frobnicate$/],
    ['session', { session: { key: TEST_KEY, expires: '2h' } }, /unknown option session\.expires: did you mean session\.expiry\?/],
    ['session.cookie', { session: { key: TEST_KEY, cookie: { sameSit: 'strict' } } }, /unknown option session\.cookie\.sameSit: did you mean session\.cookie\.sameSite\?/],
    ['rememberMe', { rememberMe: { duraton: '30d' } }, /unknown option rememberMe\.duraton: did you mean rememberMe\.duration\?/],
    ['jwt', { jwt: { secret: SECRET, authenticate, acessTokenExpires: '5m' } }, /unknown option jwt\.acessTokenExpires: did you mean jwt\.accessTokenExpires\?/],
    ['jwt.cookies', { jwt: { secret: SECRET, authenticate, locations: ['cookies'], cookies: { csrfHeaders: 'x' } } }, /unknown option jwt\.cookies\.csrfHeaders: did you mean jwt\.cookies\.csrfHeader\?/],
    ['jwt.keys[i]', { jwt: { keys: [{ kid: 'a', secret: SECRET, algoritm: 'HS256' }], authenticate } }, /unknown option jwt\.keys\[0\]\.algoritm: did you mean jwt\.keys\[0\]\.algorithm\?/]
  ]
  for (const [where, options, message] of cases) {
    await rejectsOption(t, loose({ ...base, ...options }), message, { message: where })
  }
})

t.test("Fastify's own register options, which it ignores for this plugin, are refused with what to do instead", async (t) => {
  for (const key of ['prefix', 'logLevel', 'logSerializers']) {
    await rejectsOption(t, loose({ ...base, [key]: key === 'prefix' ? '/v1' : 'warn' }), new RegExp(`${key} does not apply: .*register it inside a scope that has the ${key}`))
  }
})

t.test('option combinations that could only fail later fail registration', async (t) => {
  await rejectsOption(t, loose({ loadUserFromRequest: () => null, session: false, useSessionForNext: true, loginUrl: '/login' }), /useSessionForNext needs a session/)
  await rejectsOption(t, loose({ ...base, sessionCookieName: 'sid' }), /sessionCookieName is only for a session the app registers itself/)
})

t.test('secrets that are visibly not random fail registration with a way to make one', async (t) => {
  const how = /does not look random .*randomBytes\(32\)\.toString\('base64'\)/
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['session.key: one byte repeated', { session: { key: Buffer.alloc(32, 7) } }, /session\.key does not look random \(1 distinct/],
    ['session.key: a pattern repeated', { session: { key: Buffer.from('0123456789abcdef0123456789abcdef') } }, /session\.key does not look random/],
    ['session.key array', { session: { key: [TEST_KEY, Buffer.alloc(32, 1)] } }, /session\.key\[1\] does not look random/],
    ['session.secret', { session: { secret: 'x'.repeat(40), salt: 'sixteen-byte-slt' } }, /session\.secret does not look random/],
    ['session.secret: digits', { session: { secret: '1234567890'.repeat(4), salt: 'sixteen-byte-slt' } }, /session\.secret does not look random/],
    ['rememberMe.key', { rememberMe: { key: 'ab'.repeat(20) } }, /rememberMe\.key\[0\] does not look random/],
    ['jwt.secret', { jwt: { secret: 's'.repeat(32), authenticate } }, /jwt\.secret does not look random/],
    ['jwt.keys[1].secret', { jwt: { keys: [{ kid: 'a', secret: SECRET }, { kid: 'b', secret: 'abcd'.repeat(8) }], authenticate } }, /jwt\.keys\[1\]\.secret does not look random/],
    ['few distinct characters', { jwt: { secret: 'aaaabbbbccccddddeeeeffffgggggggg', authenticate } }, /jwt\.secret does not look random \(7 distinct characters\)/],
    ['digits repeated, the last repeat cut short', { session: { secret: '12345678901234567890123456789012', salt: 'sixteen-byte-slt' } }, /session\.secret does not look random/]
  ]
  for (const [where, options, message] of cases) {
    await rejectsOption(t, loose({ ...base, ...options }), message, { message: where })
    await rejectsOption(t, loose({ ...base, ...options }), how, { message: `${where}: says how` })
  }
})

t.test('random secrets of every usual form pass', async (t) => {
  const hex = testKey('hex').toString('hex') // 64 hex digits, as `openssl rand -hex 32` prints
  const forms = [
    { session: { key: testKey('a') } },
    { session: { key: testKey('b').toString('base64') } },
    { session: { secret: 'correct horse battery staple, long enough', salt: 'sixteen-byte-slt' } },
    { rememberMe: { key: hex } },
    { jwt: { secret: hex, authenticate } },
    { jwt: { secret: testKey('c').toString('base64url'), authenticate } },
    // Text forms whose alphabets are small: a UUID (hex and dashes), a word passphrase.
    { jwt: { secret: '0b6f7c1e-54d2-4c8e-9a3b-2f9e8d7c6b5a', authenticate } },
    { session: { secret: 'tide oven plum kite fog mango reef', salt: 'sixteen-byte-slt' } }
  ]
  for (const form of forms) {
    const { app } = await buildApp(loose(form))
    await app.close()
    t.pass(JSON.stringify(Object.keys(form)))
  }
})
