// Micro-benchmark (tinybench) of fastify-login's exported hot functions, with
// the crypto of the layers below as reference rows. `node bench/micro.mjs`
// prints a table; `--json` prints JSON (what run.mjs reads).
// BENCH_MICRO_TIME sets the measuring time per task in ms (default 500).
import Fastify from 'fastify'
import fastifyJwt from '@fastify/jwt'
import { createHash } from 'node:crypto'
import { Bench } from 'tinybench'
import fastifyLogin, { MemoryStore, loginUrlWithNext, parseDuration, safeNextUrl } from 'fastify-login'
import { loginCookie, rememberCookie } from 'fastify-login/testing'
import { CLIENT_IP, JWT_SECRET, SESSION_KEY, USER_AGENT } from './scenarios.mjs'

const time = Number(process.env.BENCH_MICRO_TIME ?? 500)
if (!(time > 0)) throw new Error('BENCH_MICRO_TIME must be a positive number of milliseconds')

const alice = { id: '1', name: 'alice' }
// The default store, made here so its get can be measured on a record the plugin saved.
const store = new MemoryStore({ sweepInterval: false })
const app = Fastify({ logger: false })
await app.register(fastifyLogin, {
  session: { key: SESSION_KEY },
  store,
  loadUser: (id) => (id === alice.id ? alice : null),
  jwt: { secret: JWT_SECRET, authPath: false }
})
await app.ready()

// Reference: @fastify/jwt (fast-jwt) verifying an HS256 token of the same kind.
const peer = Fastify({ logger: false })
await peer.register(fastifyJwt, { secret: JWT_SECRET })
await peer.ready()
const peerToken = peer.jwt.sign({ sub: alice.id, jti: 'x'.repeat(22), type: 'access', fresh: false }, { expiresIn: '1d' })
const sessionValue = decodeURIComponent((await loginCookie(app, alice, { ip: CLIENT_IP, userAgent: USER_AGENT })).split('=').slice(1).join('='))
// The record that session cookie points at: its store key is `sess:{user tag}:<public id>`.
const recordKey = store.keysOfUser(alice.id)[0]
if (recordKey === undefined || store.get(recordKey) === null) throw new Error('loginCookie saved no record in the MemoryStore')

// Keep results alive so V8 cannot drop the calls.
let sink

const bench = new Bench({ time, warmupTime: Math.min(200, time) })
bench
  .add('safeNextUrl(\'/account?tab=2\')', () => { sink = safeNextUrl('/account?tab=2') })
  .add('safeNextUrl(\'https://app.example/x\', { host })', () => { sink = safeNextUrl('https://app.example/x?y=1', { host: 'app.example' }) })
  .add('safeNextUrl(\'//evil.example\') (refused)', () => { sink = safeNextUrl('//evil.example/') })
  .add('loginUrlWithNext(\'/login\', \'/account?tab=2\')', () => { sink = loginUrlWithNext('/login', '/account?tab=2') })
  .add('parseDuration(\'30d\')', () => { sink = parseDuration('30d') })
  .add('parseDuration(3600)', () => { sink = parseDuration(3600) })
  .add('rememberCookie(app, user) (seal the remember token, record the device)', async () => { sink = await rememberCookie(app, alice) })
  .add('loginCookie(app, user) (record saved in the MemoryStore + session encode)', async () => { sink = await loginCookie(app, alice, { ip: CLIENT_IP, userAgent: USER_AGENT }) })
  .add('MemoryStore get of a session record (structuredClone)', () => { sink = store.get(recordKey) })
  .add('app.createAccessToken(user) (HS256 sign)', async () => { sink = await app.createAccessToken(alice) })
  .add('reference: secure-session decodeSecureSession (open a session cookie)', () => { sink = app.decodeSecureSession(sessionValue, app.log) })
  .add('reference: @fastify/jwt verify (HS256)', () => { sink = peer.jwt.verify(peerToken) })
  .add('reference: sha256 of ip|user-agent, base64url', () => { sink = createHash('sha256').update(`${CLIENT_IP}|${USER_AGENT}`).digest('base64url') })

await bench.run()
if (sink === undefined) throw new Error('nothing measured')

const rows = bench.tasks.map((task) => {
  const r = task.result
  if (r.state !== 'completed') throw new Error(`${task.name}: ${r.state} ${r.error ?? ''}`)
  return { name: task.name, meanUs: r.period * 1000, rme: r.latency.rme, hz: r.throughput.mean, samples: r.latency.samplesCount ?? null }
})
await app.close()
await peer.close()

if (process.argv.includes('--json')) {
  process.stdout.write(JSON.stringify(rows) + '\n')
} else {
  console.log('| micro-benchmark (tinybench) | µs/op (mean) | ± % | ops/s |')
  console.log('| --- | ---: | ---: | ---: |')
  for (const row of rows) console.log(`| ${row.name} | ${row.meanUs.toFixed(2)} | ${row.rme.toFixed(1)} | ${Math.round(row.hz).toLocaleString('en-US')} |`)
}
