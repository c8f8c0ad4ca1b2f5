/*
 * examples/typescript type-checks, strict (NodeNext, exactOptionalPropertyTypes,
 * noUncheckedIndexedAccess), against the built package as an app sees it:
 * 'fastify-login' and 'fastify-login/redis' by package name, resolved to dist/.
 * The same tsc run compiles it into examples/.build (inside the package, so
 * the package name still resolves by self-reference), and the compiled app
 * then runs on a real Redis. Needs `npm run build` (as `npm test` does first).
 */
import { execFile } from 'node:child_process'
import { rmSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import Redis from 'ioredis'
import t from 'tap'
import { connected, startRedis } from './redis-server.js'

const run = promisify(execFile)
const ROOT = resolve(__dirname, '..')
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')
const OUT = join(ROOT, 'examples', '.build')

t.setTimeout(240_000)

interface ExampleModules {
  app: { buildApp: (redis: Redis, logger: boolean) => Promise<FastifyInstance> }
  users: { addUser: (user: { id: string, email: string, name: string, isActive: boolean }, password: string) => void }
}

let compiled: ExampleModules | undefined

t.test('the TypeScript example app compiles against dist/', async (t) => {
  rmSync(OUT, { recursive: true, force: true })
  t.teardown(() => rmSync(OUT, { recursive: true, force: true }))
  const args = [TSC, '-p', join(ROOT, 'examples', 'tsconfig.json'), '--listFiles', '--noEmit', 'false', '--outDir', OUT]
  const { code, stdout } = await run(process.execPath, args, { cwd: ROOT, timeout: 200_000 })
    .then(({ stdout }) => ({ code: 0, stdout }), (err: { code?: number, stdout?: string }) => ({ code: err.code, stdout: err.stdout ?? '' }))
  const lines = stdout.split('\n')
  t.same(lines.filter((line) => line.includes('error TS')), [], 'no type errors')
  t.equal(code, 0, 'tsc exits 0')
  t.ok(lines.includes(join(ROOT, 'dist', 'esm', 'index.d.ts')), "'fastify-login' is dist/esm/index.d.ts")
  t.ok(lines.includes(join(ROOT, 'dist', 'esm', 'redis', 'index.d.ts')), "'fastify-login/redis' is dist/esm/redis/index.d.ts")
  t.notOk(lines.some((file) => file.startsWith(join(ROOT, 'lib') + '/')), 'does not read the sources in lib/')
  compiled = {
    app: await import(pathToFileURL(join(OUT, 'app.mjs')).href),
    users: await import(pathToFileURL(join(OUT, 'users.mjs')).href)
  }
})

function cookiesOf (res: LightMyRequestResponse, previous = new Map<string, string>()): Map<string, string> {
  const jar = new Map(previous)
  for (const cookie of res.cookies) jar.set(cookie.name, cookie.value)
  return jar
}

function header (jar: Map<string, string>): string {
  return [...jar].map(([name, value]) => `${name}=${encodeURIComponent(value)}`).join('; ')
}

t.test('the compiled example runs: session login, session data, a device list, the JWT API, on Redis', async (t) => {
  if (compiled === undefined) throw new Error('the example did not compile')
  const server = await startRedis()
  t.teardown(server.stop)
  const redis = new Redis(server.url)
  t.teardown(() => redis.quit())
  await connected(redis)
  process.env.SESSION_KEY = 'uIq3h31+L3MSSH0GdnKTgYdTCWfPO6Q5rwXtmmGbLE4='
  process.env.JWT_SECRET = 'examples-test-jwt-secret-0123456789abcdefgh'
  compiled.users.addUser({ id: '1', email: 'alice@example.com', name: 'Alice', isActive: true }, 'a long passphrase')
  const app = await compiled.app.buildApp(redis, false)
  t.teardown(() => app.close())

  const wrong = await app.inject({ method: 'POST', url: '/login', payload: { email: 'alice@example.com', password: 'nope' } })
  t.equal(wrong.statusCode, 401)
  t.equal((await app.inject({ url: '/account' })).statusCode, 401, 'the account page needs a login')

  const login = await app.inject({ method: 'POST', url: '/login?next=/account/devices', payload: { email: 'alice@example.com', password: 'a long passphrase', remember: true } })
  t.equal(login.statusCode, 302)
  t.equal(login.headers.location, '/account/devices')
  let jar = cookiesOf(login)
  t.same([...jar.keys()].sort(), ['__Host-remember_token', '__Host-session'])

  const account = await app.inject({ url: '/account', headers: { cookie: header(jar) } })
  t.equal(account.statusCode, 200)
  t.match(account.json(), { name: 'Alice', email: 'alice@example.com', theme: 'light', session: String })

  const theme = await app.inject({ method: 'POST', url: '/account/theme', payload: { theme: 'dark' }, headers: { cookie: header(jar) } })
  t.equal(theme.statusCode, 200)
  jar = cookiesOf(theme, jar)
  t.equal((await app.inject({ url: '/account', headers: { cookie: header(jar) } })).json().theme, 'dark', 'the session keeps the theme')
  t.equal((await app.inject({ method: 'POST', url: '/account/theme', payload: { theme: 'blue' }, headers: { cookie: header(jar) } })).statusCode, 400)

  const devices = await app.inject({ url: '/account/devices', headers: { cookie: header(jar) } })
  t.equal(devices.statusCode, 200)
  t.equal(devices.json().length, 1, 'one login session, kept in Redis')
  t.ok((await redis.keys('fastify-login:*')).length > 0, 'the store writes to Redis')

  const tokens = await app.inject({ method: 'POST', url: '/auth', payload: { username: 'alice@example.com', password: 'a long passphrase' } })
  t.equal(tokens.statusCode, 200)
  const me = await app.inject({ url: '/api/me', headers: { authorization: `Bearer ${tokens.json().access_token as string}` } })
  t.equal(me.statusCode, 200)
  t.match(me.json(), { id: '1', name: 'Alice', expires: Number })
  t.equal((await app.inject({ url: '/api/me' })).statusCode, 401)

  const logout = await app.inject({ method: 'POST', url: '/logout', headers: { cookie: header(jar) } })
  t.equal(logout.statusCode, 200)
  t.equal((await app.inject({ url: '/account', headers: { cookie: header(cookiesOf(logout, jar)) } })).statusCode, 401, 'logged out')
})
