import t from 'tap'
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify'
import fastifyRateLimit from '@fastify/rate-limit'
import fastifySwagger from '@fastify/swagger'
import fastifyLogin, { MemoryStore, type FastifyLoginOptions, type JwtOptions } from '../lib/index.js'
import { familyApp, SECRET, testClock, type Tokens } from './jwt-family-cases.js'
import { authenticate, bearer, buildApp, getTokens, PASSWORD, rejectsOption, TEST_KEY, type TestUser } from './helpers.js'

/* `jwt.routes`: route options for the token, refresh, logout and revoke endpoints. */

const base = { session: { key: TEST_KEY }, loadUser: () => null }

function withRoutes (routes: unknown, jwt: Partial<JwtOptions> = {}): FastifyLoginOptions {
  return { ...base, jwt: { secret: SECRET, authenticate, routes, ...jwt } as JwtOptions }
}

t.test('bad jwt.routes are registration errors that name the option', async (t) => {
  const hook = (): void => {}
  const cases: Array<[unknown, RegExp, Partial<JwtOptions>?]> = [
    ['x', /jwt\.routes must be an object/],
    [{ login: {} }, /unknown option jwt\.routes\.login/],
    [{ auth: null }, /jwt\.routes\.auth must be an object/],
    [{ auth: { onrequest: hook } }, /unknown option jwt\.routes\.auth\.onrequest: did you mean jwt\.routes\.auth\.onRequest\?/],
    [{ auth: { preHandler: 'x' } }, /jwt\.routes\.auth\.preHandler must be a function or an array of functions/],
    [{ auth: { preHandler: [] } }, /preHandler must be a function or an array/],
    [{ auth: { onSend: [hook, 1] } }, /onSend must be a function or an array/],
    [{ refresh: { config: 'x' } }, /jwt\.routes\.refresh\.config must be an object/],
    [{ refresh: { config: { autoLoadUser: true } } }, /jwt\.routes\.refresh\.config\.autoLoadUser cannot be set/],
    [{ auth: { schema: [] } }, /jwt\.routes\.auth\.schema must be an object/],
    [{ auth: { schema: { body: {} } } }, /jwt\.routes\.auth\.schema\.body cannot be set: the endpoint validates its request itself/],
    [{ logout: { schema: { querystring: {} } } }, /schema\.querystring cannot be set/],
    [{ auth: { schema: { tag: ['a'] } } }, /unknown option jwt\.routes\.auth\.schema\.tag: did you mean jwt\.routes\.auth\.schema\.tags\?/],
    [{ auth: { schema: { tags: 'auth' } } }, /schema\.tags must be an array of strings/],
    [{ auth: { schema: { summary: 1 } } }, /schema\.summary must be a string/],
    [{ auth: { schema: { security: {} } } }, /schema\.security must be an array of security requirement objects/],
    [{ auth: { schema: { security: [null] } } }, /schema\.security must be an array/],
    [{ auth: { schema: { response: { 999: {} } } } }, /schema\.response\.999 is not a status code/],
    [{ auth: { schema: { response: { 429: 'x' } } } }, /schema\.response\.429 must be an object/],
    [{ auth: { schema: { response: [] } } }, /schema\.response must be an object/],
    [{ revoke: { logLevel: 1 } }, /jwt\.routes\.revoke\.logLevel must be a string/],
    [{ auth: {} }, /jwt\.routes\.auth is set but its endpoint is disabled/, { authPath: false }],
    [{ revoke: {} }, /jwt\.routes\.revoke is set but its endpoint is disabled/, { revokePath: false }]
  ]
  for (const [routes, message, jwt] of cases) await rejectsOption(t, withRoutes(routes, jwt), message)
})

t.test('hooks run after ours: a preHandler of the app cannot open the refresh endpoint', async (t) => {
  const calls: string[] = []
  const clock = testClock()
  const { app } = await familyApp(t, new MemoryStore({ clock: clock.now }), clock, {
    routes: {
      refresh: {
        preHandler: [async (request) => {
          calls.push(`pre ${String((request.currentUser as { name?: string } | null)?.name)}`)
        }],
        onRequest: (_request, _reply, done) => { calls.push('onRequest'); done() },
        onSend: async (_request, reply) => { reply.header('x-app', 'yes') },
        onResponse: async () => { calls.push('onResponse') }
      }
    }
  })
  const refused = await app.inject({ method: 'POST', url: '/auth/refresh', headers: bearer('garbage') })
  t.equal(refused.statusCode, 401, 'no token of ours: refused by our guard')
  t.same(calls, ['onRequest', 'onResponse'], 'the app\'s preHandler did not run for a refused request')
  t.equal(refused.headers['x-app'], 'yes', 'onSend runs on every answer')
  calls.length = 0
  const tokens = await getTokens(app)
  const ok = await app.inject({ method: 'POST', url: '/auth/refresh', headers: bearer(tokens.refresh_token) })
  t.equal(ok.statusCode, 200, 'the app\'s hook runs after the guard passed')
  t.same(calls, ['onRequest', 'pre alice', 'onResponse'])
})

t.test('an app preValidation that changes the refresh form is still held to the grant\'s rules', async (t) => {
  const clock = testClock()
  const { app } = await familyApp(t, new MemoryStore({ clock: clock.now }), clock, {
    routes: { refresh: { preValidation: async (request) => { request.body = { grant_type: 'refresh_token', refresh_token: 'x'.repeat(9000) } } } }
  })
  const tokens = await getTokens(app)
  const res = await app.inject({ method: 'POST', url: '/auth/refresh', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: `grant_type=refresh_token&refresh_token=${tokens.refresh_token}` })
  t.equal(res.statusCode, 400, 'the body schema refuses it')
})

t.test('config is merged with ours (autoLoadUser stays false); logLevel and hooks reach every endpoint', async (t) => {
  const seen: Array<[string, unknown, unknown]> = []
  const record = (name: string) => async (request: FastifyRequest) => {
    const config = request.routeOptions.config as unknown as Record<string, unknown>
    seen.push([name, config.mine, config.autoLoadUser])
  }
  const clock = testClock()
  const { app } = await familyApp(t, new MemoryStore({ clock: clock.now }), clock, {
    routes: {
      auth: { config: { mine: 'auth' }, onRequest: record('auth'), logLevel: 'warn' },
      refresh: { config: { mine: 'refresh' }, onRequest: record('refresh') },
      logout: { config: { mine: 'logout' }, onRequest: record('logout') },
      revoke: { config: { mine: 'revoke' }, onRequest: record('revoke') }
    }
  })
  const tokens = await getTokens(app)
  await app.inject({ method: 'POST', url: '/auth/refresh', headers: bearer(tokens.refresh_token) })
  await app.inject({ method: 'POST', url: '/auth/revoke', payload: { token: 'x' } })
  await app.inject({ method: 'POST', url: '/auth/logout', headers: bearer(tokens.access_token) })
  t.same(seen, [['auth', 'auth', false], ['refresh', 'refresh', false], ['revoke', 'revoke', false], ['logout', 'logout', false]])
})

t.test('@fastify/rate-limit with global: false and config.rateLimit on /auth answers 429 after max', async (t) => {
  const { app } = await buildApp(withRoutes({ auth: { config: { rateLimit: { max: 3, timeWindow: '1 minute' } } } }), undefined, {}, async (a) => {
    await a.register(fastifyRateLimit, { global: false })
  })
  t.teardown(() => app.close())
  const codes: number[] = []
  for (let i = 0; i < 5; i++) {
    codes.push((await app.inject({ method: 'POST', url: '/auth', payload: { username: 'alice', password: PASSWORD } })).statusCode)
  }
  t.same(codes, [200, 200, 200, 429, 429])
  const limited = await app.inject({ method: 'POST', url: '/auth', payload: { username: 'alice', password: PASSWORD } })
  t.ok(limited.headers['retry-after'] !== undefined, 'Retry-After from rate-limit')
  const tokens = await app.inject({ method: 'POST', url: '/auth/revoke', payload: { token: 'x' } })
  t.equal(tokens.statusCode, 200, 'the other endpoints are not limited')
})

t.test('authResponse fields survive the response schema', async (t) => {
  const clock = testClock()
  const { app } = await familyApp(t, new MemoryStore({ clock: clock.now }), clock, {
    authResponse: (body, user) => ({ ...body, user: { id: (user as TestUser).id, roles: ['a'] }, scope: 'read' })
  })
  const res = await app.inject({ method: 'POST', url: '/auth', payload: { username: 'alice', password: PASSWORD } })
  const body = res.json<Tokens & { user: unknown, scope: string }>()
  t.same(body.user, { id: '1', roles: ['a'] })
  t.equal(body.scope, 'read')
  t.equal(body.expires_in, 900)
  const refreshed = await app.inject({ method: 'POST', url: '/auth/refresh', headers: bearer(body.refresh_token) })
  t.same(refreshed.json<{ user: unknown }>().user, { id: '1', roles: ['a'] }, 'at the refresh endpoint too')
  const bad = await app.inject({ method: 'POST', url: '/auth', payload: { username: 'alice', password: 'x' } })
  t.same(Object.keys(bad.json()).sort(), ['code', 'error', 'message', 'statusCode'], 'the error body is whole')
})

t.test('swagger shows the tags, summary and extra responses given for the endpoints', async (t) => {
  const app: FastifyInstance = Fastify()
  t.teardown(() => app.close())
  // A `security` naming a scheme the document lacks makes @fastify/swagger throw: the app declares its own.
  await app.register(fastifySwagger, { openapi: { info: { title: 't', version: '1' }, components: { securitySchemes: { custom: { type: 'apiKey', in: 'header', name: 'x-key' } } } } })
  await app.register(fastifyLogin, withRoutes({
    auth: { schema: { tags: ['auth'], summary: 'Log in', description: 'Tokens for a password', response: { 429: { description: 'Slow down', type: 'object' } }, 'x-internal': true } },
    refresh: { schema: { tags: ['auth'], summary: 'Refresh' } },
    logout: { schema: { tags: ['auth'], operationId: 'logout', deprecated: true } },
    revoke: { schema: { tags: ['auth'], security: [{ custom: [] }] } }
  }))
  await app.ready()
  const paths = (app.swagger() as unknown as { paths: Record<string, Record<string, Record<string, any>>> }).paths
  const auth = paths['/auth']?.post
  t.same(auth?.tags, ['auth'])
  t.equal(auth?.summary, 'Log in')
  t.equal(auth?.description, 'Tokens for a password')
  t.equal(auth?.['x-internal'], true)
  t.same(Object.keys(auth?.responses ?? {}).sort(), ['200', '429', '4XX'], 'ours and the app\'s responses')
  t.same(Object.keys(auth?.requestBody.content).sort(), ['application/json', 'application/x-www-form-urlencoded'], 'our body schemas stay')
  t.equal(paths['/auth/refresh']?.post?.summary, 'Refresh')
  t.equal(paths['/auth/logout']?.post?.operationId, 'logout')
  t.equal(paths['/auth/logout']?.post?.deprecated, true)
  t.same(paths['/auth/revoke']?.post?.security, [{ custom: [] }], 'the app\'s security wins')
})

t.test('a refused refresh grant ends the request even while an async onSend of the app is still running', async (t) => {
  const calls: string[] = []
  const clock = testClock()
  const { app } = await familyApp(t, new MemoryStore({ clock: clock.now }), clock, {
    routes: {
      refresh: {
        preHandler: async (request) => { calls.push(`pre ${String(request.jwtClaims?.sub)}`) },
        // An onSend that yields (as compression or a logger may): the response is not finished when our guard returns.
        onSend: async (_request, _reply, payload) => {
          await new Promise((resolve) => setImmediate(resolve))
          return payload
        },
        onError: async () => { calls.push('onError') }
      }
    }
  })
  const tokens = await getTokens(app)
  const other = await getTokens(app, 'bob')
  const form = { 'content-type': 'application/x-www-form-urlencoded' }
  const garbage = await app.inject({ method: 'POST', url: '/auth/refresh', headers: form, payload: 'grant_type=refresh_token&refresh_token=garbage' })
  t.equal(garbage.statusCode, 400)
  t.equal(garbage.json().error, 'invalid_grant')
  const both = await app.inject({ method: 'POST', url: '/auth/refresh', headers: { ...form, ...bearer(other.refresh_token) }, payload: `grant_type=refresh_token&refresh_token=${tokens.refresh_token}` })
  t.equal(both.json().error, 'invalid_request')
  t.same(calls, [], 'neither the app\'s preHandler nor the endpoint ran after the refusal')
  const ok = await app.inject({ method: 'POST', url: '/auth/refresh', headers: form, payload: `grant_type=refresh_token&refresh_token=${tokens.refresh_token}` })
  t.equal(ok.statusCode, 200)
  t.same(calls, ['pre 1'], 'a granted refresh reaches the app\'s preHandler')
})
