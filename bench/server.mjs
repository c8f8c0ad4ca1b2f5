// One benchmark server: `node bench/server.mjs <scenario>`, started by run.mjs
// with an IPC channel. It listens on 127.0.0.1 (a free port), sends
// { type: 'ready', port, auth, anon, ... } and then answers 'stats' messages
// with its CPU time, memory and user-load count, so the runner can measure
// what the server itself spent on a run.
import { scenarios } from './scenarios.mjs'

const name = process.argv[2]
const scenario = scenarios[name]
if (scenario === undefined) {
  console.error(`unknown scenario ${name}; known: ${Object.keys(scenarios).join(', ')}`)
  process.exit(2)
}
if (typeof process.send !== 'function') {
  console.error('bench/server.mjs is started by bench/run.mjs (it needs an IPC channel)')
  process.exit(2)
}

const built = await scenario.build()
const { app } = built
await app.listen({ host: '127.0.0.1', port: 0 })

function stats () {
  const memory = process.memoryUsage()
  return {
    type: 'stats',
    cpu: process.cpuUsage(),
    rss: memory.rss,
    heapUsed: memory.heapUsed,
    loads: built.stats?.loads ?? null,
    // Records in the scenario's MemoryStore, when it exposes one (the memory check).
    sessions: built.sessionStore?.size ?? null
  }
}

process.on('message', (message) => {
  if (message?.type === 'stats') {
    if (message.gc === true && typeof globalThis.gc === 'function') globalThis.gc()
    process.send(stats())
  } else if (message?.type === 'refresh') {
    // A new authenticated request (a new session cookie), for scenarios that can make one.
    built.refresh().then((auth) => process.send({ type: 'refreshed', auth }), (err) => {
      console.error(err)
      process.exit(1)
    })
  } else if (message?.type === 'close') {
    app.close().then(() => process.exit(0), () => process.exit(1))
  }
})
// The runner went away (crash, Ctrl-C): do not linger.
process.on('disconnect', () => process.exit(0))

process.send({
  type: 'ready',
  port: app.server.address().port,
  auth: built.auth,
  anon: built.anon,
  refreshable: typeof built.refresh === 'function',
  anonStatus: built.anonStatus ?? 401,
  mix: built.mix ?? null,
  chain: built.chain ?? null,
  sessionCookieName: built.sessionCookieName ?? null,
  // In µs on the monotonic clock V8's CPU profiles use: profiles skip the startup before it.
  readyAt: Number(process.hrtime.bigint() / 1000n)
})
