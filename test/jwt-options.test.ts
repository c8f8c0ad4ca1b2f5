import { generateKeyPairSync } from 'node:crypto'
import { test } from 'tap'
import Fastify from 'fastify'
import fastifyLogin, { type FastifyLoginOptions, type JwtOptions } from '../lib/index.js'
import { TEST_KEY, testKey } from './helpers.js'

const SECRET = 'jwt-options-test-secret-0123456789abcdef'
const authenticate = async (): Promise<null> => null

async function register (jwt: JwtOptions, extra: Partial<FastifyLoginOptions> = {}): Promise<void> {
  const app = Fastify()
  try {
    await app.register(fastifyLogin, { session: { key: TEST_KEY }, loadUser: () => null, jwt, ...extra })
    await app.ready()
  } finally {
    await app.close()
  }
}

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
const rsaPublic = rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string
const rsaPrivate = rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string
const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
const ecPublic = ec.publicKey.export({ type: 'spki', format: 'pem' }) as string

test('bad jwt options stop registration with a message naming the option', async (t) => {
  const cases: Array<[string, JwtOptions, RegExp, Partial<FastifyLoginOptions>?]> = [
    ['no key at all', { authenticate }, /jwt\.secret/],
    ['HS256 secret of 31 bytes', { secret: 'x'.repeat(31), authenticate }, /too short for HS256: at least 32 bytes/],
    ['HS384 secret of 40 bytes', { secret: 'x'.repeat(40), algorithm: 'HS384', authenticate }, /too short for HS384: at least 48/],
    ['HS512 secret of 63 bytes', { secret: Buffer.alloc(63, 1), algorithm: 'HS512', authenticate }, /too short for HS512: at least 64/],
    ['unsupported algorithm', { secret: SECRET, algorithm: 'none' as never, authenticate }, /algorithm none is not supported/],
    ['key pair without algorithm', { publicKey: rsaPublic, privateKey: rsaPrivate, authenticate }, /algorithm is required with a key pair/],
    ['secret with an RSA algorithm', { secret: SECRET, algorithm: 'RS256', authenticate }, /RS256 takes a key pair/],
    ['key pair with an HMAC algorithm', { publicKey: rsaPublic, algorithm: 'HS256', secret: SECRET, authenticate }, /HS256 takes a secret/],
    ['public key that is not PEM', { publicKey: 'not a key', privateKey: rsaPrivate, algorithm: 'RS256', authenticate }, /publicKey is not a valid PEM key/],
    ['EC key for RS256', { publicKey: ecPublic, algorithm: 'RS256', authenticate, keys: undefined }, /does not suit RS256/],
    ['RSA key for ES256', { publicKey: rsaPublic, privateKey: rsaPrivate, algorithm: 'ES256', authenticate }, /does not suit ES256/],
    ['verify-only first key', { publicKey: rsaPublic, algorithm: 'RS256', authenticate }, /keys\[0\] signs new tokens/],
    ['keys and secret together', { secret: SECRET, keys: [{ secret: SECRET }], authenticate }, /either keys or secret/],
    ['empty keys', { keys: [], authenticate }, /keys must be a non-empty array/],
    ['several keys without kid', { keys: [{ kid: 'a', secret: SECRET }, { secret: SECRET }], authenticate }, /every key needs a kid/],
    ['duplicate kids', { keys: [{ kid: 'a', secret: SECRET }, { kid: 'a', secret: SECRET }], authenticate }, /kids must be unique/],
    ['empty kid', { keys: [{ kid: '', secret: SECRET }], authenticate }, /kid must be a non-empty string/],
    ['token endpoint without authenticate', { secret: SECRET }, /authenticate\(username, password, request\) is required/],
    ['authenticate not a function', { secret: SECRET, authenticate: 'yes' as never }, /authenticate must be a function/],
    ['bad accessTokenExpires', { secret: SECRET, authenticate, accessTokenExpires: '15 minutes' }, /jwt\.accessTokenExpires/],
    ['zero refreshTokenExpires', { secret: SECRET, authenticate, refreshTokenExpires: 0 }, /jwt\.refreshTokenExpires/],
    ['negative leeway', { secret: SECRET, authenticate, leeway: -1 }, /jwt\.leeway/],
    ['fractional notBefore', { secret: SECRET, authenticate, notBefore: 1.5 }, /jwt\.notBefore/],
    ['unknown location', { secret: SECRET, authenticate, locations: ['body' as never] }, /jwt\.locations/],
    ['empty locations', { secret: SECRET, authenticate, locations: [] }, /jwt\.locations/],
    ['cookies options without the cookies location', { secret: SECRET, authenticate, cookies: {} }, /locations does not include 'cookies'/],
    ['SameSite=None cookies without Secure', { secret: SECRET, authenticate, locations: ['cookies'], cookies: { sameSite: 'none', secure: false } }, /needs jwt\.cookies\.secure/],
    ['bad cookie name', { secret: SECRET, authenticate, locations: ['cookies'], cookies: { accessCookieName: 'a b' } }, /cookies\.accessCookieName/],
    ['header scheme with a space', { secret: SECRET, authenticate, headerScheme: 'Bearer x' }, /headerScheme/],
    ['authPath not a path', { secret: SECRET, authenticate, authPath: 'auth' }, /jwt\.authPath/],
    ['audience of numbers', { secret: SECRET, authenticate, audience: [1] as never }, /jwt\.audience/],
    ['empty issuer', { secret: SECRET, authenticate, issuer: '' }, /jwt\.issuer/],
    ['cache of -1', { secret: SECRET, authenticate, cache: -1 }, /jwt\.cache/],
    ['unknown message code', { secret: SECRET, authenticate, messages: { NOPE: 'x' } as never }, /jwt\.messages\.NOPE/],
    ['the removed revocationStore option', { secret: SECRET, authenticate, revocationStore: {} } as never, /revocationStore is gone: .*`store`/],
    ['revokePath not a path', { secret: SECRET, authenticate, revokePath: 'revoke' }, /jwt\.revokePath/],
    ['refreshReuseGrace negative', { secret: SECRET, authenticate, refreshReuseGrace: -1 }, /jwt\.refreshReuseGrace/],
    ['refreshReuseGrace of an unknown unit', { secret: SECRET, authenticate, refreshReuseGrace: '30y' }, /jwt\.refreshReuseGrace/],
    ['empty realm', { secret: SECRET, authenticate, realm: '' }, /jwt\.realm/],
    ['no user loader for tokens', { secret: SECRET, authenticate }, /loadUserFromClaims is required/, { loadUser: undefined, loadUserFromRequest: () => null }]
  ]
  for (const [name, jwt, message, extra] of cases) {
    const err = await register(jwt, extra).then(() => null, (e: Error & { code?: string }) => e)
    t.equal(err?.code, 'FST_LOGIN_INVALID_OPTION', `${name}: code`)
    t.match(err?.message, message, `${name}: message`)
  }
})

test('good key set-ups register', async (t) => {
  await t.resolves(register({ secret: SECRET, authenticate }), 'HS256 with 32 bytes')
  await t.resolves(register({ secret: Buffer.concat([testKey('a'), testKey('b')]), algorithm: 'HS512', authPath: false }), 'HS512, no token endpoint')
  await t.resolves(register({ publicKey: rsaPublic, privateKey: rsaPrivate, algorithm: 'PS256', authenticate }), 'PS256 with an RSA pair')
  await t.resolves(register({ keys: [{ kid: 'new', secret: SECRET }, { kid: 'old', publicKey: rsaPublic, algorithm: 'RS256' }], authenticate }), 'rotation with a verify-only key')
  await t.resolves(register({ secret: SECRET, authenticate, loadUserFromClaims: () => null }, { loadUser: undefined }), 'JWT user loader only')
})
