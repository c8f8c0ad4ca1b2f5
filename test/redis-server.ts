/*
 * Real Redis servers for the RedisStore tests: there is no Redis mock, since
 * what matters (Lua, pub/sub, Cluster slots, reconnects) is what a mock would
 * get wrong. Each server is a child `redis-server` on a free loopback port,
 * without persistence, in its own temporary folder; tests stop it in
 * t.teardown. With REDIS_URL set, that server is used instead (and never
 * stopped or restarted by us).
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** A server the tests can stop and start again on the same port. */
export interface TestRedis {
  url: string
  port: number
  /** Kills the server and waits for it to exit. */
  stop: () => Promise<void>
  /** Starts it again on the same port (after stop), and waits until it answers. */
  restart: () => Promise<void>
}

const MISSING = 'redis-server is not on PATH: install it with `apt-get install -y redis-server` (Debian) or set REDIS_URL to a Redis server for the tests'

/** A port nobody listens on now, from the kernel. */
async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

async function cli (port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 10_000 })
  return stdout
}

/** Polls `check` every 50 ms until it is true; fails after `ms`. */
async function until (what: string, ms: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms
  for (;;) {
    if (await check().catch(() => false)) return
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

// Every server still running, killed if this process ends before a teardown could run (a tap
// timeout sends SIGTERM or SIGALRM; a closed terminal SIGHUP): an orphaned redis-server would hold
// its port and memory. (A SIGKILL of this process cannot be caught: its servers outlive it.)
const running = new Set<ChildProcess>()
process.once('exit', () => { for (const child of running) child.kill('SIGKILL') })
for (const signal of ['SIGTERM', 'SIGINT', 'SIGALRM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    for (const child of running) child.kill('SIGKILL')
    // Then die of the signal as we would have without this handler.
    process.kill(process.pid, signal)
  })
}

/** One redis-server child on `port`; resolves once it answers PING. */
async function spawnServer (port: number, dir: string, extra: string[] = []): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
    '--dir', dir, ...extra], { stdio: 'ignore' })
  running.add(child)
  child.once('exit', () => running.delete(child))
  const failed = new Promise<never>((_resolve, reject) => {
    child.once('error', (err: NodeJS.ErrnoException) => reject(err.code === 'ENOENT' ? new Error(MISSING) : err))
    child.once('exit', (code) => reject(new Error(`redis-server on port ${port} exited with ${String(code)}`)))
  })
  failed.catch(() => {})
  await Promise.race([failed, until(`redis-server on port ${port}`, 10_000, async () => (await cli(port, 'PING')).trim() === 'PONG')])
  return child
}

async function kill (child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGKILL')
  await exited
}

/** Starts a Redis server (or uses REDIS_URL). Register `stop` with t.teardown. */
export async function startRedis (): Promise<TestRedis> {
  const fromEnv = process.env.REDIS_URL
  if (fromEnv !== undefined && fromEnv !== '') {
    const port = Number(new URL(fromEnv).port || 6379)
    const refuse = async (): Promise<void> => { throw new Error('REDIS_URL is set: this test needs a server it can stop') }
    return { url: fromEnv, port, stop: async () => {}, restart: refuse }
  }
  const dir = mkdtempSync(join(tmpdir(), 'fastify-login-redis-'))
  const port = await freePort()
  let child: ChildProcess | undefined
  try {
    child = await spawnServer(port, dir)
  } catch (err) {
    rmSync(dir, { recursive: true, force: true })
    throw err
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop: async () => {
      await kill(child)
      rmSync(dir, { recursive: true, force: true })
    },
    restart: async () => {
      await kill(child)
      // stop() removed the folder.
      mkdirSync(dir, { recursive: true })
      child = await spawnServer(port, dir)
    }
  }
}

/** A Redis Cluster of `size` masters, no replicas. */
export interface TestCluster {
  nodes: Array<{ host: string, port: number }>
  stop: () => Promise<void>
}

/** Starts `size` cluster-enabled servers and joins them into one cluster with every slot served. */
export async function startRedisCluster (size = 3): Promise<TestCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'fastify-login-cluster-'))
  const children: ChildProcess[] = []
  const stop = async (): Promise<void> => {
    await Promise.all(children.map(kill))
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    const ports: number[] = []
    for (let i = 0; i < size; i++) {
      const port = await freePort()
      ports.push(port)
      // Cluster nodes also listen on port + 10000 (the bus): the free-port probe does not check it, but spawn fails loudly if it is taken.
      children.push(await spawnServer(port, dir, ['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`)]))
    }
    await run('redis-cli', ['--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', '0', '--cluster-yes'], { timeout: 30_000 })
    for (const port of ports) {
      await until(`cluster_state:ok on ${port}`, 20_000, async () => (await cli(port, 'CLUSTER', 'INFO')).includes('cluster_state:ok'))
    }
    return { nodes: ports.map((port) => ({ host: '127.0.0.1', port })), stop }
  } catch (err) {
    await stop()
    throw err
  }
}

/** Resolves once `client` is connected: RedisStore fails fast before that, by design. */
export async function connected (client: { status: string, once: (event: 'ready', listener: () => void) => unknown }): Promise<void> {
  if (client.status !== 'ready') await new Promise<void>((resolve) => client.once('ready', resolve))
}
