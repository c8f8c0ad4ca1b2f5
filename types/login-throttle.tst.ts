// Login throttling as an app sees it: the option, `fastify.loginThrottle`,
// its error class and its two events.
import Fastify, { type FastifyRequest } from 'fastify'
import { describe, expect, test } from 'tstyche'
import {
  LoginThrottledError,
  type FastifyLoginOptions,
  type LoginAttemptEvent,
  type LoginThrottle,
  type LoginThrottledEvent,
  type LoginThrottleOptions
} from 'fastify-login'

const app = Fastify()
declare const request: FastifyRequest

describe('login throttling', () => {
  test('the loginThrottle option: an object of four optional fields, or false', () => {
    expect<FastifyLoginOptions['loginThrottle']>().type.toBe<LoginThrottleOptions | false | undefined>()
    expect<LoginThrottleOptions>().type.toBeAssignableFrom({ perAccount: 3, perAddress: 100, window: '1h', maxDelay: 600 })
    expect<LoginThrottleOptions>().type.toBeAssignableFrom({})
    expect<LoginThrottleOptions>().type.not.toBeAssignableFrom({ perAccount: '3' })
    expect<LoginThrottleOptions>().type.not.toBeAssignableFrom({ lockout: true })
    expect<FastifyLoginOptions>().type.not.toBeAssignableFrom({ loginThrottle: true })
  })

  test('fastify.loginThrottle: check and fail take the request and the username; reset the username', () => {
    expect(app.loginThrottle).type.toBe<LoginThrottle>()
    expect(app.loginThrottle.check(request, 'alice')).type.toBe<Promise<void>>()
    expect(app.loginThrottle.fail(request, 'alice')).type.toBe<Promise<void>>()
    expect(app.loginThrottle.reset('alice')).type.toBe<Promise<void>>()
    expect(app.loginThrottle.check).type.not.toBeCallableWith('alice')
    expect(app.loginThrottle.fail).type.not.toBeCallableWith(request, 42)
    expect(app.loginThrottle.reset).type.not.toBeCallableWith(request, 'alice')
  })

  test('the error and the events', () => {
    const err = new LoginThrottledError('wait')
    expect(err.code).type.toBe<'FST_LOGIN_THROTTLED'>()
    expect(err.statusCode).type.toBe<429>()
    app.loginEvents.on('loginFailed', (event) => {
      expect(event).type.toBe<LoginAttemptEvent>()
      expect(event.via).type.toBe<'session' | 'jwt'>()
      expect(event.username).type.toBe<string>()
      expect(event).type.not.toHaveProperty('password')
    })
    app.loginEvents.on('loginThrottled', (event) => {
      expect(event).type.toBe<LoginThrottledEvent>()
      expect(event.limit).type.toBe<'account' | 'address'>()
      expect(event.retryAfter).type.toBe<number>()
    })
  })
})
