/*
 * A session-only app loads neither @fastify/jwt nor fast-jwt: the JWT side of
 * the built package (dist/) is required only when the `jwt` option is given.
 * Each case runs in a fresh Node process, through the CommonJS and the ES
 * module entry. Needs `npm run build` (as `npm test` does first).
 */
import { execFile } from 'node:child_process'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'

const run = promisify(execFile)
const ROOT = resolve(__dirname, '..')

async function report (script: string, mode: 'session' | 'jwt'): Promise<{ status: number, loaded: string[] }> {
  const { stdout } = await run(process.execPath, [join(ROOT, 'test', 'fixtures', script), mode], { cwd: ROOT, timeout: 60_000 })
  return JSON.parse(stdout)
}

for (const script of ['lazy-jwt.cjs', 'lazy-jwt.mjs']) {
  t.test(`${script}: a session-only app never loads the JWT libraries`, async (t) => {
    t.same(await report(script, 'session'), { status: 401, loaded: [] })
  })
  t.test(`${script}: an app with \`jwt\` loads them`, async (t) => {
    t.same(await report(script, 'jwt'), { status: 401, loaded: ['@fastify/jwt', 'fast-jwt'] })
  })
}
