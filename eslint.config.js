'use strict'

module.exports = require('neostandard')({
  ts: true,
  // The example app is written as TypeScript ES modules (.mts).
  filesTs: ['examples/**/*.mts'],
  ignores: ['dist/**', 'coverage/**', '.tap/**', 'bench/results/**', 'examples/.build/**']
})
