import t, { type Test } from 'tap'
import Fastify, { type LightMyRequestResponse } from 'fastify'
import Redis from 'ioredis'
import fastifyLogin, { MemoryStore, type LoginStore } from '../lib/index.js'
import { RedisStore } from '../lib/redis/index.js'
import { CookieJar, TEST_KEY } from './helpers.js'
import { connected, startRedis, type TestRedis } from './redis-server.js'

/*
 * Remember-me theft detection, on a MemoryStore and on a real Redis: every
 * restore replaces the cookie's secret; the replaced secret coming back
 * after the grace is a copied cookie and ends every login of the user;
 * within the grace (tabs restoring at once) it joins the restore that won.
 */

const REMEMBER = '__Host-remember_token'
const SECOND = 1000

type StoreFactory = (t: Test, clock: () => number) => Promise<LoginStore>

let redis: TestRedis | null = null
t.teardown(async () => { await redis?.stop() })

const stores: Array<[string, StoreFactory]> = [
  ['MemoryStore', async (_t, clock) => new MemoryStore({ clock })],
  ['RedisStore', async (t, clock) => {
    redis ??= await startRedis()
    const client = new Redis(redis.url, { maxRetriesPerRequest: 1 })
    t.teardown(() => client.disconnect())
    await connected(client)
    return new RedisStore({ client, prefix: `theft${process.pid}:${Math.random().toString(36).slice(2)}:`, clock })
  }]
]

async function setup (t: Test, makeStore: StoreFactory, options: { reuseGrace?: number | string } = {}) {
  let now = Date.parse('2026-12-02T08:00:00Z')
  const clock = (): number => now
  const users = new Map([['1', { id: '1', name: 'alice' }], ['2', { id: '2', name: 'bob' }]])
  const app = Fastify()
  const reused: string[] = []
  await app.register(fastifyLogin, {
    session: { key: TEST_KEY },
    store: await makeStore(t, clock),
    clock,
    rememberMe: options.reuseGrace === undefined ? {} : { reuseGrace: options.reuseGrace },
    loadUser: async (id) => users.get(id) ?? null
  })
  app.post<{ Params: { id: string } }>('/login/:id', async (request, reply) => ({ ok: await reply.login(users.get(request.params.id) as object, { remember: true }) }))
  app.post('/logout', async (_request, reply) => { await reply.logout(); return { ok: true } })
  app.get('/me', async (request) => ({ auth: request.isAuthenticated(), session: request.loginSession?.id ?? null }))
  app.loginEvents.on('rememberTokenReused', ({ userId, via }) => reused.push(`${userId}:${via}`))
  await app.ready()
  t.teardown(() => app.close())

  const login = async (id = '1'): Promise<CookieJar> => new CookieJar().store(await app.inject({ method: 'POST', url: `/login/${id}` }))
  const rememberOf = (jar: CookieJar): string => `${REMEMBER}=${encodeURIComponent(jar.cookies.get(REMEMBER) as string)}`
  const visit = async (cookie: string): Promise<LightMyRequestResponse> => await app.inject({ url: '/me', headers: { cookie } })
  return { app, reused, login, rememberOf, visit, advance: (ms: number) => { now += ms } }
}

for (const [name, makeStore] of stores) {
  t.test(`${name}: a restore replaces the remember cookie, and the new one restores next time`, async (t) => {
    const { rememberOf, visit, login, advance } = await setup(t, makeStore)
    const first = rememberOf(await login())
    const restored = await visit(first)
    t.equal(restored.json().auth, true, 'the first cookie restores')
    const next = new CookieJar().store(restored)
    t.not(rememberOf(next), first, 'and is replaced')
    advance(3600 * SECOND)
    t.equal((await visit(rememberOf(next))).json().auth, true, 'the replacement restores an hour later')
  })

  t.test(`${name}: victim, thief, victim: the copied cookie is noticed and every login of the user ends`, async (t) => {
    const { app, reused, rememberOf, visit, login, advance } = await setup(t, makeStore)
    const victim = rememberOf(await login())
    const otherDevice = await login()
    const bob = await login('2')
    advance(60 * SECOND)
    const thief = new CookieJar().store(await visit(victim))
    t.equal((await visit(thief.header())).json().auth, true, 'the thief is in (nothing can tell yet)')
    advance(60 * SECOND)

    const back = await visit(victim)
    t.equal(back.json().auth, false, 'the victim, back with the replaced cookie, is not logged in')
    t.equal(back.cookies.find((c) => c.name === REMEMBER)?.maxAge, 0, 'and the cookie is cleared')
    t.same(reused, ['1:remember'], 'rememberTokenReused fired once, with the user id')
    t.equal((await visit(thief.header())).json().auth, false, "the thief's session ended")
    t.equal((await visit(rememberOf(thief))).json().auth, false, "and the thief's remember cookie no longer restores")
    t.equal((await visit(otherDevice.header())).json().auth, false, 'the other device of the user is logged out too')
    t.same(await app.loginSessions.list('1'), [], 'nothing of the user is left')
    t.equal((await visit(bob.header())).json().auth, true, 'another user is untouched')
  })

  t.test(`${name}: 20 tabs restoring at once with one cookie raise no alarm and share one session`, async (t) => {
    const { app, reused, rememberOf, visit, login } = await setup(t, makeStore)
    const cookie = rememberOf(await login())
    const answers = await Promise.all(Array.from({ length: 20 }, async () => await visit(cookie)))
    t.ok(answers.every((res) => res.statusCode === 200 && res.json().auth === true), 'every tab is logged in')
    t.same(reused, [], 'no alarm')
    const sessions = new Set(answers.map((res) => res.json().session))
    t.equal(sessions.size, 1, 'all in one session')
    const devices = await app.loginSessions.list('1')
    t.same(devices.map((d) => [d.kind, d.remembered]).sort(), [['session', false], ['session', true]], 'the restored session and the login session (its cookie was lost), no other')
    t.equal(new Set(devices.map((d) => d.rememberedUntil?.getTime())).size, 1, 'of one series')
    t.ok(answers.every((res) => res.cookies.some((c) => c.name === REMEMBER && c.value !== '')), 'every tab got the next remember cookie')
  })

  t.test(`${name}: within the grace the replaced cookie leads to the current state; after it, it is theft`, async (t) => {
    const { reused, rememberOf, visit, login, advance } = await setup(t, makeStore)
    const cookie = rememberOf(await login())
    const winner = await visit(cookie)
    advance(29 * SECOND)
    const late = await visit(cookie)
    t.equal(late.json().session, winner.json().session, '29 s later the old cookie joins the session its restore made')
    advance(120 * SECOND)
    t.equal((await visit(rememberOf(new CookieJar().store(late)))).json().auth, true, 'the cookie the late tab got is the current one')
    t.same(reused, [], 'no alarm so far')
    t.equal((await visit(cookie)).json().auth, false, 'the old cookie long after: refused')
    t.same(reused, ['1:remember'], 'as theft')
  })

  t.test(`${name}: reuseGrace 0 counts any replaced cookie as theft`, async (t) => {
    const { reused, rememberOf, visit, login } = await setup(t, makeStore, { reuseGrace: 0 })
    const cookie = rememberOf(await login())
    t.equal((await visit(cookie)).json().auth, true)
    t.equal((await visit(cookie)).json().auth, false, 'the same cookie at once again is refused')
    t.same(reused, ['1:remember'])
  })

  t.test(`${name}: logout kills a copied remember cookie`, async (t) => {
    const { app, reused, rememberOf, visit, login } = await setup(t, makeStore)
    const jar = await login()
    const copy = rememberOf(jar)
    await app.inject({ method: 'POST', url: '/logout', headers: { cookie: jar.header() } })
    const res = await visit(copy)
    t.equal(res.json().auth, false, 'the copy no longer restores')
    t.equal(res.cookies.find((c) => c.name === REMEMBER)?.maxAge, 0, 'and is cleared')
    t.same(reused, [], 'a logged-out series is gone, not stolen: no alarm')
  })
}
