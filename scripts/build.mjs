// Builds the package: CommonJS in dist/cjs, ES modules in dist/esm, each with
// its own declarations, and a CommonJS entry whose module.exports is the plugin
// itself (so `require('fastify-login')` works like other Fastify plugins).
// The subpath 'fastify-login/testing' is tsc's own dist/{cjs,esm}/testing/index.js:
// it has no default export, so it needs no such entry.
import { execFileSync } from 'node:child_process'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')

rmSync('dist', { recursive: true, force: true })
for (const project of ['tsconfig.json', 'tsconfig.esm.json']) {
  execFileSync(process.execPath, [tsc, '-p', project], { stdio: 'inherit' })
}
mkdirSync('dist/cjs', { recursive: true })
writeFileSync('dist/cjs/package.json', '{ "type": "commonjs" }\n')
writeFileSync('dist/esm/package.json', '{ "type": "module" }\n')
writeFileSync('dist/cjs/main.js', `'use strict'
// module.exports is the plugin, with every named export (and .default) on it.
const api = require('./index.js')
module.exports = Object.assign(api.default, api)
`)
