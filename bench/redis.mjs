// The bench's redis-server: one child `redis-server` on a free loopback port,
// without persistence, started the way test/redis-server.ts starts the tests'
// servers. run.mjs starts one for the Redis scenarios and the revocation
// measurement and passes its URL on as BENCH_REDIS_URL; bench/revocation.mjs
// run by itself starts its own.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createConnection, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** A port nobody listens on now, from the kernel. */
async function freePort () {
  const server = createServer()
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address()
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** One PING over a raw socket: true on +PONG. */
function ping (port) {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port })
    let answer = ''
    const done = (ok) => { socket.destroy(); resolve(ok) }
    socket.setTimeout(1000, () => done(false))
    socket.on('error', () => done(false))
    socket.on('connect', () => socket.write('PING\r\n'))
    socket.on('data', (chunk) => {
      answer += chunk.toString('latin1')
      if (answer.includes('\r\n')) done(answer.startsWith('+PONG'))
    })
  })
}

/**
 * Starts redis-server and resolves once it answers PING: { url, port, pid, stop }.
 * `stop()` kills it and removes its folder; it is also killed if this process exits first.
 */
export async function startRedis ({ priority = null, setPriority = null } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'fastify-login-bench-redis-'))
  const port = await freePort()
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    { stdio: 'ignore' })
  const killOnExit = () => child.kill('SIGKILL')
  process.once('exit', killOnExit)
  const failed = new Promise((_resolve, reject) => {
    child.once('error', (err) => reject(err.code === 'ENOENT' ? new Error('redis-server is not on PATH (apt-get install -y redis-server)') : err))
    child.once('exit', (code) => reject(new Error(`redis-server on port ${port} exited with ${code}`)))
  })
  failed.catch(() => {})
  const answering = (async () => {
    const deadline = Date.now() + 10_000
    while (!(await ping(port))) {
      if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer PING within 10 s`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  })()
  try {
    await Promise.race([failed, answering])
  } catch (err) {
    child.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
    throw err
  }
  if (priority !== null && setPriority !== null) setPriority(child.pid, priority)
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: child.pid,
    async stop () {
      process.removeListener('exit', killOnExit)
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve))
        child.kill('SIGKILL')
        await exited
      }
      rmSync(dir, { recursive: true, force: true })
    }
  }
}
