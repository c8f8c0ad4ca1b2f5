// Checks the package as npm would publish it (run after `npm run build`):
// - @arethetypeswrong/cli on the packed tarball: the types match the code for
//   every resolution mode (node10, node16 from CommonJS and from ESM, bundler);
// - publint on the same tarball: exports, files and formats, suggestions included;
// - no `any` in the published declarations (dist/**/*.d.ts): an app must get
//   `unknown` where nothing is known, never a type that lets anything through.
// Exits 1 with the problems printed when one fails.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { publint } from 'publint'
import { formatMessage } from 'publint/utils'
import { anyTypesIn } from './no-any.mjs'

const problems = []
const dir = mkdtempSync(join(tmpdir(), 'fastify-login-pack-'))
try {
  const npm = process.env.npm_execpath
  const packArgs = ['pack', '--silent', '--pack-destination', dir]
  const name = (npm === undefined
    ? execFileSync('npm', packArgs, { encoding: 'utf8' })
    : execFileSync(process.execPath, [npm, ...packArgs], { encoding: 'utf8' })).trim().split('\n').pop()
  const tarball = join(dir, name)

  // The package's bin (its `exports` do not include the CLI file).
  const attw = resolve('node_modules/@arethetypeswrong/cli/dist/index.js')
  try {
    // No --ignore-rules: every resolution mode must be clean.
    execFileSync(process.execPath, [attw, '--pack', tarball, '--format', 'table-flipped', '--no-color'], { encoding: 'utf8' })
  } catch (err) {
    problems.push(`attw:\n${err.stdout}${err.stderr}`)
  }

  const pkg = JSON.parse(readFileSync('package.json', 'utf8'))
  const buffer = readFileSync(tarball)
  const { messages } = await publint({ pack: { tarball: buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength) }, level: 'suggestion', strict: true })
  for (const message of messages) problems.push(`publint ${message.type}: ${formatMessage(message, pkg, { color: false })}`)
} finally {
  rmSync(dir, { recursive: true, force: true })
}

for (const found of anyTypesIn('dist')) problems.push(`\`any\` in a published declaration: ${found}`)

if (problems.length > 0) {
  console.error(problems.join('\n\n'))
  process.exit(1)
}
console.log('package: attw, publint and the no-`any` check are clean')
