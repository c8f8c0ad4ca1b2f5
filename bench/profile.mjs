// Summarizes a V8 .cpuprofile (node --cpu-prof) of a benchmark server into
// where the time of one request goes: per package, per function (self time),
// and the inclusive time of fastify-login's own functions, all in µs per
// request served. `node bench/profile.mjs <file.cpuprofile> <requests>`
// prints the summary of one profile.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const DIST = /\/dist\/(cjs|esm)\//
// Fastify's request pipeline: a hook that calls `done()` runs the rest of the
// request from inside itself. Time below these frames is not the caller's own.
const PIPELINE = /\/node_modules\/fastify\/lib\/(hooks|handle-request|route|reply|wrap-thenable)\.js$/

function packageOf (url, functionName) {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)'
  if (url.startsWith('node:')) return 'node internals'
  const nm = url.lastIndexOf('/node_modules/')
  if (nm !== -1) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/')
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]
  }
  if (DIST.test(url)) return 'fastify-login'
  if (url.includes('/bench/')) return 'bench app'
  return url
}

function where (frame) {
  const file = frame.url === '' ? '' : frame.url.replace(/^.*\/(node_modules|dist)\//, '$1/')
  return file === '' ? '' : `${file}:${frame.lineNumber + 1}`
}

/**
 * @param {string} file a .cpuprofile
 * @param {number} requests how many requests the process served after `fromUs`
 * @param {{ fromUs?: number, top?: number }} options fromUs: skip samples before
 *   this time (µs, monotonic clock), i.e. the startup
 */
export function summarizeProfile (file, requests, { fromUs, top = 15 } = {}) {
  const profile = JSON.parse(readFileSync(file, 'utf8'))
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const parent = new Map()
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id)

  const self = new Map() // function key → µs
  const packages = new Map()
  const inclusive = new Map() // fastify-login function key → µs
  const frames = new Map()
  let busy = 0
  let idle = 0
  const keyOf = (frame) => `${frame.functionName || '(anonymous)'} ${where(frame)}`
  // The ready time is usable when it falls inside the profile (same clock).
  const cut = fromUs !== undefined && fromUs > profile.startTime && fromUs < profile.endTime ? fromUs : profile.startTime
  let now = profile.startTime

  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0
    now += dt
    if (now < cut) return
    const node = byId.get(id)
    const frame = node.callFrame
    if (frame.functionName === '(idle)') { idle += dt; return }
    busy += dt
    const key = keyOf(frame)
    frames.set(key, frame)
    self.set(key, (self.get(key) ?? 0) + dt)
    const pkg = packageOf(frame.url, frame.functionName)
    packages.set(pkg, (packages.get(pkg) ?? 0) + dt)
    // Inclusive time of our own functions: each function once per sample, and
    // not what Fastify's pipeline runs when one of them calls `done()`.
    const seen = new Set()
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur).callFrame
      if (PIPELINE.test(f.url)) break
      if (DIST.test(f.url)) {
        const k = keyOf(f)
        if (!seen.has(k)) {
          seen.add(k)
          inclusive.set(k, (inclusive.get(k) ?? 0) + dt)
        }
      }
    }
  })

  const perRequest = (us) => us / requests
  const sorted = (map) => [...map.entries()].sort((a, b) => b[1] - a[1])
  const summary = {
    requests,
    startupSkipped: cut !== profile.startTime,
    busyUsPerRequest: perRequest(busy),
    idleSeconds: idle / 1e6,
    packages: sorted(packages).map(([name, us]) => ({ name, usPerRequest: perRequest(us), share: us / busy })),
    selfTop: sorted(self).slice(0, top).map(([name, us]) => ({ name, usPerRequest: perRequest(us), share: us / busy })),
    pluginInclusive: sorted(inclusive).slice(0, top).map(([name, us]) => ({ name, usPerRequest: perRequest(us), share: us / busy }))
  }
  summary.markdown = markdownOf(summary)
  return summary
}

function markdownOf (s) {
  const pct = (x) => `${(x * 100).toFixed(1)} %`
  const us = (x) => x.toFixed(2)
  const startup = s.startupSkipped ? 'startup excluded' : 'startup included'
  const lines = [`${s.requests.toLocaleString('en-US')} requests; ${us(s.busyUsPerRequest)} µs of busy (non-idle) samples per request, ${startup}.`, '']
  lines.push('| package (self time) | µs/req | share |', '| --- | ---: | ---: |')
  for (const p of s.packages.slice(0, 12)) lines.push(`| ${p.name} | ${us(p.usPerRequest)} | ${pct(p.share)} |`)
  lines.push('', '| function (self time) | µs/req | share |', '| --- | ---: | ---: |')
  for (const f of s.selfTop) lines.push(`| \`${f.name}\` | ${us(f.usPerRequest)} | ${pct(f.share)} |`)
  if (s.pluginInclusive.length > 0) {
    lines.push('', '| fastify-login function (inclusive: itself and what it calls) | µs/req | share |', '| --- | ---: | ---: |')
    for (const f of s.pluginInclusive) lines.push(`| \`${f.name}\` | ${us(f.usPerRequest)} | ${pct(f.share)} |`)
  }
  return lines.join('\n')
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [file, requests] = process.argv.slice(2)
  if (file === undefined || !(Number(requests) > 0)) {
    console.error('usage: node bench/profile.mjs <file.cpuprofile> <requests served>')
    process.exit(2)
  }
  console.log(summarizeProfile(file, Number(requests)).markdown)
}
