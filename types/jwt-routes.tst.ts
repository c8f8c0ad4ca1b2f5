// `jwt.routes` and `fastify.loginOpenapi()` as an app sees them.
import Fastify from 'fastify'
import { describe, expect, test } from 'tstyche'
import fastifyLogin, { type JwtEndpointOptions, type JwtRoutesOptions } from 'fastify-login'

const app = Fastify()
const base = { loadUser: (id: string) => ({ id }), session: false as const }
const secret = 'a long enough HS256 secret for the type test'

describe('jwt.routes', () => {
  test('route options per endpoint', () => {
    const routes: JwtRoutesOptions = {
      auth: {
        config: { rateLimit: { max: 5 } },
        schema: { tags: ['auth'], summary: 'Log in', response: { 429: { type: 'object' } }, 'x-internal': true },
        onRequest: async () => {},
        preHandler: [async () => {}],
        logLevel: 'warn'
      },
      revoke: { schema: { security: [{ custom: [] }] } }
    }
    expect(app.register).type.toBeCallableWith(fastifyLogin, { ...base, jwt: { secret, authenticate: () => null, routes } })
  })

  test('no autoLoadUser, no validation schema, no unknown endpoint', () => {
    expect<JwtEndpointOptions>().type.not.toBeAssignableFrom({ config: { autoLoadUser: true } })
    expect<JwtEndpointOptions>().type.not.toBeAssignableFrom({ schema: { body: {} } })
    expect<JwtRoutesOptions>().type.not.toBeAssignableFrom({ login: {} })
  })

  test('loginOpenapi keeps the document type', () => {
    expect(app.loginOpenapi({ openapi: '3.0.3' })).type.toBe<{ openapi: string }>()
  })
})
