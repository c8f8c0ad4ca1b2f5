// Server-side sessions as an app sees them: the options, request.loginSession,
// fastify.loginSessions, the sessionEnded event and the Redis store's options.
// 'fastify-login' resolves to lib/index.ts here, 'fastify-login/redis' to lib/redis/index.ts.
import Fastify, { type FastifyRequest } from 'fastify'
import { describe, expect, test } from 'tstyche'
import { MemoryStore, type FastifyLoginOptions, type LoginSessionInfo, type SessionEndReason } from 'fastify-login'
import { RedisStore, type RedisStoreOptions } from 'fastify-login/redis'

const app = Fastify()
declare const request: FastifyRequest

describe('server-side sessions', () => {
  test('lifetime options', () => {
    expect<{ store: MemoryStore, idleTimeout: '15m', absoluteTimeout: false, touchInterval: 30, freshFor: '10m' }>().type.toBeAssignableTo<Partial<FastifyLoginOptions>>()
    expect<{ store: false, clock: () => number, authVersion: (user: Record<string, any>) => string }>().type.toBeAssignableTo<Partial<FastifyLoginOptions>>()
    expect<{ store: 'redis://localhost' }>().type.not.toBeAssignableTo<Partial<FastifyLoginOptions>>()
    expect<{ idleTimeout: true }>().type.not.toBeAssignableTo<Partial<FastifyLoginOptions>>()
    expect<{ authVersion: (user: Record<string, any>) => number }>().type.not.toBeAssignableTo<Partial<FastifyLoginOptions>>()
  })

  test('request.loginSession and fastify.loginSessions', () => {
    expect(request.loginSession).type.toBe<LoginSessionInfo | null>()
    expect<LoginSessionInfo['createdAt']>().type.toBe<Date>()
    expect<LoginSessionInfo['expiresAt']>().type.toBe<Date | null>()
    expect(app.loginSessions.list('1')).type.toBe<Promise<LoginSessionInfo[]>>()
    expect(app.loginSessions.revoke('1', 'id')).type.toBe<Promise<boolean>>()
    expect(app.loginSessions.revokeAll('1', { except: 'id' })).type.toBe<Promise<number>>()
    expect(app.loginSessions.revokeAll).type.not.toBeCallableWith('1', { keep: 'id' })
    expect<LoginSessionInfo['kind']>().type.toBe<'session' | 'remembered' | 'api'>()
    expect<LoginSessionInfo['rememberedUntil']>().type.toBe<Date | null>()
  })

  test('remember-me series options', () => {
    expect<{ rememberMe: { reuseGrace: 0, duration: '30d' } }>().type.toBeAssignableTo<Partial<FastifyLoginOptions>>()
    expect<{ rememberMe: { reuseGrace: '10s' } }>().type.toBeAssignableTo<Partial<FastifyLoginOptions>>()
    expect<{ rememberMe: { reuseGrace: true } }>().type.not.toBeAssignableTo<Partial<FastifyLoginOptions>>()
  })

  test('rememberTokenReused is typed', () => {
    app.loginEvents.on('rememberTokenReused', (event) => {
      expect(event.userId).type.toBe<string>()
      expect(event.via).type.toBe<'remember'>()
      expect(event.request).type.toBe<FastifyRequest>()
      expect(event).type.not.toHaveProperty('user')
    })
  })

  test('sessionEnded is typed', () => {
    app.loginEvents.on('sessionEnded', (event) => {
      expect(event.reason).type.toBe<SessionEndReason>()
      expect(event.userId).type.toBe<string>()
      expect(event.request).type.toBe<FastifyRequest | null>()
      expect(event.session).type.toBe<LoginSessionInfo | null>()
      expect(event).type.not.toHaveProperty('user')
    })
    expect<SessionEndReason>().type.toBe<'logout' | 'idle' | 'absolute' | 'revoked' | 'authVersion' | 'protection'>()
  })

  test('RedisStore takes a structural client', () => {
    expect<RedisStoreOptions['prefix']>().type.toBe<string | undefined>()
    expect(RedisStore).type.not.toBeConstructableWith({})
    expect<{ localCache: false }>().type.not.toBeAssignableTo<RedisStoreOptions>()
  })
})
