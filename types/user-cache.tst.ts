// The user cache as an app sees it: the option and `fastify.loginUserCache`.
import Fastify from 'fastify'
import { describe, expect, test } from 'tstyche'
import type { FastifyLoginOptions, LoginUserCache, UserCacheOptions } from 'fastify-login'

const app = Fastify()

describe('user cache', () => {
  test('the userCache option: true, false, or { max, ttl }', () => {
    expect<FastifyLoginOptions['userCache']>().type.toBe<UserCacheOptions | boolean | undefined>()
    expect<UserCacheOptions>().type.toBeAssignableFrom({ max: 100, ttl: '10s' })
    expect<UserCacheOptions>().type.toBeAssignableFrom({ ttl: 5 })
    expect<UserCacheOptions>().type.not.toBeAssignableFrom({ max: '100' })
    expect<FastifyLoginOptions>().type.not.toBeAssignableFrom({ userCache: 'on' })
  })

  test('fastify.loginUserCache: delete(userId) and clear()', () => {
    expect(app.loginUserCache).type.toBe<LoginUserCache>()
    expect(app.loginUserCache.delete('1')).type.toBe<void>()
    expect(app.loginUserCache.clear()).type.toBe<void>()
    expect(app.loginUserCache.delete).type.not.toBeCallableWith(1)
  })
})
