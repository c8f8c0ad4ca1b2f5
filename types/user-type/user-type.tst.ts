// Types after an app declares its user type. In its own folder (own tsconfig),
// because the augmentation applies to every file of a TypeScript program.
// 'fastify-login' resolves to lib/index.ts here, 'fastify-login/testing' to
// lib/testing/index.ts (see types/tsconfig.json).
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify'
import { describe, expect, test } from 'tstyche'
import fastifyLogin, { type CurrentUser, type FastifyLoginOptions, type LoginEvent, type LoginEventMap, type LoginUser } from 'fastify-login'
import { loginCookie, rememberCookie } from 'fastify-login/testing'

interface MyUser {
  id: number
  email: string
  isActive: boolean
}

declare module 'fastify-login' {
  interface FastifyLoginTypes {
    user: MyUser
  }
  interface SessionData {
    cart: string[]
  }
}

const app = Fastify()
declare const request: FastifyRequest
declare const reply: FastifyReply
declare const me: MyUser

describe('with FastifyLoginTypes augmented', () => {
  test('the user type flows into currentUser', () => {
    expect<LoginUser>().type.toBe<MyUser>()
    expect<CurrentUser>().type.toBe<MyUser | null>()
    expect(request.currentUser).type.toBe<MyUser | null>()
    expect(request.loadCurrentUser()).type.toBe<Promise<MyUser | null>>()
    expect(request.currentUser?.email).type.toBe<string | undefined>()
    expect<NonNullable<typeof request.currentUser>>().type.not.toHaveProperty('name')
  })

  test('requireUser() is the user type, without null; currentUser stays nullable', () => {
    expect(request.requireUser()).type.toBe<MyUser>()
    expect(request.requireUser().email).type.toBe<string>()
    expect(request.currentUser).type.toBe<MyUser | null>()
    expect(request.currentUser.email).type.toRaiseError()
  })

  test("the session data declared on 'fastify-login' types request.session", () => {
    expect(request.session.get('cart')).type.toBe<string[] | undefined>()
    expect(request.session.set).type.toBeCallableWith('cart', ['a'])
    expect(request.session.set).type.not.toBeCallableWith('cart', 'a')
  })

  test('reply.login takes the user type and resolves to a boolean', () => {
    expect(reply.login(me)).type.toBe<Promise<boolean>>()
    expect(reply.login).type.toBeCallableWith(me, { remember: true })
    expect(reply.login).type.not.toBeCallableWith({ id: '1' })
    expect(reply.login).type.not.toBeCallableWith({ id: 1, email: 'a@example.com' })
  })

  test('options are typed with the user type', () => {
    expect(app.register).type.toBeCallableWith(fastifyLogin, {
      session: { key: Buffer.alloc(32) },
      loadUser: (id: string) => (id === '1' ? me : null),
      getUserId: (user: MyUser) => String(user.id),
      isUserActive: (user: MyUser) => user.isActive
    })
    expect<{ loadUser: () => Promise<MyUser | undefined> }>().type.toBeAssignableTo<FastifyLoginOptions>()
    expect<{ loadUserFromRequest: () => MyUser | null }>().type.toBeAssignableTo<FastifyLoginOptions>()
    expect<{ loadUser: () => { id: string } }>().type.not.toBeAssignableTo<FastifyLoginOptions>()
    expect<{ getUserId: (user: { name: string }) => string }>().type.not.toBeAssignableTo<FastifyLoginOptions>()
    expect(app.register(fastifyLogin, { loadUser: () => ({ id: 1 }) })).type.toRaiseError()
    expect(app.register(fastifyLogin, { loadUser: () => me })).type.not.toRaiseError()
  })

  test('events and the test helper use it too', () => {
    expect<LoginEvent['user']>().type.toBe<MyUser | null>()
    expect<LoginEventMap['userLoggedIn']['user']>().type.toBe<MyUser>()
    expect<LoginEventMap['userLoggedOut']['user']>().type.toBe<MyUser | null>()
    expect(loginCookie).type.toBeCallableWith(app, me)
    expect(loginCookie).type.not.toBeCallableWith(app, { id: '1' })
    expect(rememberCookie).type.toBeCallableWith(app, me)
    expect(rememberCookie).type.not.toBeCallableWith(app, { id: '1' })
  })
})
