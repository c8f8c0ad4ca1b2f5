// The typed `fastify.loginEvents`, as an app sees it without augmenting FastifyLoginTypes.
// 'fastify-login' resolves to lib/index.ts here (see types/tsconfig.json).
import Fastify, { type FastifyRequest } from 'fastify'
import { describe, expect, test } from 'tstyche'
import type {
  CurrentUser,
  LoginEvent,
  LoginEventMap,
  LoginEventName,
  LoginEvents,
  LoginUser,
  LoginVia
} from 'fastify-login'

const app = Fastify()

describe('login events', () => {
  test('event names are checked', () => {
    expect(app.loginEvents.on).type.toBeCallableWith('tokenRefreshed', () => {})
    expect(app.loginEvents.on).type.not.toBeCallableWith('userLogedIn', () => {})
    expect(app.loginEvents.once).type.not.toBeCallableWith('userLogedIn', (event: LoginEvent) => event.user)
    expect(app.loginEvents.off).type.not.toBeCallableWith('logout', () => {})
    expect(app.loginEvents.listenerCount).type.not.toBeCallableWith('userLogedIn')
    expect(app.loginEvents.on('userLoggedIn', () => {})).type.toBe<LoginEvents>()
    expect<LoginEventName>().type.toBe<keyof LoginEventMap>()
  })

  test('payloads are typed per event', () => {
    app.loginEvents.on('userLoggedIn', (event) => {
      expect(event.via).type.toBe<'session' | 'jwt'>()
      expect(event.user).type.toBe<LoginUser>()
      expect(event.request).type.toBe<FastifyRequest>()
      expect(event).type.not.toHaveProperty('reply')
    })
    app.loginEvents.on('userLoggedOut', ({ user, via }) => {
      expect(user).type.toBe<CurrentUser>()
      expect(via).type.toBe<'session' | 'jwt'>()
    })
    app.loginEvents.on('userLoadedFromCookie', ({ via }) => expect(via).type.toBe<'remember'>())
    app.loginEvents.on('userLoadedFromRequest', ({ via }) => expect(via).type.toBe<'request'>())
    app.loginEvents.on('sessionProtected', ({ via }) => expect(via).type.toBe<'session' | 'remember'>())
    app.loginEvents.on('tokenRefreshed', ({ user, via }) => {
      expect(user).type.toBe<LoginUser>()
      expect(via).type.toBe<'jwt'>()
    })
    expect<LoginEvent['via']>().type.toBe<LoginVia>()
    expect<LoginVia>().type.toBe<'session' | 'remember' | 'request' | 'jwt'>()
  })

  test('listeners must accept the payload of their event', () => {
    expect(app.loginEvents.on).type.toBeCallableWith('userLoggedIn', async (event: LoginEvent) => event.via)
    expect(app.loginEvents.on).type.toBeCallableWith('userLoadedFromCookie', (event: LoginEvent<'remember'>) => event.user)
    // userLoggedIn comes from the token endpoint too.
    expect(app.loginEvents.on).type.not.toBeCallableWith('userLoggedIn', (event: LoginEvent<'session'>) => event.user)
    expect(app.loginEvents.on).type.not.toBeCallableWith('userLoggedIn', (event: { user: string }) => event.user)
    expect(app.loginEvents.listeners).type.not.toBeCallableWith('userLogedIn')
  })

  test('apps do not emit login events', () => {
    expect(app.loginEvents).type.not.toHaveProperty('emit')
  })
})
