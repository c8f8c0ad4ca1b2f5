// `npm run bench`: HTTP benchmarks of fastify-login against bare Fastify and
// its peers, a memory check and a micro-benchmark. See bench/README.md.
//
// Every scenario server runs in its own process (bench/server.mjs); this
// process drives them with autocannon. The scenarios are interleaved over
// several rounds (A B C … A B C …) after a warm-up, and each run is checked:
// before it, the authenticated request must get 200 and the anonymous one
// 401; after it, autocannon must have seen nothing but 2xx.
import autocannon from 'autocannon'
import { execFileSync, fork } from 'node:child_process'
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import os from 'node:os'
import { dirname, join, resolve as resolvePath } from 'node:path'
import { fileURLToPath } from 'node:url'
import { summarizeProfile } from './profile.mjs'
import { startRedis } from './redis.mjs'
import { TABLE_ORDER, USER_AGENT, scenarios } from './scenarios.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const resultsDir = join(here, 'results')

function envNumber (name, fallback, { min = 0, integer = false } = {}) {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
    throw new Error(`${name} must be a ${integer ? 'whole ' : ''}number >= ${min} (got ${JSON.stringify(raw)})`)
  }
  return value
}

/*
 * BENCH_BASELINE=<folder of another checkout, built>: each fastify-login
 * scenario runs a second time from that checkout, as `<name>@base`, in the
 * same rounds, so that a change is compared with its base under the same
 * machine load (this machine drifts by ±30 % between runs).
 */
const BASELINE = process.env.BENCH_BASELINE === undefined || process.env.BENCH_BASELINE === '' ? null : resolvePath(process.env.BENCH_BASELINE)
const BASE_SUFFIX = '@base'

const config = {
  duration: envNumber('BENCH_DURATION', 3, { min: 1, integer: true }),
  rounds: envNumber('BENCH_ROUNDS', 5, { min: 1, integer: true }),
  warmup: envNumber('BENCH_WARMUP', 3, { min: 0, integer: true }),
  connections: envNumber('BENCH_CONNECTIONS', 10, { min: 1, integer: true }),
  leakRequests: envNumber('BENCH_LEAK_REQUESTS', 1_000_000, { min: 0, integer: true }),
  micro: process.env.BENCH_MICRO !== '0',
  revocation: process.env.BENCH_REVOCATION !== '0',
  sessionMemory: process.env.BENCH_SESSION_MEMORY !== '0',
  profile: process.env.BENCH_PROFILE === '1',
  // A scheduling priority (nice value, -20..19; below 0 needs root) for the runner and the servers.
  priority: process.env.BENCH_PRIORITY === undefined || process.env.BENCH_PRIORITY === '' ? null : envNumber('BENCH_PRIORITY', 0, { min: -20, integer: true }),
  scenarios: selectedScenarios()
}
const LEAK_BASELINE = 10_000
if (config.leakRequests !== 0 && config.leakRequests <= LEAK_BASELINE) {
  throw new Error(`BENCH_LEAK_REQUESTS must be 0 (off) or more than ${LEAK_BASELINE}`)
}

function selectedScenarios () {
  const raw = process.env.BENCH_SCENARIOS
  if (raw === undefined || raw.trim() === '') return TABLE_ORDER
  const wanted = raw.split(',').map((s) => s.trim()).filter(Boolean)
  for (const name of wanted) {
    if (!TABLE_ORDER.includes(name)) throw new Error(`BENCH_SCENARIOS: unknown scenario ${name}; known: ${TABLE_ORDER.join(', ')}`)
  }
  // 'bare' is the reference of every ratio: always measured.
  return withBaseline(TABLE_ORDER.filter((name) => name === 'bare' || wanted.includes(name)))
}

function withBaseline (names) {
  if (BASELINE === null) return names
  return names.flatMap((name) => name.startsWith('login-') ? [name, `${name}${BASE_SUFFIX}`] : [name])
}

/** The scenario a name runs: `login-session@base` runs `login-session` from the baseline checkout. */
function scenarioOf (name) {
  return name.endsWith(BASE_SUFFIX) ? name.slice(0, -BASE_SUFFIX.length) : name
}

function log (line) {
  process.stderr.write(`${line}\n`)
}

// ---------------------------------------------------------------- servers

const profileDir = join(resultsDir, 'profiles')

/** The bench's redis-server (bench/redis.mjs), when a Redis scenario or the revocation measurement runs. */
let redis = null
const usesRedis = (name) => scenarioOf(name).includes('redis')

/** CPU time (µs, user + system) of the redis-server process so far, from /proc (Linux); null elsewhere. */
function redisCpu () {
  if (redis === null) return null
  try {
    const stat = readFileSync(`/proc/${redis.pid}/stat`, 'utf8')
    // Fields after the command name (in parentheses, which may hold spaces): utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) * 1e6 / CLOCK_TICKS
  } catch {
    return null
  }
}
const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
  } catch {
    return 100
  }
})()

/** Starts a scenario server in its own process and waits for its 'ready' message. */
function startServer (name, { exposeGc = false } = {}) {
  const execArgv = []
  if (exposeGc) execArgv.push('--expose-gc')
  if (config.profile) execArgv.push('--cpu-prof', '--cpu-prof-dir', profileDir, '--cpu-prof-name', `${name}.cpuprofile`)
  const serverFile = name.endsWith(BASE_SUFFIX) ? join(BASELINE, 'bench', 'server.mjs') : join(here, 'server.mjs')
  const env = redis === null ? process.env : { ...process.env, BENCH_REDIS_URL: redis.url }
  const child = fork(serverFile, [scenarioOf(name)], { execArgv, env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  if (config.priority !== null) os.setPriority(child.pid, config.priority)
  const pending = []
  const refreshing = []
  let ready
  const readyPromise = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name}: server not ready after 30 s`)), 30_000)
    ready = (message) => { clearTimeout(timer); resolve(message) }
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${name}: server exited with code ${code} before it was ready`)) })
  })
  child.on('message', (message) => {
    if (message?.type === 'ready') ready(message)
    else if (message?.type === 'stats') pending.shift()?.(message)
    else if (message?.type === 'refreshed') refreshing.shift()?.(message.auth)
  })
  return readyPromise.then((info) => ({
    name,
    child,
    ...info,
    served: 0,
    /** CPU time (µs), memory and user loads of the server process. */
    stats (gc = false) {
      return new Promise((resolve) => {
        pending.push(resolve)
        child.send({ type: 'stats', gc })
      })
    },
    /** Scenarios that replay a session cookie get a new one before each run (see sessionScenario). */
    async refresh () {
      if (!this.refreshable) return
      this.auth = await new Promise((resolve) => {
        refreshing.push(resolve)
        child.send({ type: 'refresh' })
      })
    },
    close () {
      return new Promise((resolve) => {
        if (child.exitCode !== null) return resolve()
        child.once('exit', resolve)
        child.send({ type: 'close' })
      })
    }
  }))
}

// ---------------------------------------------------------------- checks

function withAgent (headers = {}) {
  return { 'user-agent': USER_AGENT, ...headers }
}

/** One real HTTP request to a server: status and headers. */
function send (server, req) {
  return new Promise((resolve, reject) => {
    const body = req.body === undefined ? undefined : Buffer.from(req.body)
    const headers = withAgent(req.headers)
    if (body !== undefined) headers['content-length'] = String(body.length)
    const outgoing = httpRequest({ host: '127.0.0.1', port: server.port, method: req.method ?? 'GET', path: req.path, headers, agent: false }, (res) => {
      const chunks = []
      res.on('data', (chunk) => chunks.push(chunk))
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }))
    })
    outgoing.on('error', reject)
    outgoing.end(body)
  })
}

/** Before a run: the authenticated request gets 200, the anonymous one 401. */
async function checkServer (server) {
  const auth = await send(server, server.auth)
  if (auth.status !== 200) throw new Error(`${server.name}: the authenticated request got ${auth.status}, not 200: ${auth.body}`)
  if (server.anon !== null) {
    const anon = await send(server, server.anon)
    if (anon.status !== server.anonStatus) throw new Error(`${server.name}: the anonymous request got ${anon.status}, not ${server.anonStatus}: ${anon.body}`)
  }
  server.served += server.anon === null ? 1 : 2
  return { writesCookie: auth.headers['set-cookie'] !== undefined }
}

// ---------------------------------------------------------------- load

/**
 * A restore that follows rotation: each request takes a current remember
 * cookie from a pool shared by the connections and puts back the one its
 * answer set, so that every request spends a secret nobody else holds.
 */
function rotatingRequest ({ method = 'GET', path, headers, rotating }) {
  const pool = [...rotating.seeds]
  return {
    method,
    path,
    headers: withAgent(headers),
    setupRequest: (request, context) => {
      context.cookie = pool.shift()
      return { ...request, headers: { ...request.headers, cookie: context.cookie } }
    },
    onResponse: (_status, _body, context, resHeaders) => { pool.push(setCookieOf(resHeaders, rotating.name) ?? context.cookie) }
  }
}

/*
 * A chained load (`chain: { first, next, field, length }`): per connection,
 * `first`, then `next` length - 1 times, each sent with
 * `Authorization: Bearer <field of the previous JSON answer>`. The context is
 * per connection; autocannon empties it when the cycle starts again.
 */
function chainRequests ({ first, next, field, length }) {
  const keep = (_status, body, context) => {
    try {
      context.token = JSON.parse(body)[field]
    } catch {
      context.token = undefined
    }
  }
  const followUp = {
    ...next,
    headers: withAgent(next.headers),
    setupRequest: (request, context) => ({ ...request, headers: { ...request.headers, authorization: `Bearer ${context.token}` } }),
    onResponse: keep
  }
  return [{ ...first, headers: withAgent(first.headers), onResponse: keep }, ...Array.from({ length: length - 1 }, () => followUp)]
}

function load (server, options) {
  if (server.chain !== null && server.chain !== undefined) {
    return autocannon({ url: `http://127.0.0.1:${server.port}`, connections: config.connections, pipelining: 1, requests: chainRequests(server.chain), ...options })
  }
  const { method = 'GET', path, headers, body } = server.auth
  const rotating = server.auth.rotating === undefined ? {} : { requests: [rotatingRequest(server.auth)] }
  return autocannon({
    // autocannon takes the path from the URL (a top-level `path` option is ignored).
    url: `http://127.0.0.1:${server.port}${path}`,
    connections: config.connections,
    pipelining: 1,
    method,
    headers: withAgent(headers),
    body,
    ...rotating,
    ...options
  })
}

/** After a run: nothing but 2xx, and something was served. */
function checkLoad (server, result) {
  const bad = []
  if (result.non2xx > 0) bad.push(`${result.non2xx} non-2xx responses`)
  if (result.errors > 0) bad.push(`${result.errors} errors`)
  if (result.timeouts > 0) bad.push(`${result.timeouts} timeouts`)
  if (result.requests.total === 0) bad.push('no request completed')
  if (bad.length > 0) throw new Error(`${server.name}: the load saw ${bad.join(', ')}`)
}

async function measure (server) {
  await server.refresh()
  const { writesCookie } = await checkServer(server)
  const before = await server.stats()
  const redisBefore = usesRedis(server.name) ? redisCpu() : null
  const loaderBefore = process.cpuUsage()
  const result = await load(server, { duration: config.duration })
  const loaderCpu = process.cpuUsage(loaderBefore)
  const redisAfter = redisBefore === null ? null : redisCpu()
  const after = await server.stats()
  checkLoad(server, result)
  const total = result.requests.total
  server.served += total
  const cpu = (after.cpu.user - before.cpu.user) + (after.cpu.system - before.cpu.system)
  return {
    rps: result.requests.average,
    p99: result.latency.p99,
    total,
    cpuPerRequest: cpu / total,
    // The Redis scenarios' other half: what redis-server spent (it serves only this scenario during the run).
    redisCpuPerRequest: redisAfter === null ? null : (redisAfter - redisBefore) / total,
    // Share of one core each side used: which one was the bottleneck.
    serverBusy: cpu / (result.duration * 1e6),
    loaderBusy: (loaderCpu.user + loaderCpu.system) / (result.duration * 1e6),
    loadsPerRequest: after.loads === null ? null : (after.loads - before.loads) / total,
    writesCookie
  }
}

// ---------------------------------------------------------------- stats

function median (values) {
  const sorted = values.filter((v) => v !== null && Number.isFinite(v)).sort((a, b) => a - b)
  if (sorted.length === 0) return null
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/** Median over the rounds of a/b, each pair measured in the same round. */
function roundRatio (runs, a, b) {
  if (runs[a] === undefined || runs[b] === undefined) return null
  return median(runs[a].map((run, round) => run.rps / runs[b][round].rps))
}

/** The same by server CPU time: b's CPU per request over a's (what req/s would give if the server alone limited it). */
function roundCpuRatio (runs, a, b) {
  if (runs[a] === undefined || runs[b] === undefined) return null
  return median(runs[a].map((run, round) => runs[b][round].cpuPerRequest / run.cpuPerRequest))
}

// ---------------------------------------------------------------- phases

const readyTimes = {}

async function httpBenchmarks () {
  const servers = []
  try {
    for (const name of config.scenarios) {
      log(`starting ${name}`)
      const server = await startServer(name)
      readyTimes[name] = server.readyAt
      servers.push(server)
    }
    if (config.warmup > 0) {
      for (const server of servers) {
        log(`warm-up ${server.name} (${config.warmup} s)`)
        await server.refresh()
        await checkServer(server)
        const result = await load(server, { duration: config.warmup })
        checkLoad(server, result)
        server.served += result.requests.total
      }
    }
    const runs = Object.fromEntries(servers.map((s) => [s.name, []]))
    for (let round = 1; round <= config.rounds; round++) {
      for (const server of servers) {
        const run = await measure(server)
        runs[server.name].push(run)
        log(`round ${round}/${config.rounds} ${server.name.padEnd(20)} ${Math.round(run.rps).toString().padStart(6)} req/s  p99 ${run.p99} ms  ${run.cpuPerRequest.toFixed(1)} µs CPU/req  busy: server ${(run.serverBusy * 100).toFixed(0)} %, loader ${(run.loaderBusy * 100).toFixed(0)} %`)
      }
    }
    return { runs, served: Object.fromEntries(servers.map((s) => [s.name, s.served])) }
  } finally {
    await Promise.all(servers.map((server) => server.close()))
  }
}

/** The `name=value` of cookie `name` in a response's Set-Cookie header(s), or undefined. */
function setCookieOf (headers, name) {
  const key = Object.keys(headers).find((k) => k.toLowerCase() === 'set-cookie')
  const values = key === undefined ? [] : [headers[key]].flat()
  return values.map((v) => v.split(';')[0]).find((pair) => pair.startsWith(`${name}=`))
}

/** A Cookie header with `first` (a captured session cookie, may be undefined) before `rest`. */
function joinCookies (first, rest) {
  return [first, rest].filter((c) => c !== undefined && c !== '').join('; ')
}

/*
 * The mix's requests may carry `capture: name` (keep the response's session
 * cookie under that name), or `capture: { name: cookieName, … }` (keep each
 * named cookie), and `withCookieOf: name` (send it): the cycle logs out the
 * sessions it starts. The context is per connection, and autocannon empties
 * it at the start of each cycle.
 */
function capturesOf (server, capture) {
  return typeof capture === 'string' ? [[capture, server.sessionCookieName]] : Object.entries(capture)
}

function mixRequest (server, { expect, capture, withCookieOf, ...req }) {
  const out = { ...req, headers: withAgent(req.headers) }
  if (capture !== undefined) {
    const captures = capturesOf(server, capture)
    out.onResponse = (_status, _body, context, headers) => {
      for (const [name, cookie] of captures) context[name] = setCookieOf(headers, cookie)
    }
  }
  if (withCookieOf !== undefined) {
    out.setupRequest = (request, context) => ({ ...request, headers: { ...request.headers, cookie: joinCookies(context[withCookieOf], req.headers?.cookie) } })
  }
  return out
}

async function leakCheck () {
  const server = await startServer('mixed', { exposeGc: true })
  try {
    const context = {}
    for (const req of server.mix) {
      const headers = req.withCookieOf === undefined ? req.headers : { ...req.headers, cookie: joinCookies(context[req.withCookieOf], req.headers?.cookie) }
      const res = await send(server, { ...req, headers })
      const expected = req.expect ?? 200
      if (res.status !== expected) throw new Error(`mixed: ${req.method ?? 'GET'} ${req.path} got ${res.status}, not ${expected}: ${res.body}`)
      if (req.capture !== undefined) {
        for (const [name, cookie] of capturesOf(server, req.capture)) {
          context[name] = setCookieOf(res.headers, cookie)
          if (context[name] === undefined) throw new Error(`mixed: ${req.method ?? 'GET'} ${req.path} set no ${cookie} cookie to capture`)
        }
      }
    }
    const sessionsBefore = (await server.stats()).sessions
    if (sessionsBefore !== null && sessionsBefore !== 1) throw new Error(`mixed: one cycle left ${sessionsBefore} session records, not 1 (the load's own): it does not log out what it logs in`)
    const requests = server.mix.map((req) => mixRequest(server, req))
    const refusedShare = server.mix.filter((req) => req.expect !== undefined).length / server.mix.length
    const run = async (amount) => {
      const result = await autocannon({
        url: `http://127.0.0.1:${server.port}`,
        connections: config.connections,
        pipelining: 1,
        amount,
        requests
      })
      // Each connection cycles through the mix, so a known share is refused (401).
      const expected4xx = result.requests.total * refusedShare
      const bad = []
      if (result.errors > 0 || result.timeouts > 0) bad.push(`${result.errors} errors, ${result.timeouts} timeouts`)
      if (result['5xx'] > 0 || result['3xx'] > 0 || result['1xx'] > 0) bad.push(`${result['5xx']} 5xx, ${result['3xx']} 3xx`)
      if (Math.abs(result['4xx'] - expected4xx) > config.connections * server.mix.length) bad.push(`${result['4xx']} 4xx where about ${Math.round(expected4xx)} were expected`)
      if (bad.length > 0) throw new Error(`mixed: the load saw ${bad.join(', ')}`)
      return result
    }
    const cycle = config.connections * server.mix.length
    if (LEAK_BASELINE % cycle !== 0) throw new Error(`mixed: ${fmt(LEAK_BASELINE)} requests are not whole cycles of ${server.mix.length} requests on ${config.connections} connections`)
    log(`memory: first ${fmt(LEAK_BASELINE)} mixed requests`)
    const started = Date.now()
    let total = (await run(LEAK_BASELINE)).requests.total
    const atBaseline = await server.stats()
    const atBaselineGc = await server.stats(true)
    // The rest in 9 chunks, sampling RSS after each: a leak grows steadily, heap sizing levels off.
    const samples = [{ requests: total, rss: atBaseline.rss }]
    const chunks = 9
    for (let i = 1; i <= chunks; i++) {
      // Whole cycles on every connection (autocannon splits `amount` evenly between them), so that no
      // chunk ends between a login and its logout: the store must hold the load's one record after each.
      const target = LEAK_BASELINE + Math.round((config.leakRequests - LEAK_BASELINE) * i / chunks / cycle) * cycle
      total += (await run(target - total)).requests.total
      const { rss, sessions } = await server.stats()
      samples.push({ requests: total, rss, sessions })
      log(`memory: ${fmt(total)} requests, RSS ${(rss / MB).toFixed(1)} MB${sessions === null ? '' : `, ${fmt(sessions)} session records`}`)
    }
    const atEndGc = await server.stats(true)
    const rssAfterAll = samples[samples.length - 1].rss
    return {
      requests: total,
      seconds: (Date.now() - started) / 1000,
      mix: server.mix.map((req) => `${req.method ?? 'GET'} ${req.path}${req.expect ? ` (${req.expect})` : ''}`),
      rssAfterBaseline: atBaseline.rss,
      rssAfterAll,
      rssGrowth: rssAfterAll - atBaseline.rss,
      samples,
      // Records in the MemoryStore: the load's one session when every cycle logs out what it logs in.
      sessionsAfterBaseline: atBaseline.sessions,
      sessionsAtEnd: atEndGc.sessions,
      heapAfterBaselineGc: atBaselineGc.heapUsed,
      heapAfterAllGc: atEndGc.heapUsed
    }
  } finally {
    await server.close()
  }
}

/** bench/revocation.mjs on the bench's redis-server. */
function revocation () {
  log('revocation delay between two RedisStore instances')
  const out = execFileSync(process.execPath, [join(here, 'revocation.mjs'), '--json'], {
    encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, BENCH_REDIS_URL: redis.url }
  })
  return JSON.parse(out)
}

/** bench/session-memory.mjs: heap per live MemoryStore session (needs --expose-gc). */
function sessionMemory () {
  log('MemoryStore: heap per live session')
  const out = execFileSync(process.execPath, ['--expose-gc', join(here, 'session-memory.mjs'), '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
  return JSON.parse(out)
}

function microBenchmarks () {
  log('micro-benchmarks')
  const out = execFileSync(process.execPath, [join(here, 'micro.mjs'), '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
  return JSON.parse(out)
}

// ---------------------------------------------------------------- report

const MB = 1024 * 1024

function fmt (value, digits = 0) {
  return value === null || value === undefined ? '—' : value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

function summarize (runs) {
  return config.scenarios.map((name, index) => {
    const list = runs[name]
    return {
      index: index + 1,
      name,
      title: scenarios[scenarioOf(name)].title + (name === scenarioOf(name) ? '' : ' (baseline checkout)'),
      rps: median(list.map((r) => r.rps)),
      p99: median(list.map((r) => r.p99)),
      ratioToBare: roundRatio(runs, name, 'bare'),
      cpuRatioToBare: roundCpuRatio(runs, name, 'bare'),
      cpuPerRequest: median(list.map((r) => r.cpuPerRequest)),
      redisCpuPerRequest: median(list.map((r) => r.redisCpuPerRequest ?? null)),
      serverBusy: median(list.map((r) => r.serverBusy)),
      loaderBusy: median(list.map((r) => r.loaderBusy)),
      loadsPerRequest: median(list.map((r) => r.loadsPerRequest)),
      writesCookie: list.some((r) => r.writesCookie),
      rounds: list.map((r) => Math.round(r.rps))
    }
  })
}

function targetsOf (runs, leak, revoked, perSession) {
  const t = []
  const add = (target, a, b, need, note) => {
    const measured = roundRatio(runs, a, b)
    const byCpu = roundCpuRatio(runs, a, b)
    if (measured === null) return
    // need null: a reference ratio that explains a target, not a target itself.
    const row = { target, measured: `${measured.toFixed(2)} ×`, byCpu: `${byCpu.toFixed(2)} ×`, note }
    t.push(need === null ? { ...row, need: '(reference)', met: null } : { ...row, need: `≥ ${need} ×`, met: measured >= need })
  }
  add('session `loginRequired` vs secure-session alone', 'login-session', 'secure-session', 0.95)
  add('session `loginRequired` vs passport', 'login-session', 'passport', 1, 'default MemoryStore')
  add('session `loginRequired`, MemoryStore vs `store: false`', 'login-session', 'login-session-stateless', 0.95)
  add('session `loginRequired`, RedisStore + local cache vs `store: false`', 'login-session-redis', 'login-session-stateless', 0.9, 'by CPU: Node only, redis-server not counted')
  add('session `loginRequired`, RedisStore without local cache vs `store: false`', 'login-session-redis-nocache', 'login-session-stateless', null, 'by CPU: Node only, redis-server not counted')
  add('`store: false` vs secure-session alone', 'login-session-stateless', 'secure-session', null)
  add('route that never uses the user vs secure-session alone', 'login-public', 'secure-session', 0.98, 'defaults (autoLoadUser on)')
  add('same route, `autoLoadUser: false`, vs secure-session alone', 'login-public-noload', 'secure-session', 0.98)
  add('remember-me restore vs session route', 'login-remember', 'login-session', 0.75)
  add('secure-session writing a new session vs reading it', 'secure-session-write', 'secure-session', null)
  add('remember-me restore vs secure-session writing a new session', 'login-remember', 'secure-session-write', null)
  add('`jwtRequired` (JWT-only app) vs @fastify/jwt', 'login-jwt', 'fastify-jwt', 1.2)
  add('`jwtRequired` (app with sessions) vs @fastify/jwt', 'login-jwt-session', 'fastify-jwt', 1.2)
  add('fast-jwt called directly vs @fastify/jwt', 'fast-jwt', 'fastify-jwt', null)
  add('`jwtRequired` (JWT-only app) vs fast-jwt called directly', 'login-jwt', 'fast-jwt', null)
  add('`jwtRequired` + cache vs bare', 'login-jwt-cache', 'bare', 0.7)
  add('logins/s vs passport', 'login-login', 'passport-login', 1, 'default MemoryStore')
  add('logins/s with RedisStore vs passport', 'login-login-redis', 'passport-login', 1, 'by CPU: Node only, redis-server not counted')
  if (leak !== null) {
    const growth = leak.rssGrowth / MB
    t.push({
      target: `RSS growth, ${fmt(LEAK_BASELINE)} → ${fmt(leak.requests)} mixed requests`,
      measured: `${growth.toFixed(1)} MB`,
      need: '≤ 30 MB',
      met: growth <= 30,
      note: leak.requests < 1_000_000 ? 'fewer requests than the issue\'s 1,000,000' : undefined
    })
    if (leak.sessionsAtEnd !== null) {
      t.push({
        target: 'session records in the MemoryStore after the memory check (every login and restore of the cycle logged out)',
        measured: fmt(leak.sessionsAtEnd),
        need: '1 (the load\'s own)',
        met: leak.sessionsAtEnd === 1
      })
    }
  }
  if (revoked !== null) {
    t.push({
      target: 'revocation seen by another instance, p99 (app level: logout on B answered → A refuses)',
      measured: `${revoked.app.p99.toFixed(2)} ms`,
      need: '≤ 20 ms',
      met: revoked.app.p99 <= 20,
      note: `p50 ${revoked.app.p50.toFixed(2)} ms over ${fmt(revoked.app.count)}; store level p50 ${revoked.store.p50.toFixed(2)}, p99 ${revoked.store.p99.toFixed(2)} ms`
    })
  }
  if (perSession !== null) {
    t.push({
      target: `MemoryStore heap per live session (${fmt(perSession.perUser.sessions)} sessions, one per user)`,
      measured: `${fmt(perSession.perUser.bytesPerSession)} B`,
      need: '(report)',
      met: null,
      note: `all of one user: ${fmt(perSession.oneUser.bytesPerSession)} B`
    })
  }
  return t
}

function markdown ({ rows, targets, leak, revoked, perSession, micro, meta }) {
  const lines = []
  lines.push(`${meta.date.slice(0, 16).replace('T', ' ')} UTC${meta.commit === null ? '' : `, commit ${meta.commit}`}. Node ${meta.node}, ${meta.cpus}× ${meta.cpuModel}; ${meta.rounds} rounds × ${meta.duration} s per scenario after a ${meta.warmup} s warm-up, ${meta.connections} connections, autocannon in one process and each server in its own${meta.priority === null ? '' : ` (nice ${meta.priority})`}.`)
  lines.push('')
  lines.push('| # | scenario | req/s (median) | p99 ms | × bare (same round) | server CPU µs/req | redis-server CPU µs/req | × bare by CPU | server / loader busy | loadUser/req | sets a cookie |')
  lines.push('| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | :---: | ---: | :---: |')
  const pct = (x) => `${Math.round(x * 100)} %`
  for (const row of rows) {
    lines.push(`| ${row.index} | ${row.name}: ${row.title} | ${fmt(row.rps)} | ${fmt(row.p99)} | ${fmt(row.ratioToBare, 2)} | ${fmt(row.cpuPerRequest, 1)} | ${fmt(row.redisCpuPerRequest, 1)} | ${fmt(row.cpuRatioToBare, 2)} | ${pct(row.serverBusy)} / ${pct(row.loaderBusy)} | ${fmt(row.loadsPerRequest, 2)} | ${row.writesCookie ? 'yes' : 'no'} |`)
  }
  if (targets.length > 0) {
    lines.push('')
    lines.push('| target | measured (req/s) | by server CPU | needed | met |')
    lines.push('| --- | ---: | ---: | ---: | :---: |')
    for (const t of targets) lines.push(`| ${t.target}${t.note ? ` (${t.note})` : ''} | ${t.measured} | ${t.byCpu ?? '—'} | ${t.need} | ${t.met === null ? '—' : t.met ? 'yes' : '**no**'} |`)
  }
  if (leak !== null) {
    lines.push('')
    lines.push(`Memory (one fastify-login server, ${fmt(leak.requests)} requests cycling through ${leak.mix.join(', ')}; ${leak.seconds.toFixed(0)} s): ` +
      `RSS ${(leak.rssAfterBaseline / MB).toFixed(1)} MB after the first ${fmt(LEAK_BASELINE)}, ${(leak.rssAfterAll / MB).toFixed(1)} MB at the end ` +
      `(heap after GC: ${(leak.heapAfterBaselineGc / MB).toFixed(1)} → ${(leak.heapAfterAllGc / MB).toFixed(1)} MB). ` +
      `RSS along the way: ${leak.samples.map((s) => `${fmt(s.requests / 1000)}k ${(s.rss / MB).toFixed(0)}`).join(', ')} MB.` +
      (leak.sessionsAtEnd === null
        ? ''
        : ` Session records in the MemoryStore: ${fmt(leak.sessionsAfterBaseline)} after the first ${fmt(LEAK_BASELINE)}, ${fmt(leak.sessionsAtEnd)} at the end ` +
        '(each cycle logs out the two sessions it starts, the login\'s and the restore\'s; the load\'s own session is the one left).'))
  }
  if (revoked !== null) {
    const ms = (x) => x.toFixed(2)
    lines.push('')
    lines.push('| revocation seen by another instance (two RedisStores, local cache on, one redis-server) | count | p50 ms | p99 ms | max ms |')
    lines.push('| --- | ---: | ---: | ---: | ---: |')
    lines.push(`| store: B.delete() resolved → A.get() answers null | ${fmt(revoked.store.count)} | ${ms(revoked.store.p50)} | ${ms(revoked.store.p99)} | ${ms(revoked.store.max)} |`)
    lines.push(`| app (fastify.inject, a real session): B's logout answered → A answers 401 | ${fmt(revoked.app.count)} | ${ms(revoked.app.p50)} | ${ms(revoked.app.p99)} | ${ms(revoked.app.max)} |`)
  }
  if (perSession !== null) {
    lines.push('')
    lines.push('| MemoryStore, live sessions made by `loginCookie()` | heap after GC, MB | bytes per session |')
    lines.push('| --- | ---: | ---: |')
    for (const [what, r] of [['one session per user', perSession.perUser], ['all of one user', perSession.oneUser]]) {
      lines.push(`| ${fmt(r.sessions)}, ${what} | ${(r.heapBefore / MB).toFixed(1)} → ${(r.heapAfter / MB).toFixed(1)} | ${fmt(r.bytesPerSession)} |`)
    }
  }
  if (micro !== null) {
    lines.push('')
    lines.push('| micro-benchmark (tinybench) | µs/op (mean) | ± % | ops/s |')
    lines.push('| --- | ---: | ---: | ---: |')
    for (const m of micro) lines.push(`| ${m.name} | ${fmt(m.meanUs, 2)} | ${fmt(m.rme, 1)} | ${fmt(m.hz)} |`)
  }
  return lines.join('\n')
}

// ---------------------------------------------------------------- main

async function main () {
  if (config.priority !== null) os.setPriority(config.priority)
  mkdirSync(resultsDir, { recursive: true })
  if (config.profile) {
    rmSync(profileDir, { recursive: true, force: true })
    mkdirSync(profileDir, { recursive: true })
  }
  const started = Date.now()
  if (config.revocation || config.scenarios.some(usesRedis)) {
    redis = await startRedis({ priority: config.priority, setPriority: os.setPriority })
    log(`redis-server on ${redis.url}`)
  }
  let runs, served, leak, revoked
  try {
    ({ runs, served } = await httpBenchmarks())
    leak = config.leakRequests > 0 ? await leakCheck() : null
    revoked = config.revocation ? revocation() : null
  } finally {
    await redis?.stop()
  }
  const perSession = config.sessionMemory ? sessionMemory() : null
  const micro = config.micro ? microBenchmarks() : null
  const cpus = os.cpus()
  const meta = {
    date: new Date().toISOString(),
    commit: gitCommit(),
    node: process.version,
    cpus: cpus.length,
    cpuModel: cpus[0]?.model?.trim() ?? 'unknown CPU',
    duration: config.duration,
    rounds: config.rounds,
    warmup: config.warmup,
    connections: config.connections,
    priority: config.priority,
    seconds: Math.round((Date.now() - started) / 1000)
  }
  const rows = summarize(runs)
  const targets = targetsOf(runs, leak, revoked, perSession)
  const report = { meta, rows, targets, leak, revoked, perSession, micro, runs }
  if (config.profile) report.profiles = profiles(served)
  writeFileSync(join(resultsDir, 'latest.json'), JSON.stringify(report, null, 2) + '\n')
  const table = markdown(report)
  writeFileSync(join(resultsDir, 'latest.md'), table + '\n')
  process.stdout.write(table + '\n')
  if (report.profiles !== undefined) {
    for (const [name, summary] of Object.entries(report.profiles)) process.stdout.write(`\n### CPU profile: ${name}\n\n${summary.markdown}\n`)
  }
  log(`\n${meta.seconds} s; JSON in bench/results/latest.json`)
}

/** The commit measured (with "+changes" when the work tree differs), or null outside git. */
function gitCommit () {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: here, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'lib'], { cwd: join(here, '..'), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() !== ''
    return dirty ? `${commit}+changes in lib/` : commit
  } catch {
    return null
  }
}

function profiles (served) {
  const out = {}
  for (const file of readdirSync(profileDir).filter((f) => f.endsWith('.cpuprofile'))) {
    const name = file.replace(/\.cpuprofile$/, '')
    if (served[name] === undefined) continue
    out[name] = summarizeProfile(join(profileDir, file), served[name], { fromUs: readyTimes[name] })
  }
  return out
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
