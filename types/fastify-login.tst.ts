// Types as an app sees them without augmenting FastifyLoginTypes.
// 'fastify-login' resolves to lib/index.ts here, 'fastify-login/testing' to
// lib/testing/index.ts (see types/tsconfig.json).
import Fastify, { type FastifyReply, type FastifyRequest, type preHandlerAsyncHookHandler } from 'fastify'
import { describe, expect, test } from 'tstyche'
import fastifyLogin, {
  InvalidOptionError,
  JwtDisabledError,
  JwtExpiredError,
  defaultJwtMessages,
  NotRegisteredError,
  freshJwtRequired,
  freshLoginRequired,
  jwtOptional,
  jwtRequired,
  loginRequired,
  refreshJwtRequired,
  verifyFreshLogin,
  verifyLogin,
  type Guard,
  type JwtGuard,
  type JwtClaims,
  type JwtErrorCode,
  type JwtOptions,
  type JwtTokenResponse,
  loginUrlWithNext,
  parseDuration,
  safeNextUrl,
  type CurrentUser,
  type FastifyLoginOptions,
  type LoginEvent,
  type LoginUser,
  type Session
} from 'fastify-login'
import type { Session as SecureSession } from '@fastify/secure-session'
import * as mainEntry from 'fastify-login'
import { loginCookie, rememberCookie, type LoginCookieOptions, type RememberCookieOptions } from 'fastify-login/testing'

const app = Fastify()
declare const request: FastifyRequest
declare const reply: FastifyReply

describe('without augmentation', () => {
  test('currentUser is some object or null: reading a field needs a declared user type', () => {
    expect(request.currentUser).type.toBe<object | null>()
    expect<CurrentUser>().type.toBe<object | null>()
    expect<LoginUser>().type.toBe<object>()
    expect(request.loadCurrentUser()).type.toBe<Promise<object | null>>()
    expect(request.currentUser?.whatever.deep).type.toRaiseError()
    expect(request.requireUser().whatever).type.toRaiseError()
  })

  test('requireUser() gives the user without null', () => {
    expect(request.requireUser()).type.toBe<LoginUser>()
    expect(request.requireUser).type.not.toBeCallableWith('x')
  })

  test("request.session is typed with only 'fastify-login' imported", () => {
    expect(request.session).type.toBe<Session>()
    expect(request.session.changed).type.toBe<boolean>()
    expect(request.session.set).type.not.toBeCallableWith('undeclared', 1) // keys must be declared on SessionData
    expect<Session>().type.toBe<SecureSession>()
  })

  test('reply.login takes any user object and resolves to a boolean', () => {
    expect(reply.login({ id: '1' })).type.toBe<Promise<boolean>>()
    expect(reply.login).type.toBeCallableWith({ id: 1 }, { remember: true, duration: '30d', fresh: false, force: true })
    expect(reply.login).type.not.toBeCallableWith('1')
    expect(reply.login).type.not.toBeCallableWith({ id: '1' }, { remember: 'yes' })
  })
})

describe('plugin registration', () => {
  test('the plugin registers with its options', () => {
    expect(app.register).type.toBeCallableWith(fastifyLogin, {
      session: { key: Buffer.alloc(32) },
      loadUser: (id: string) => ({ id })
    })
    expect(app.register).type.toBeCallableWith(fastifyLogin, {
      session: { secret: 'a passphrase of at least 32 bytes!', salt: 'sixteen-byte-slt', cookieName: 'sid', expiry: '2h', cookie: { sameSite: 'strict' } },
      loadUser: async (id: string, req: FastifyRequest) => (req.ip === '' ? null : { id }),
      loadUserFromRequest: async () => undefined,
      getUserId: (user: LoginUser) => String((user as { id: string }).id),
      isUserActive: () => true,
      rememberMe: { duration: 86400, sameSite: 'none', secure: true, key: ['k'.repeat(32)] },
      sessionProtection: 'strong',
      keepSessionKeys: ['cart'],
      loginUrl: '/login',
      loginMessage: (req: FastifyRequest) => `log in for ${req.url}`,
      refreshMessage: false,
      unauthorized: async (_req: FastifyRequest, rep: FastifyReply) => rep.code(401).send()
    })
  })

  test('wrong option types are errors', () => {
    expect(app.register(fastifyLogin, { loadUser: () => ({}) })).type.not.toRaiseError()
    expect(app.register(fastifyLogin, { loadUser: 'users' })).type.toRaiseError()
    expect(app.register(fastifyLogin, { loadUser: (id: number) => ({ id }) })).type.toRaiseError()
    expect(app.register(fastifyLogin, { loadUser: () => 'alice' })).type.toRaiseError()
    expect(app.register(fastifyLogin, { loadUser: () => ({}), sessionProtection: 'none' })).type.toRaiseError()
    expect(app.register(fastifyLogin, { loadUser: () => ({}), rememberMe: true })).type.toRaiseError()
    expect(app.register(fastifyLogin, { loadUser: () => ({}), rememberMe: { sameSite: 'off' } })).type.toRaiseError()
    expect(app.register(fastifyLogin, { loadUser: () => ({}), session: { key: 42 } })).type.toRaiseError()
    expect(app.register(fastifyLogin, { loadUser: () => ({}), keepSessionKeys: 'cart' })).type.toRaiseError()
    expect(app.register(fastifyLogin, { loadUser: () => ({}), loginMessage: 42 })).type.toRaiseError()
    expect(app.register(fastifyLogin, { loadUser: () => ({}), autoLoadUser: 'yes' })).type.toRaiseError()
  })

  test('FastifyLoginOptions accepts a loader returning null, undefined or a promise', () => {
    expect<{ loadUser: () => null }>().type.toBeAssignableTo<FastifyLoginOptions>()
    expect<{ loadUser: () => Promise<{ id: string } | undefined> }>().type.toBeAssignableTo<FastifyLoginOptions>()
    expect<{ loadUser: () => string }>().type.not.toBeAssignableTo<FastifyLoginOptions>()
  })
})

describe('decorators', () => {
  test('request and reply helpers', () => {
    expect(request.isAuthenticated()).type.toBe<boolean>()
    expect(request.loginFresh()).type.toBe<boolean>()
    expect(request.loginRemembered()).type.toBe<boolean>()
    expect(request.nextUrl()).type.toBe<string>()
    expect(request.nextUrl('/home')).type.toBe<string>()
    expect(request.nextUrl({ next: 'x', fallback: '/home' })).type.toBe<string>()
    expect(request.nextUrl({ next: { type: 'field', value: '/x' } })).type.toBe<string>()
    expect(request.nextUrl).type.not.toBeCallableWith(5)
    expect(request.nextUrl).type.not.toBeCallableWith({ fallback: 5 })
    expect(reply.logout()).type.toBe<Promise<void>>()
    expect(reply.logout).type.toBeCallableWith({ destroySession: true })
    expect(reply.confirmLogin()).type.toBe<Promise<boolean>>()
    expect(reply.logout).type.toBeCallableWith({ everywhere: true })
    expect(reply.logout).type.not.toBeCallableWith({ everywhere: 'yes' })
  })

  test('guards are preHandlers', () => {
    expect(app.loginRequired).type.toBeAssignableTo<preHandlerAsyncHookHandler>()
    expect(app.get).type.toBeCallableWith('/private', { preHandler: app.loginRequired }, async () => 'ok')
    expect(app.get).type.toBeCallableWith('/fresh', { preHandler: [app.freshLoginRequired] }, async () => 'ok')
    expect(app.get).type.toBeCallableWith('/open', { config: { autoLoadUser: false } }, async () => 'ok')
    expect(app.get).type.not.toBeCallableWith('/open', { config: { autoLoadUser: 'no' } }, async () => 'ok')
    expect(app.verifyLogin(request, reply)).type.toBe<Promise<FastifyReply | undefined>>()
    // As a callback hook: `done` is called when the outcome is settled at once.
    expect(app.loginRequired(request, reply, () => {})).type.toBe<Promise<FastifyReply | undefined> | undefined>()
    expect(app.addHook).type.toBeCallableWith('onRequest', app.loginRequired)
  })

  test('scope helpers and events', () => {
    expect(app.setLoginUrl).type.toBeCallableWith('/admin/login')
    expect(app.setRefreshUrl).type.not.toBeCallableWith(undefined)
    expect(app.loginEvents.on).type.toBeCallableWith('userLoggedIn', (event: LoginEvent) => event.user)
  })
})

describe('named exports', () => {
  test('helpers', () => {
    expect(safeNextUrl('/a')).type.toBe<string | null>()
    expect(safeNextUrl).type.toBeCallableWith(undefined, { host: 'app.example' })
    expect(loginUrlWithNext('/login', undefined, 'return_to')).type.toBe<string>()
    expect(parseDuration('30d')).type.toBe<number | undefined>()
    expect(loginCookie(app, { id: '1' }, { fresh: false })).type.toBe<Promise<string>>()
    expect(rememberCookie(app, { id: '1' }, { duration: '1d' })).type.toBe<Promise<string>>()
    expect(new InvalidOptionError('x')).type.toHaveProperty('code')
    expect(new NotRegisteredError('loginRequired')).type.toHaveProperty('statusCode')
    expect(new JwtDisabledError('jwtRequired')).type.toHaveProperty('code')
    expect(new JwtExpiredError('Token has expired').code).type.toBe<'FST_LOGIN_JWT_EXPIRED'>()
    expect(defaultJwtMessages).type.toBe<Record<JwtErrorCode, string>>()
    expect(rememberCookie).type.toBeCallableWith(app, { id: '1' }, { ip: '192.0.2.1', userAgent: 'Phone' })
  })

  test("the test helpers from 'fastify-login/testing', and their deprecated main-entry re-exports", () => {
    expect(loginCookie).type.toBeCallableWith(app, { id: '1' }, { ip: '192.0.2.1', userAgent: 'Phone' } satisfies LoginCookieOptions)
    expect(rememberCookie).type.toBeCallableWith(app, { id: '1' }, { duration: 60 } satisfies RememberCookieOptions)
    expect(loginCookie).type.not.toBeCallableWith(app, { id: '1' }, { fresh: 'yes' })
    expect(mainEntry.loginCookie).type.toBe<typeof loginCookie>()
    expect(mainEntry.rememberCookie).type.toBe<typeof rememberCookie>()
    expect<mainEntry.LoginCookieOptions>().type.toBe<LoginCookieOptions>()
    expect<mainEntry.RememberCookieOptions>().type.toBe<RememberCookieOptions>()
  })

  test('guards exported by name, usable as hooks in any scope', () => {
    for (const guard of [loginRequired, freshLoginRequired, verifyLogin, verifyFreshLogin]) {
      expect(guard).type.toBe<Guard>()
    }
    for (const guard of [jwtRequired, jwtOptional, freshJwtRequired, refreshJwtRequired]) {
      expect(guard).type.toBe<JwtGuard>()
    }
    expect(app.get).type.toBeCallableWith('/private', { preHandler: loginRequired }, async () => 'ok')
    expect(app.get).type.toBeCallableWith('/api', { preHandler: [jwtRequired, freshJwtRequired] }, async () => 'ok')
    expect(app.addHook).type.toBeCallableWith('onRequest', verifyLogin)
    expect(loginRequired(request, reply)).type.toBe<Promise<FastifyReply | undefined>>()
  })

  test('origin is a string option', () => {
    expect(app.register).type.toBeCallableWith(fastifyLogin, { loadUser: () => null, origin: 'https://app.example', loginUrl: 'https://sso.example/login' })
    expect(app.register).type.not.toBeCallableWith(fastifyLogin, { loadUser: () => null, origin: true })
  })
})

describe('JWT', () => {
  test('jwt options are checked', () => {
    expect(app.register).type.toBeCallableWith(fastifyLogin, {
      loadUser: (id: string) => ({ id }),
      session: false,
      jwt: {
        secret: 'a long enough HS256 secret for the type test',
        accessTokenExpires: '15m',
        locations: ['headers', 'cookies'],
        cookies: { csrf: true, sameSite: 'strict' },
        cache: true,
        isRevoked: async (claims: JwtClaims) => claims.jti === 'x',
        messages: { FST_LOGIN_JWT_EXPIRED: 'Please sign in again' }
      }
    })
    expect(app.register).type.not.toBeCallableWith(fastifyLogin, {
      loadUser: (id: string) => ({ id }),
      jwt: { secret: 'x', locations: ['body'] }
    })
    expect(app.register).type.not.toBeCallableWith(fastifyLogin, {
      loadUser: (id: string) => ({ id }),
      jwt: { secret: 'x', algorithm: 'none' }
    })
  })

  test('tokens, claims and guards', () => {
    expect(app.createAccessToken({ id: '1' })).type.toBe<Promise<string>>()
    expect(app.createAccessToken).type.toBeCallableWith({ id: '1' }, { fresh: true, claims: { role: 'admin' }, expiresIn: '5m' })
    expect(app.createRefreshToken({ id: '1' })).type.toBe<Promise<string>>()
    expect(request.jwtClaims).type.toBe<JwtClaims | null>()
    expect<JwtClaims['sub']>().type.toBe<string>()
    expect(app.jwtRequired(request, reply)).type.toBe<Promise<void>>()
    expect(app.jwtOptional(request, reply, () => {})).type.toBe<Promise<void> | undefined>()
    expect(app.get).type.toBeCallableWith('/api', { preHandler: [app.jwtRequired, app.freshJwtRequired] }, async () => 'ok')
    expect(app.addHook).type.toBeCallableWith('onRequest', app.refreshJwtRequired)
    expect(reply.jwtLogout()).type.toBe<Promise<void>>()
    expect(reply.setJwtCookies).type.toBeCallableWith({ accessToken: 'a', refreshToken: 'r' })
    expect(app.revokeAllTokens('1')).type.toBe<Promise<void>>()
  })

  test('families, the revoke endpoint options and error codes', () => {
    expect<JwtClaims['fam']>().type.toBe<string | undefined>()
    expect<JwtTokenResponse['refresh_token']>().type.toBe<string>()
    expect<JwtOptions>().type.toBeAssignableFrom({ refreshReuseGrace: 0 as const, revokePath: false as const })
    expect<JwtOptions>().type.toBeAssignableFrom({ refreshReuseGrace: '30s', revokePath: '/oauth/revoke' })
    expect<JwtOptions>().type.not.toBeAssignableFrom({ revocationStore: {} })
    expect(app).type.not.toHaveProperty('jwtRevocationStore')
    expect<'FST_LOGIN_JWT_EXPIRED'>().type.toBeAssignableTo<JwtErrorCode>()
    expect<'FST_LOGIN_JWT_NOPE'>().type.not.toBeAssignableTo<JwtErrorCode>()
  })
})
