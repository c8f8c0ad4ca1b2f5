import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import fastifyAuth from '@fastify/auth'
import type { FastifyErrorConstructor } from '@fastify/error'
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify'
import t, { type Test } from 'tap'
import * as api from '../lib/index.js'
import * as table from '../lib/errors.js'
import { authenticate, bearer, buildApp, hmacToken, makeUsers, PASSWORD, TEST_KEY } from './helpers.js'

/*
 * lib/errors.ts is the one table of the plugin's errors: every class in it is
 * exported by the package under the same name, codes are unique, every JWT
 * error code has its class, and an app's error handler (or @fastify/auth
 * composition) can tell them apart with `instanceof`.
 */

type ErrorClass = FastifyErrorConstructor
type JwtRefusalError = FastifyError & { headers?: Record<string, string> }
const classes = Object.entries(table as Record<string, unknown>).filter((entry): entry is [string, ErrorClass] => typeof entry[1] === 'function')
const codeOf = (Class: ErrorClass): string => new Class('x', 'y').code
const SECRET = 'errors-test-secret-0123456789abcdef0123'

t.test('every class of lib/errors.ts is exported by the package, with a unique code', async (t) => {
  t.ok(classes.length >= 23, 'the session, setup and JWT classes')
  for (const [name, Class] of classes) {
    t.equal((api as Record<string, unknown>)[name], Class, `${name} is exported`)
    t.match(codeOf(Class), /^FST_LOGIN_[A-Z_]+$/, `${name}: a code of the plugin`)
    t.ok(new Class('x', 'y') instanceof Error, `${name}: an Error`)
  }
  const codes = classes.map(([, Class]) => codeOf(Class))
  t.equal(new Set(codes).size, codes.length, 'no two classes share a code')
})

t.test('every JWT error code has its class, named after the code, with its default message', async (t) => {
  const codes = Object.keys(api.defaultJwtMessages) as api.JwtErrorCode[]
  t.equal(codes.length, 13)
  for (const code of codes) {
    const name = `Jwt${code.replace('FST_LOGIN_JWT_', '').toLowerCase().replace(/(?:^|_)([a-z])/g, (_, c: string) => c.toUpperCase())}Error`
    const Class = (api as Record<string, unknown>)[name] as ErrorClass | undefined
    t.ok(Class, `${code}: ${name} is exported`)
    if (Class === undefined) continue
    t.equal(table.jwtRefusals[code].Class, Class, `${code}: the table refuses with ${name}`)
    const err = new Class(api.defaultJwtMessages[code])
    t.same([err.code, err.statusCode, err.message], [code, 401, table.jwtRefusals[code].message], `${code}: code, 401 and message`)
  }
  t.same([codeOf(api.JwtUnsupportedMediaTypeError), new api.JwtUnsupportedMediaTypeError().statusCode], ['FST_LOGIN_JWT_UNSUPPORTED_MEDIA_TYPE', 415])
  t.same([codeOf(api.JwtBadRequestError), new api.JwtBadRequestError('a', 'b').statusCode], ['FST_LOGIN_JWT_BAD_REQUEST', 400])
})

t.test('the README names the class of every code', async (t) => {
  const lines = readFileSync(resolve(__dirname, '..', 'README.md'), 'utf8').split('\n')
  for (const [name, Class] of classes) {
    const code = codeOf(Class)
    t.ok(lines.some((line) => line.includes(`\`${code}\``) && line.includes(`\`${name}\``)), `a line of the README gives ${code} and ${name}`)
  }
})

const now = (): number => Math.floor(Date.now() / 1000)
const claims = (overrides: Record<string, unknown> = {}): Record<string, unknown> =>
  ({ sub: '1', jti: randomUUID(), type: 'access', iat: now(), nbf: now(), exp: now() + 900, fresh: true, ...overrides })
const token = (overrides: Record<string, unknown> = {}, kid = 'k1'): string =>
  hmacToken(claims(overrides), SECRET, { alg: 'HS256', typ: overrides.type === 'refresh' ? 'refresh+jwt' : 'at+jwt', kid })
const json = { 'content-type': 'application/json' }

/** Each refusal of the plugin's JWT part, and the class its error is an instance of. */
const refusals: Array<[string, ErrorClass, { method?: 'GET' | 'POST', url?: string, headers?: Record<string, string>, payload?: string }]> = [
  ['no token', api.JwtNoTokenError, {}],
  ['a header of our scheme with two words', api.JwtMalformedError, { headers: { authorization: 'Bearer a b' } }],
  ['a header of another scheme', api.JwtWrongSchemeError, { headers: { authorization: 'Basic YWxpY2U6eA==' } }],
  ['garbage', api.JwtInvalidError, { headers: bearer('not.a.token') }],
  ['expired', api.JwtExpiredError, { headers: bearer(token({ exp: now() - 60 })) }],
  ['not valid yet', api.JwtNotYetValidError, { headers: bearer(token({ nbf: now() + 600 })) }],
  ['an unknown kid', api.JwtUnknownKeyError, { headers: bearer(token({}, 'k9')) }],
  ['a refresh token', api.JwtWrongTypeError, { headers: bearer(token({ type: 'refresh' })) }],
  ['a revoked token', api.JwtRevokedError, { headers: bearer(token({ jti: 'revoked' })) }],
  ['an inactive user', api.JwtUserNotFoundError, { headers: bearer(token({ sub: '3' })) }],
  ['a cookie token without the CSRF header', api.JwtCsrfError, { method: 'POST', headers: { cookie: `__Host-access_token_cookie=${token()}` } }],
  ['a token that is not fresh', api.JwtFreshRequiredError, { url: '/api/fresh', headers: bearer(token({ fresh: false })) }],
  ['wrong credentials', api.JwtBadCredentialsError, { method: 'POST', url: '/auth', headers: json, payload: JSON.stringify({ username: 'alice', password: 'wrong' }) }],
  ['credentials that are not JSON', api.JwtUnsupportedMediaTypeError, { method: 'POST', url: '/auth', headers: { 'content-type': 'text/plain' }, payload: 'alice' }],
  ['credentials that are not strings', api.JwtBadRequestError, { method: 'POST', url: '/auth', headers: json, payload: JSON.stringify({ username: ['alice'], password: PASSWORD }) }]
]

/**
 * An app with the JWT part (headers and cookies), GET/POST /api/me behind jwtRequired and GET /api/fresh behind
 * freshJwtRequired; with `errorHandler`, set before the plugin registers so the token endpoint has it too.
 */
async function jwtApp (t: Test, errorHandler?: (err: JwtRefusalError, request: unknown, reply: FastifyReply) => FastifyReply): Promise<FastifyInstance> {
  const users = makeUsers()
  const app = Fastify()
  t.teardown(() => app.close())
  if (errorHandler !== undefined) app.setErrorHandler<JwtRefusalError>(errorHandler)
  await app.register(api.fastifyLogin, {
    session: { key: TEST_KEY },
    loadUser: (id) => users.get(id) ?? null,
    jwt: { keys: [{ kid: 'k1', secret: SECRET }], authenticate, locations: ['headers', 'cookies'], cookies: {} }
  })
  app.route({ method: ['GET', 'POST'], url: '/api/me', preHandler: app.jwtRequired, handler: async () => ({ ok: true }) })
  app.get('/api/fresh', { preHandler: app.freshJwtRequired }, async () => ({ ok: true }))
  await app.ready()
  await app.revokeToken(claims({ jti: 'revoked' }) as unknown as api.JwtClaims)
  return app
}

t.test("a refused JWT request's error is an instance of its exported class in the app's error handler", async (t) => {
  const app = await jwtApp(t, (err, _request, reply) => {
    const matches = classes.filter(([, Class]) => err instanceof Class).map(([name]) => name)
    return reply.code(err.statusCode ?? 500).headers(err.headers ?? {}).send({ code: err.code, matches })
  })
  const reference = await jwtApp(t)
  const seen = new Set<string>()
  for (const [what, Class, request] of refusals) {
    const options = { method: request.method ?? 'GET', url: request.url ?? '/api/me', headers: request.headers ?? {}, ...(request.payload === undefined ? {} : { payload: request.payload }) } as const
    const res = await app.inject(options)
    const name = classes.find(([, C]) => C === Class)?.[0]
    const code = codeOf(Class)
    seen.add(code)
    t.same(res.json(), { code, matches: [name] }, `${what}: ${code}, an instance of ${name} and of no other class`)
    const plain = await reference.inject(options)
    t.same([res.statusCode, res.headers['www-authenticate']], [plain.statusCode, plain.headers['www-authenticate']], `${what}: the status and challenge of the default handler`)
    t.equal(plain.json().code, code, `${what}: the default handler answers ${code}`)
  }
  const jwtCodes = classes.map(([, C]) => codeOf(C)).filter((code) => code.startsWith('FST_LOGIN_JWT_') && code !== 'FST_LOGIN_JWT_DISABLED')
  t.same([...seen].sort(), jwtCodes.sort(), 'every JWT refusal is checked')
})

t.test('with @fastify/auth, the error handler gets the JWT error as an instance of its class', async (t) => {
  const { app } = await buildApp({ jwt: { secret: SECRET, authenticate } }, async (app) => {
    await app.register(fastifyAuth)
    app.setErrorHandler<FastifyError>((err, _request, reply) => reply.code(401).send({
      expired: err instanceof api.JwtExpiredError,
      unauthorized: err instanceof api.UnauthorizedError
    }))
    app.get('/either', { preHandler: app.auth([app.verifyLogin, app.jwtRequired]) }, async () => ({ ok: true }))
  })
  t.teardown(() => app.close())
  const expired = hmacToken(claims({ exp: now() - 60 }), SECRET, { alg: 'HS256', typ: 'at+jwt' })
  t.same((await app.inject({ url: '/either', headers: bearer(expired) })).json(), { expired: true, unauthorized: false }, 'the last strategy\'s error: a JwtExpiredError')
})
