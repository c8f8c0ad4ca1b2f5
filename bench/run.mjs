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
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import os from 'node:os'
import { dirname, join, resolve as resolvePath } from 'node:path'
import { fileURLToPath } from 'node:url'
import { summarizeProfile } from './profile.mjs'
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

/** Starts a scenario server in its own process and waits for its 'ready' message. */
function startServer (name, { exposeGc = false } = {}) {
  const execArgv = []
  if (exposeGc) execArgv.push('--expose-gc')
  if (config.profile) execArgv.push('--cpu-prof', '--cpu-prof-dir', profileDir, '--cpu-prof-name', `${name}.cpuprofile`)
  const serverFile = name.endsWith(BASE_SUFFIX) ? join(BASELINE, 'bench', 'server.mjs') : join(here, 'server.mjs')
  const child = fork(serverFile, [scenarioOf(name)], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  if (config.priority !== null) os.setPriority(child.pid, config.priority)
  const pending = []
  let ready
  const readyPromise = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name}: server not ready after 30 s`)), 30_000)
    ready = (message) => { clearTimeout(timer); resolve(message) }
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${name}: server exited with code ${code} before it was ready`)) })
  })
  child.on('message', (message) => {
    if (message?.type === 'ready') ready(message)
    else if (message?.type === 'stats') pending.shift()?.(message)
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

function load (server, options) {
  const { method = 'GET', path, headers, body } = server.auth
  return autocannon({
    // autocannon takes the path from the URL (a top-level `path` option is ignored).
    url: `http://127.0.0.1:${server.port}${path}`,
    connections: config.connections,
    pipelining: 1,
    method,
    headers: withAgent(headers),
    body,
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
  const { writesCookie } = await checkServer(server)
  const before = await server.stats()
  const loaderBefore = process.cpuUsage()
  const result = await load(server, { duration: config.duration })
  const loaderCpu = process.cpuUsage(loaderBefore)
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

async function leakCheck () {
  const server = await startServer('mixed', { exposeGc: true })
  try {
    for (const req of server.mix) {
      const res = await send(server, req)
      const expected = req.expect ?? 200
      if (res.status !== expected) throw new Error(`mixed: ${req.method ?? 'GET'} ${req.path} got ${res.status}, not ${expected}: ${res.body}`)
    }
    const requests = server.mix.map(({ expect, ...req }) => ({ ...req, headers: withAgent(req.headers) }))
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
    log(`memory: first ${fmt(LEAK_BASELINE)} mixed requests`)
    const started = Date.now()
    let total = (await run(LEAK_BASELINE)).requests.total
    const atBaseline = await server.stats()
    const atBaselineGc = await server.stats(true)
    // The rest in 9 chunks, sampling RSS after each: a leak grows steadily, heap sizing levels off.
    const samples = [{ requests: total, rss: atBaseline.rss }]
    const chunks = 9
    for (let i = 1; i <= chunks; i++) {
      const target = LEAK_BASELINE + Math.round((config.leakRequests - LEAK_BASELINE) * i / chunks)
      total += (await run(target - total)).requests.total
      const { rss } = await server.stats()
      samples.push({ requests: total, rss })
      log(`memory: ${fmt(total)} requests, RSS ${(rss / MB).toFixed(1)} MB`)
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
      heapAfterBaselineGc: atBaselineGc.heapUsed,
      heapAfterAllGc: atEndGc.heapUsed
    }
  } finally {
    await server.close()
  }
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
      serverBusy: median(list.map((r) => r.serverBusy)),
      loaderBusy: median(list.map((r) => r.loaderBusy)),
      loadsPerRequest: median(list.map((r) => r.loadsPerRequest)),
      writesCookie: list.some((r) => r.writesCookie),
      rounds: list.map((r) => Math.round(r.rps))
    }
  })
}

function targetsOf (runs, leak) {
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
  add('session `loginRequired` vs passport', 'login-session', 'passport', 1)
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
  add('logins/s vs passport', 'login-login', 'passport-login', 1)
  if (leak !== null) {
    const growth = leak.rssGrowth / MB
    t.push({
      target: `RSS growth, ${fmt(LEAK_BASELINE)} → ${fmt(leak.requests)} mixed requests`,
      measured: `${growth.toFixed(1)} MB`,
      need: '≤ 30 MB',
      met: growth <= 30,
      note: leak.requests < 1_000_000 ? 'fewer requests than the issue\'s 1,000,000' : undefined
    })
  }
  return t
}

function markdown ({ rows, targets, leak, micro, meta }) {
  const lines = []
  lines.push(`${meta.date.slice(0, 16).replace('T', ' ')} UTC${meta.commit === null ? '' : `, commit ${meta.commit}`}. Node ${meta.node}, ${meta.cpus}× ${meta.cpuModel}; ${meta.rounds} rounds × ${meta.duration} s per scenario after a ${meta.warmup} s warm-up, ${meta.connections} connections, autocannon in one process and each server in its own${meta.priority === null ? '' : ` (nice ${meta.priority})`}.`)
  lines.push('')
  lines.push('| # | scenario | req/s (median) | p99 ms | × bare (same round) | server CPU µs/req | × bare by CPU | server / loader busy | loadUser/req | sets a cookie |')
  lines.push('| ---: | --- | ---: | ---: | ---: | ---: | ---: | :---: | ---: | :---: |')
  const pct = (x) => `${Math.round(x * 100)} %`
  for (const row of rows) {
    lines.push(`| ${row.index} | ${row.name}: ${row.title} | ${fmt(row.rps)} | ${fmt(row.p99)} | ${fmt(row.ratioToBare, 2)} | ${fmt(row.cpuPerRequest, 1)} | ${fmt(row.cpuRatioToBare, 2)} | ${pct(row.serverBusy)} / ${pct(row.loaderBusy)} | ${fmt(row.loadsPerRequest, 2)} | ${row.writesCookie ? 'yes' : 'no'} |`)
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
      `RSS along the way: ${leak.samples.map((s) => `${fmt(s.requests / 1000)}k ${(s.rss / MB).toFixed(0)}`).join(', ')} MB.`)
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
  const { runs, served } = await httpBenchmarks()
  const leak = config.leakRequests > 0 ? await leakCheck() : null
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
  const targets = targetsOf(runs, leak)
  const report = { meta, rows, targets, leak, micro, runs }
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
