/*
 * The built package (dist/), as apps consume it: require() and import by
 * package name in child processes, and TypeScript apps in both module modes.
 * `npm test` builds first; when dist/ is missing this file builds it once.
 * The fixtures live inside the repository, so 'fastify-login' resolves by
 * self-reference through package.json's `exports`, as it would from node_modules.
 * Only `node10` resolution, which knows neither `exports` nor self-reference,
 * needs the package under a node_modules folder: a temporary one links to it.
 */
import { execFile } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import t, { type Test } from 'tap'

const run = promisify(execFile)
const ROOT = resolve(__dirname, '..')
const FIXTURES = join(ROOT, 'test', 'fixtures')
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')
const BUILT = ['dist/cjs/main.js', 'dist/cjs/main.d.ts', 'dist/cjs/index.d.ts', 'dist/esm/index.js', 'dist/esm/index.d.ts',
  'dist/cjs/testing/index.js', 'dist/cjs/testing/index.d.ts', 'dist/esm/testing/index.js', 'dist/esm/testing/index.d.ts']

// Type-checking against Fastify's declarations takes a while on a busy machine.
t.setTimeout(300_000)

t.before(async () => {
  if (!BUILT.every((file) => existsSync(join(ROOT, file)))) {
    await run(process.execPath, [join(ROOT, 'scripts', 'build.mjs')], { cwd: ROOT })
    return
  }
  const built = statSync(join(ROOT, 'dist/cjs/main.js')).mtimeMs
  const stale = readdirSync(join(ROOT, 'lib'), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts') && statSync(join(ROOT, 'lib', file)).mtimeMs > built)
  if (stale.length > 0) t.comment(`dist/ is older than lib/${stale[0]}: run \`npm run build\` to test the current sources`)
})

/** Runs a consumer script with node and returns what it printed as JSON. */
async function consumer (script: string): Promise<any> {
  const { stdout } = await run(process.execPath, [join(FIXTURES, script)], { cwd: ROOT, timeout: 60_000 })
  return JSON.parse(stdout)
}

/** What both module formats must do the same way, once the plugin is registered. */
function assertWorkingApp (t: Test, result: any): void {
  t.equal(result.typeofExport, 'function', 'the export is the plugin function')
  t.equal(result.namedIsPlugin, true, 'the named export fastifyLogin is the same plugin')
  t.equal(result.pluginName, 'fastify-login', 'fastify-plugin metadata is there')
  t.equal(result.defaultIsPlugin, true, '.default is the plugin (what compiled ES module code reads)')
  t.same(result.named, {
    safeNextUrl: true,
    loginUrlWithNext: '/login?next=%2Fx',
    parseDuration: 3600,
    errors: ['UnauthorizedError', 'FreshLoginRequiredError', 'InvalidOptionError', 'InvalidUserError', 'NoSessionError']
  }, 'named exports work')
  t.same(result.login, { status: 200, body: { ok: true }, cookies: ['__Host-remember_token', '__Host-session'] }, 'reply.login() sets the session and remember cookies')
  t.same(result.me, { status: 200, body: { name: 'alice' } }, 'the login cookie opens a loginRequired route')
  t.same(result.helper, { status: 200, body: { name: 'alice' } }, "loginCookie() from 'fastify-login/testing' opens it too")
  t.same(result.rememberHelper, { status: 200, body: { name: 'alice' } }, 'so does rememberCookie()')
  t.same(result.testingExports, ['loginCookie', 'rememberCookie', 'runStoreContract'], "'fastify-login/testing' exports the two helpers and the store contract")
  t.equal(result.deprecatedAreSame, true, 'the deprecated main-entry loginCookie and rememberCookie are the same functions')
  t.same(result.crossFormat, { sameCopy: true, status: 200, body: { name: 'alice' } },
    "the other module format's helpers are the same functions (one implementation) and work on this app")
  t.equal(result.sameModule, true, 'import and require give the same plugin and the same named exports')
  t.equal(result.anonymous, 401, 'without a cookie the route is refused')
  t.same(result.redisExports, ['RedisStore', 'userTag'], "'fastify-login/redis' exports the store and userTag")
  t.same(result.registrationError, { code: 'FST_LOGIN_INVALID_OPTION', isInvalidOption: true }, 'bad options fail registration with the exported error class')
}

t.test('require() gives the CommonJS build, with the plugin as module.exports', async (t) => {
  const result = await consumer('consumer.cjs')
  t.equal(result.resolved, join(ROOT, 'dist', 'cjs', 'main.js'))
  t.equal(result.resolvedTesting, join(ROOT, 'dist', 'cjs', 'testing', 'index.js'))
  t.equal(result.resolvedRedis, join(ROOT, 'dist', 'cjs', 'redis', 'index.js'))
  t.same(result.packageJson, { name: 'fastify-login' }, "'fastify-login/package.json' is exported")
  t.equal(result.deepImport, 'ERR_PACKAGE_PATH_NOT_EXPORTED', 'files inside dist/ are not reachable by path')
  assertWorkingApp(t, result)
})

t.test('import gives the ES module build, with the plugin as default export', async (t) => {
  const result = await consumer('consumer.mjs')
  t.equal(result.resolved, 'file://' + join(ROOT, 'dist', 'esm', 'index.js'))
  t.equal(result.resolvedTesting, 'file://' + join(ROOT, 'dist', 'esm', 'testing', 'index.js'))
  t.equal(result.resolvedRedis, 'file://' + join(ROOT, 'dist', 'esm', 'redis', 'index.js'))
  assertWorkingApp(t, result)
})

t.test("the Redis store's declarations do not import ioredis (an optional peer)", async (t) => {
  for (const build of ['cjs', 'esm']) {
    const dir = join(ROOT, 'dist', build, 'store')
    const declarations = readdirSync(dir).filter((file) => file.startsWith('redis') && file.endsWith('.d.ts'))
    t.ok(declarations.length >= 4, `dist/${build}/store has the Redis declarations`)
    // Comments aside: the TSDoc example shows an app importing ioredis.
    const code = (file: string): string => readFileSync(join(dir, file), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '')
    for (const file of declarations) t.notMatch(code(file), /from ['"]ioredis['"]|import\(['"]ioredis['"]\)/, `dist/${build}/store/${file}`)
  }
})

interface TscResult { code: number | undefined, stdout: string }

/** `tsc -p <project> --listFiles`; never rejects. */
async function typeCheck (project: string): Promise<TscResult> {
  return run(process.execPath, [TSC, '-p', project, '--listFiles'], { cwd: ROOT, timeout: 240_000 })
    .then(({ stdout }) => ({ code: 0, stdout }), (err: { code?: number, stdout?: string }) => ({ code: err.code, stdout: err.stdout ?? '' }))
}

/**
 * The ts-node10 fixture in a temporary folder whose node_modules links to this
 * package (and to the fastify and @types it needs), then type-checked.
 */
async function typeCheckNode10 (): Promise<TscResult> {
  const dir = mkdtempSync(join(tmpdir(), 'fastify-login-node10-'))
  // On the file's own test: the subtest that starts the type-checks may end first.
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  cpSync(join(FIXTURES, 'ts-node10'), dir, { recursive: true })
  mkdirSync(join(dir, 'node_modules'))
  symlinkSync(ROOT, join(dir, 'node_modules', 'fastify-login'), 'junction')
  symlinkSync(join(ROOT, 'node_modules', 'fastify'), join(dir, 'node_modules', 'fastify'), 'junction')
  symlinkSync(join(ROOT, 'node_modules', '@types'), join(dir, 'node_modules', '@types'), 'junction')
  return typeCheck(dir)
}

type Fixture = 'ts-cjs' | 'ts-esm' | 'ts-node10'

// The fixtures are type-checked at once: each takes seconds.
let typeChecks: Record<Fixture, Promise<TscResult>> | undefined

const FIXTURE_CASES: Array<[Fixture, string, 'cjs' | 'esm']> = [
  ['ts-cjs', 'compiled as CommonJS', 'cjs'],
  ['ts-esm', 'compiled as an ES module', 'esm'],
  ['ts-node10', "with moduleResolution 'node10' (types and typesVersions, no exports)", 'cjs']
]

for (const [fixture, how, build] of FIXTURE_CASES) {
  const other = build === 'cjs' ? 'esm' : 'cjs'
  t.test(`TypeScript app ${how} type-checks against dist/${build}`, async (t) => {
    typeChecks ??= {
      'ts-cjs': typeCheck(join(FIXTURES, 'ts-cjs')),
      'ts-esm': typeCheck(join(FIXTURES, 'ts-esm')),
      'ts-node10': typeCheckNode10()
    }
    const result = await typeChecks[fixture]
    const files = result.stdout.split('\n')
    t.same(files.filter((line) => line.includes('error TS')), [], 'no type errors (the fixture also expects some errors)')
    t.equal(result.code, 0, 'tsc exits 0')
    t.ok(files.includes(join(ROOT, 'dist', build, 'index.d.ts')), `uses dist/${build}/index.d.ts`)
    // CommonJS: main.d.ts (`export =`) describes module.exports; it re-exports index.d.ts.
    if (build === 'cjs') t.ok(files.includes(join(ROOT, 'dist', 'cjs', 'main.d.ts')), 'uses dist/cjs/main.d.ts')
    t.ok(files.includes(join(ROOT, 'dist', build, 'testing', 'index.d.ts')), `uses dist/${build}/testing/index.d.ts`)
    t.notOk(files.some((file) => file.startsWith(join(ROOT, 'dist', other) + '/')), `does not mix in dist/${other}`)
    t.notOk(files.some((file) => file.startsWith(join(ROOT, 'lib') + '/')), 'does not read the sources in lib/')
  })
}
