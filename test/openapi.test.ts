import t, { type Test } from 'tap'
import fastifyAuth from '@fastify/auth'
import fastifySwagger from '@fastify/swagger'
import fastifySwaggerUi from '@fastify/swagger-ui'
import Fastify, { type FastifyInstance, type preHandlerHookHandler } from 'fastify'
import fastifyLogin, { freshJwtRequired, type FastifyLoginOptions, type JwtOptions } from '../lib/index.js'
import { authenticate, bearer, callMe, makeUsers, PASSWORD, TEST_KEY } from './helpers.js'

/*
 * The OpenAPI document of @fastify/swagger: the plugin's security schemes,
 * and the `security` of each route its guards protect, read from the real
 * `app.swagger()` (and @fastify/swagger-ui's JSON and YAML).
 */

const SECRET = 'openapi-test-secret-0123456789abcdefghij'
const MARKER = 'x-fastify-login-guards'

type Operation = Record<string, any>
interface Doc {
  components: { securitySchemes?: Record<string, Record<string, any>> }
  paths: Record<string, Record<string, Operation>>
}

function options (jwt: Partial<JwtOptions> | false = {}, core: Partial<FastifyLoginOptions> = {}): FastifyLoginOptions {
  const users = makeUsers()
  return {
    session: { key: TEST_KEY },
    loadUser: (id) => users.get(id) ?? null,
    ...(jwt === false ? {} : { jwt: { secret: SECRET, authenticate, ...jwt } }),
    ...core
  } as FastifyLoginOptions
}

const swaggerOptions = { openapi: { info: { title: 'test', version: '1' } } }

async function documented (
  t: Test,
  { jwt = {}, core = {}, routes, swaggerAfter = false, swagger = swaggerOptions }: {
    jwt?: Partial<JwtOptions> | false
    core?: Partial<FastifyLoginOptions>
    routes?: (app: FastifyInstance) => void
    swaggerAfter?: boolean
    swagger?: Record<string, unknown>
  } = {}
): Promise<{ app: FastifyInstance, doc: Doc }> {
  const app = Fastify()
  t.teardown(() => app.close())
  if (!swaggerAfter) await app.register(fastifySwagger, swagger)
  await app.register(fastifyAuth)
  await app.register(fastifyLogin, options(jwt, core))
  if (swaggerAfter) await app.register(fastifySwagger, swagger)
  await app.register(fastifySwaggerUi, { routePrefix: '/documentation' })
  routes?.(app)
  await app.ready()
  return { app, doc: app.swagger() as unknown as Doc }
}

const ok = async (): Promise<{ ok: boolean }> => ({ ok: true })
const SESSION = { sessionCookie: [] }
const BEARER = { bearerAuth: [] }
const OAUTH = { oauth2Password: [] }

t.test('the schemes of the plugin and the security of each guarded route', async (t) => {
  const appCheck: preHandlerHookHandler = (_request, _reply, done) => done()
  const shared = { tags: ['shared'] }
  const { app, doc } = await documented(t, {
    routes: (app) => {
      app.get('/session', { preHandler: app.loginRequired }, ok)
      app.get('/token', { preHandler: app.jwtRequired }, ok)
      app.get('/optional', { preHandler: [app.jwtOptional] }, ok)
      app.get('/fresh', { onRequest: freshJwtRequired }, ok)
      app.get('/either', { preHandler: app.auth([app.verifyLogin, app.jwtRequired as preHandlerHookHandler]) }, ok)
      app.get('/all', { preHandler: app.auth([app.verifyLogin, app.jwtRequired as preHandlerHookHandler], { relation: 'and' }) }, ok)
      app.get('/group', { preHandler: app.auth([[app.verifyLogin, app.jwtRequired as preHandlerHookHandler], app.verifyFreshLogin]) }, ok)
      app.get('/with-app-check', { preHandler: app.auth([app.verifyLogin, appCheck]) }, ok)
      app.get('/and-app-check', { preHandler: app.auth([app.verifyLogin, appCheck], { relation: 'and' }) }, ok)
      app.get('/only-app-check', { preHandler: app.auth([appCheck], { relation: 'and' }) }, ok)
      app.get('/two-guards', { preHandler: [app.loginRequired, app.jwtRequired] }, ok)
      app.get('/own', { preHandler: app.jwtRequired, schema: { security: [{ bearerAuth: ['admin'] }] } as object }, ok)
      app.get('/shared-a', { preHandler: app.loginRequired, schema: shared }, ok)
      app.get('/shared-b', { preHandler: app.jwtRequired, schema: shared }, ok)
      app.get('/open', { preHandler: appCheck }, ok)
    }
  })
  t.same(doc.components.securitySchemes, {
    sessionCookie: { type: 'apiKey', in: 'cookie', name: '__Host-session' },
    bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
    oauth2Password: { type: 'oauth2', flows: { password: { tokenUrl: '/auth', refreshUrl: '/auth/refresh', scopes: {} } } }
  })
  const security = (path: string, method = 'get'): unknown => doc.paths[path]?.[method]?.security
  t.same(security('/session'), [SESSION])
  t.same(security('/token'), [BEARER, OAUTH])
  t.same(security('/optional'), [BEARER, OAUTH, {}], 'jwtOptional: or nothing')
  t.same(security('/fresh'), [BEARER, OAUTH], 'the exported guard, in onRequest')
  t.same(security('/either'), [SESSION, BEARER, OAUTH], '@fastify/auth or: each alternative')
  t.same(security('/all'), [{ ...SESSION, ...BEARER }, { ...SESSION, ...OAUTH }], '@fastify/auth and: both at once')
  t.same(security('/group'), [{ ...SESSION, ...BEARER }, { ...SESSION, ...OAUTH }, SESSION], 'a sub-array is an and')
  t.equal(security('/with-app-check'), undefined, 'an or with a check of the app cannot be described')
  t.same(security('/and-app-check'), [SESSION], 'an and with a check of the app still needs the session')
  t.equal(security('/only-app-check'), undefined)
  t.same(security('/two-guards'), [{ ...SESSION, ...BEARER }, { ...SESSION, ...OAUTH }])
  t.same(security('/own'), [{ bearerAuth: ['admin'] }], 'a route\'s own security is kept')
  t.same(security('/shared-a'), [SESSION])
  t.same(security('/shared-b'), [BEARER, OAUTH], 'one schema object shared by two routes')
  t.same(shared, { tags: ['shared'] }, 'and left as it was')
  t.equal(security('/open'), undefined)
  t.same(security('/auth', 'post'), [], 'the token endpoint needs no login')
  t.same(security('/auth/refresh', 'post'), [BEARER, {}], 'a refresh token in the header, or the form grant')
  t.same(security('/auth/logout', 'post'), [BEARER, OAUTH])
  t.same(security('/auth/revoke', 'post'), [])
  t.notOk(JSON.stringify(doc).includes(MARKER), 'no marker is left')
  t.same(app.swagger(), doc, 'the same document again')
  t.throws(() => app.auth('x' as never), TypeError, '@fastify/auth still refuses what it refused')

  const json = await app.inject({ url: '/documentation/json' })
  t.equal(json.statusCode, 200)
  t.same(json.json(), JSON.parse(JSON.stringify(doc)), 'swagger-ui serves it')
  const yaml = await app.inject({ url: '/documentation/yaml' })
  t.equal(yaml.statusCode, 200)
  t.same(JSON.parse(yaml.body), JSON.parse(JSON.stringify(doc)), 'its YAML (JSON, which YAML 1.2 includes) too')
  t.same(JSON.parse(app.swagger({ yaml: true }) as unknown as string), JSON.parse(JSON.stringify(doc)))
})

t.test('with @fastify/swagger registered after the plugin, and schemes of the app kept', async (t) => {
  const own = { type: 'http', scheme: 'bearer', description: 'the app\'s' }
  const { doc } = await documented(t, {
    swaggerAfter: true,
    swagger: { openapi: { info: { title: 't', version: '1' }, components: { securitySchemes: { bearerAuth: own } } } },
    routes: (app) => { app.get('/token', { preHandler: app.jwtRequired }, ok) }
  })
  t.same(doc.components.securitySchemes?.bearerAuth, own, 'a scheme the app named itself is not replaced')
  t.ok(doc.components.securitySchemes?.oauth2Password)
  t.same(doc.paths['/token']?.get?.security, [BEARER, OAUTH])
})

t.test('the schemes follow the options: locations, header scheme, cookie names, session: false, no jwt', async (t) => {
  const { doc } = await documented(t, {
    jwt: { locations: ['headers', 'cookies', 'query'], headerScheme: 'JWT', cookies: { accessCookieName: 'at', refreshCookieName: 'rt' }, queryParam: 'token', authPath: false },
    core: { session: { key: TEST_KEY, cookieName: 'sid' } },
    routes: (app) => {
      app.get('/token', { preHandler: app.jwtRequired }, ok)
      app.post('/refresh-here', { preHandler: app.refreshJwtRequired }, ok)
    }
  })
  t.same(doc.components.securitySchemes, {
    sessionCookie: { type: 'apiKey', in: 'cookie', name: 'sid' },
    bearerAuth: { type: 'apiKey', in: 'header', name: 'Authorization', description: '"JWT <token>"' },
    accessTokenCookie: { type: 'apiKey', in: 'cookie', name: 'at' },
    refreshTokenCookie: { type: 'apiKey', in: 'cookie', name: 'rt' },
    accessTokenQuery: { type: 'apiKey', in: 'query', name: 'token' }
  }, 'no oauth2 flow without the token endpoint')
  t.same(doc.paths['/token']?.get?.security, [BEARER, { accessTokenCookie: [] }, { accessTokenQuery: [] }])
  t.same(doc.paths['/refresh-here']?.post?.security, [BEARER, { refreshTokenCookie: [] }, { accessTokenQuery: [] }])

  const sessionOnly = await documented(t, { jwt: false, routes: (app) => { app.get('/session', { preHandler: app.loginRequired }, ok) } })
  t.same(sessionOnly.doc.components.securitySchemes, { sessionCookie: { type: 'apiKey', in: 'cookie', name: '__Host-session' } })
  t.same(sessionOnly.doc.paths['/session']?.get?.security, [SESSION])

  const tokensOnly = await documented(t, { core: { session: false }, routes: (app) => { app.get('/session', { preHandler: app.loginRequired }, ok) } })
  t.notOk(tokensOnly.doc.components.securitySchemes?.sessionCookie)
  t.equal(tokensOnly.doc.paths['/session']?.get?.security, undefined, 'a session guard without sessions: no security to claim')
})

t.test('under a prefix the oauth2 URLs carry it; a transform\'s security is kept', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  let scope: FastifyInstance | undefined
  await app.register(async (api) => {
    await api.register(fastifySwagger, {
      openapi: { ...swaggerOptions.openapi, components: { securitySchemes: { custom: { type: 'apiKey', in: 'header', name: 'x-key' } } } },
      transform: ({ schema, url }: { schema: Record<string, unknown>, url: string }) => ({ schema: url === '/api/mine' ? { ...schema, security: [{ custom: [] }] } : schema, url })
    } as never)
    await api.register(fastifyLogin, options())
    api.get('/me', { preHandler: api.jwtRequired }, ok)
    api.get('/mine', { preHandler: api.jwtRequired }, ok)
    scope = api
  }, { prefix: '/api' })
  await app.ready()
  const doc = (scope as FastifyInstance).swagger() as unknown as Doc
  t.same(doc.components.securitySchemes?.oauth2Password?.flows, { password: { tokenUrl: '/api/auth', refreshUrl: '/api/auth/refresh', scopes: {} } })
  t.same(doc.paths['/api/me']?.get?.security, [BEARER, OAUTH])
  t.same(doc.paths['/api/mine']?.get?.security, [{ custom: [] }], 'the transform\'s security stays')
})

t.test('without the swagger() decorator: fastify.loginOpenapi(document) for transformObject', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifySwagger, {
    ...swaggerOptions,
    decorator: 'apiDocument',
    transformObject: ({ openapiObject }: { openapiObject: unknown }) => app.loginOpenapi(openapiObject)
  } as never)
  await app.register(fastifyLogin, options())
  app.get('/token', { preHandler: app.jwtRequired }, ok)
  await app.ready()
  const doc = (app as unknown as { apiDocument: () => Doc }).apiDocument()
  t.same(doc.paths['/token']?.get?.security, [BEARER, OAUTH])
  t.ok(doc.components.securitySchemes?.bearerAuth)
  t.equal(app.loginOpenapi(null), null, 'anything but a document is given back as it is')
  t.same(app.loginOpenapi({}), {}, 'a document without paths: nothing to add')
  const odd = { paths: { '/x': null, '/y': { get: null, parameters: 'p' } } }
  t.same(app.loginOpenapi(odd), { paths: { '/x': null, '/y': { get: null, parameters: 'p' } } }, 'odd entries are left alone')
})

t.test('Swagger UI\'s password flow: a form to the tokenUrl, then to the refreshUrl', async (t) => {
  const { app, doc } = await documented(t, { routes: (app) => { app.get('/api/me', { preHandler: app.jwtRequired }, async (request) => ({ name: (request.currentUser as { name: string }).name })) } })
  const flow = doc.components.securitySchemes?.oauth2Password?.flows.password as { tokenUrl: string, refreshUrl: string }
  const form = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json, text/plain, */*' }
  // What Swagger UI sends with client credentials in the body (its default) and none filled in.
  const body = new URLSearchParams({ grant_type: 'password', username: 'alice', password: PASSWORD, client_id: '', client_secret: '', scope: '' }).toString()
  const res = await app.inject({ method: 'POST', url: flow.tokenUrl, headers: form, payload: body })
  t.equal(res.statusCode, 200, res.body)
  const tokens = res.json<{ access_token: string, refresh_token: string }>()
  t.equal((await callMe(app, tokens.access_token)).statusCode, 200)
  // With "Basic auth" client authentication: the client id in a Basic header.
  const basic = await app.inject({
    method: 'POST',
    url: flow.tokenUrl,
    headers: { ...form, authorization: `Basic ${Buffer.from('swagger-ui:').toString('base64')}` },
    payload: new URLSearchParams({ grant_type: 'password', username: 'alice', password: PASSWORD }).toString()
  })
  t.equal(basic.statusCode, 200, basic.body)
  const refreshed = await app.inject({ method: 'POST', url: flow.refreshUrl, headers: form, payload: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: '' }).toString() })
  t.equal(refreshed.statusCode, 200, refreshed.body)
  const api = await app.inject({ url: '/api/me', headers: bearer(refreshed.json<{ access_token: string }>().access_token) })
  t.equal(api.json<{ name: string }>().name, 'alice')
})

t.test('a Swagger 2.0 document gets securityDefinitions, without the cookie schemes', async (t) => {
  const { doc } = await documented(t, {
    swagger: { swagger: { info: { title: 't', version: '1' } } },
    jwt: { locations: ['headers', 'query'] },
    routes: (app) => {
      app.get('/token', { preHandler: app.jwtRequired }, ok)
      app.get('/session', { preHandler: app.loginRequired }, ok)
    }
  })
  const swagger2 = doc as unknown as Doc & { swagger: string, securityDefinitions: Record<string, unknown> }
  t.equal(swagger2.swagger, '2.0')
  t.same(swagger2.securityDefinitions, {
    bearerAuth: { type: 'apiKey', in: 'header', name: 'Authorization', description: '"Bearer <token>"' },
    oauth2Password: { type: 'oauth2', flow: 'password', tokenUrl: '/auth', scopes: {} },
    accessTokenQuery: { type: 'apiKey', in: 'query', name: 'jwt' }
  })
  t.same(doc.paths['/token']?.get?.security, [BEARER, OAUTH, { accessTokenQuery: [] }])
  t.equal(doc.paths['/session']?.get?.security, undefined, 'no cookies in Swagger 2')
  t.equal((doc as { components?: unknown }).components, undefined)
})

t.test('without @fastify/swagger nothing breaks', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyLogin, options())
  app.get('/token', { preHandler: app.jwtRequired }, ok)
  await app.ready()
  t.equal((await app.inject({ url: '/token' })).statusCode, 401)
})

t.test('jwt.routes security naming the plugin\'s schemes: the document builds, and the app\'s security is the one shown', async (t) => {
  const { app, doc } = await documented(t, {
    jwt: {
      routes: {
        auth: { schema: { security: [OAUTH] } },
        refresh: { schema: { security: [BEARER] } },
        logout: { schema: { security: [{ bearerAuth: ['logout'] }] } },
        revoke: { schema: { security: [{ oauth2Password: [] }, {}] } }
      }
    }
  })
  const security = (path: string): unknown => doc.paths[path]?.post?.security
  t.same(security('/auth'), [OAUTH])
  t.same(security('/auth/refresh'), [BEARER], 'the refresh endpoint (which has a guard marker of its own)')
  t.same(security('/auth/logout'), [{ bearerAuth: ['logout'] }])
  t.same(security('/auth/revoke'), [OAUTH, {}])
  t.notOk(JSON.stringify(doc).includes('x-fastify-login'), 'no marker is left')
  t.equal((await app.inject({ url: '/documentation/json' })).statusCode, 200, 'swagger-ui serves it')
})

t.test('@fastify/swagger at the root, the plugin in a prefixed scope: the root document is completed too', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  const own = { type: 'http', scheme: 'bearer', description: 'the app\'s' }
  await app.register(fastifySwagger, { openapi: { ...swaggerOptions.openapi, components: { securitySchemes: { bearerAuth: own } } } } as never)
  await app.register(fastifySwaggerUi, { routePrefix: '/documentation' })
  await app.register(async (api) => {
    await api.register(fastifyLogin, options())
    api.get('/me', { preHandler: api.jwtRequired }, ok)
    api.get('/own', { schema: { security: [{ bearerAuth: [] }] } }, ok)
  }, { prefix: '/api' })
  await app.ready()
  const doc = app.swagger() as unknown as Doc
  t.same(doc.paths['/api/me']?.get?.security, [BEARER, OAUTH], 'a guarded route of the scope')
  t.same(doc.paths['/api/own']?.get?.security, [BEARER], 'a route\'s own security, naming a scheme of the app, is not lost')
  t.same(doc.components.securitySchemes?.bearerAuth, own)
  t.same(doc.components.securitySchemes?.oauth2Password?.flows, { password: { tokenUrl: '/api/auth', refreshUrl: '/api/auth/refresh', scopes: {} } })
  t.notOk(JSON.stringify(doc).includes('x-fastify-login'), 'no marker is left')
  const served = await app.inject({ url: '/documentation/json' })
  t.same(served.json(), JSON.parse(JSON.stringify(doc)), 'swagger-ui at the root serves the same')
})
