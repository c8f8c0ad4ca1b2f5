// Heap per live session in the default MemoryStore: sessions made through the
// plugin (`loginCookie()`, which saves a record as a login does), heap used
// after a forced GC minus the same before, divided by their count.
// Two shapes: one session per user (100,000 users: each also gets its own
// entry in the store's per-user index) and all sessions of one user.
//
// `node --expose-gc bench/session-memory.mjs` prints a table; run.mjs runs it
// with `--json`. BENCH_SESSIONS sets the count (default 100,000).
import Fastify from 'fastify'
import fastifyLogin, { MemoryStore } from 'fastify-login'
import { loginCookie } from 'fastify-login/testing'
import { CLIENT_IP, SESSION_KEY, USER_AGENT } from './scenarios.mjs'

const COUNT = Number(process.env.BENCH_SESSIONS ?? 100_000)
if (!(Number.isInteger(COUNT) && COUNT > 0)) throw new Error('BENCH_SESSIONS must be a positive whole number')
if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc')

function heapAfterGc () {
  // Several passes: weak references and finalizers can need more than one.
  for (let i = 0; i < 4; i++) globalThis.gc()
  return process.memoryUsage().heapUsed
}

async function measure (userOf) {
  const store = new MemoryStore({ sweepInterval: false })
  const app = Fastify({ logger: false })
  await app.register(fastifyLogin, { session: { key: SESSION_KEY }, store, loadUser: () => null })
  await app.ready()
  const client = { ip: CLIENT_IP, userAgent: USER_AGENT }
  // Warm-up (code compiled, caches filled) before the baseline; these sessions stay in both figures.
  for (let i = 0; i < 1000; i++) await loginCookie(app, userOf(COUNT + i), client)
  // The users exist before the baseline too: an app holds its users anyway.
  const users = Array.from({ length: COUNT }, (_, i) => userOf(i))
  const before = heapAfterGc()
  let cookieLength = 0
  for (const user of users) cookieLength = (await loginCookie(app, user, client)).length
  const after = heapAfterGc()
  if (store.size !== COUNT + 1000) throw new Error(`the store holds ${store.size} records, not ${COUNT + 1000}`)
  await app.close()
  return { sessions: COUNT, bytesPerSession: (after - before) / COUNT, heapBefore: before, heapAfter: after, cookieLength }
}

const result = {
  perUser: await measure((i) => ({ id: String(i + 1) })),
  oneUser: await measure(() => ({ id: '1' }))
}

if (process.argv.includes('--json')) {
  process.stdout.write(JSON.stringify(result) + '\n')
} else {
  const MB = 1024 * 1024
  console.log('| MemoryStore, live sessions | heap after GC, MB | bytes per session |')
  console.log('| --- | ---: | ---: |')
  for (const [what, r] of [['one session per user', result.perUser], ['all of one user', result.oneUser]]) {
    console.log(`| ${r.sessions.toLocaleString('en-US')}, ${what} | ${(r.heapBefore / MB).toFixed(1)} → ${(r.heapAfter / MB).toFixed(1)} | ${Math.round(r.bytesPerSession)} |`)
  }
}
