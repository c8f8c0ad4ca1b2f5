/*
 * examples/typescript type-checks, strict (NodeNext, exactOptionalPropertyTypes,
 * noUncheckedIndexedAccess), against the built package as an app sees it:
 * 'fastify-login' and 'fastify-login/redis' by package name, resolved to dist/.
 * Needs `npm run build` (as `npm test` does first).
 */
import { execFile } from 'node:child_process'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'

const run = promisify(execFile)
const ROOT = resolve(__dirname, '..')
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')

t.setTimeout(240_000)

t.test('the TypeScript example app compiles against dist/', async (t) => {
  const { code, stdout } = await run(process.execPath, [TSC, '-p', join(ROOT, 'examples', 'tsconfig.json'), '--listFiles'], { cwd: ROOT, timeout: 200_000 })
    .then(({ stdout }) => ({ code: 0, stdout }), (err: { code?: number, stdout?: string }) => ({ code: err.code, stdout: err.stdout ?? '' }))
  const lines = stdout.split('\n')
  t.same(lines.filter((line) => line.includes('error TS')), [], 'no type errors')
  t.equal(code, 0, 'tsc exits 0')
  t.ok(lines.includes(join(ROOT, 'dist', 'esm', 'index.d.ts')), "'fastify-login' is dist/esm/index.d.ts")
  t.ok(lines.includes(join(ROOT, 'dist', 'esm', 'redis', 'index.d.ts')), "'fastify-login/redis' is dist/esm/redis/index.d.ts")
  t.notOk(lines.some((file) => file.startsWith(join(ROOT, 'lib') + '/')), 'does not read the sources in lib/')
})
