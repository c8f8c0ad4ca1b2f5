// A strict TypeScript app: session login with remember-me, a JWT API and
// server-side sessions in Redis. Run it after `npm run build` with
//   SESSION_KEY=$(openssl rand -base64 32) JWT_SECRET=$(openssl rand -base64 48) node --experimental-strip-types examples/typescript/app.mts
// (Node 22.6+), with a Redis server on localhost and ALICE_PASSWORD set.
// test/examples.test.ts type-checks it, compiles it and runs it on a real Redis.
import Fastify, { type FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import fastifyLogin, { type FastifyLoginOptions } from 'fastify-login'
import { RedisStore } from 'fastify-login/redis'
import { addUser, checkPassword, findUser, type User } from './users.mts'

// The app's own types: `request.requireUser()`, `reply.login()`, the loaders
// and the events use `User`; `request.session` knows `theme`.
declare module 'fastify-login' {
  interface FastifyLoginTypes {
    user: User
  }
  interface SessionData {
    theme: 'light' | 'dark'
  }
}

function required (name: string): string {
  const value = process.env[name]
  if (value === undefined || value === '') throw new Error(`set ${name}`)
  return value
}

export async function buildApp (redis: Redis, logger = true): Promise<FastifyInstance> {
  const app = Fastify({ logger })
  const options: FastifyLoginOptions = {
    session: { key: Buffer.from(required('SESSION_KEY'), 'base64') },
    store: new RedisStore({ client: redis }),
    loadUser: (id) => findUser(id),
    getUserId: (user) => user.id,
    isUserActive: (user) => user.isActive,
    loginUrl: '/login',
    jwt: {
      secret: required('JWT_SECRET'),
      // POST /auth { username, password } answers an access and a refresh token.
      authenticate: (username, password) => checkPassword(username, password)
    }
  }
  await app.register(fastifyLogin, options)

  app.post<{ Body: { email: string, password: string, remember?: boolean } }>('/login', {
    schema: {
      body: {
        type: 'object',
        required: ['email', 'password'],
        properties: { email: { type: 'string' }, password: { type: 'string' }, remember: { type: 'boolean' } }
      }
    }
  }, async (request, reply) => {
    const user = checkPassword(request.body.email, request.body.password)
    if (user === null) return reply.code(401).send({ error: 'wrong email or password' })
    await reply.login(user, { remember: request.body.remember === true })
    return reply.redirect(request.nextUrl('/account'))
  })

  // Guarded: requireUser() is a User, not User | null.
  app.get('/account', { preHandler: app.loginRequired }, async (request) => {
    const user = request.requireUser()
    const theme = request.session.get('theme') ?? 'light'
    return { name: user.name, email: user.email, theme, session: request.loginSession?.id ?? null }
  })

  app.post<{ Body: { theme: 'light' | 'dark' } }>('/account/theme', {
    preHandler: app.loginRequired,
    schema: { body: { type: 'object', required: ['theme'], properties: { theme: { enum: ['light', 'dark'] } } } }
  }, async (request) => {
    request.session.set('theme', request.body.theme)
    return { theme: request.body.theme }
  })

  app.get('/account/devices', { preHandler: app.loginRequired }, async (request) => {
    return app.loginSessions.list(request.requireUser().id)
  })

  app.post('/logout', async (_request, reply) => {
    await reply.logout()
    return { ok: true }
  })

  // The JWT API: the same User, from the token.
  app.get('/api/me', { preHandler: app.jwtRequired }, async (request) => {
    const { id, name } = request.requireUser()
    return { id, name, expires: request.jwtClaims?.exp ?? null }
  })

  return app
}

if (import.meta.filename === process.argv[1]) {
  addUser({ id: '1', email: 'alice@example.com', name: 'Alice', isActive: true }, required('ALICE_PASSWORD'))
  const redis = new Redis({ host: '127.0.0.1', port: 6379 })
  const app = await buildApp(redis)
  app.addHook('onClose', async () => { await redis.quit() })
  await app.listen({ host: '127.0.0.1', port: 3000 })
}
