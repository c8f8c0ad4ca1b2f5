// The tap reporter of `npm test` (package.json "tap"."reporter"): one line per
// test file, and the failures in full.
//
// tap hands a reporter the TAP of the whole run, in which each test file is a
// subtest, and waits for it when the file ends. For a file that passed, this
// prints one line: `ok  <file>  (<asserts>, <seconds>)`. For a file that
// failed, it prints the file's TAP without what passed: every failed
// assertion with its diagnostics (diff, stack, source), inside the subtests
// that lead to it, their comments and anything the test printed; and, at the
// end, the failed files again. TODO and SKIP points are kept too, so they
// never pass unnoticed. Plain text, no terminal codes: it reads the same in a
// CI log. `npx tap --reporter=tap` shows the raw TAP instead.

import { Transform } from 'node:stream'
import { StringDecoder } from 'node:string_decoder'

const POINT = /^(not )?ok \d+(?: - (.*?))?(?: # (.*))?$/
const DIRECTIVE = /^(?:TODO|SKIP)\b/i

const indentOf = (line) => line.length - line.trimStart().length

/**
 * The lines of one file's TAP to show: those of the failed points and the
 * subtests around them, their diagnostics, comments and other output; not
 * passing points (nor everything inside a passing subtest), plans or blank
 * lines. Also counts the assertions that passed.
 */
function failureLines (lines) {
  const hidden = new Array(lines.length).fill(false)
  const kept = new Array(lines.length).fill(false) // TODO and SKIP points, even inside a passing subtest
  const open = [] // the "# Subtest:" headers not closed yet: { indent, start }
  let passed = 0
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]
    const text = line.trimStart()
    const indent = indentOf(line)
    if (text === '' || /^1\.\.\d+/.test(text) || /^TAP version \d+$/.test(text)) {
      hidden[i] = true
      continue
    }
    if (text.startsWith('# Subtest: ')) {
      open.push({ indent, start: i })
      continue
    }
    const point = POINT.exec(text)
    if (point === null) continue
    // The point's YAML diagnostics: "---" two spaces in, up to the "..." there.
    let end = i
    if (lines[i + 1]?.trimStart() === '---' && indentOf(lines[i + 1]) === indent + 2) {
      end = i + 1
      while (end + 1 < lines.length && !(lines[end].trimStart() === '...' && indentOf(lines[end]) === indent + 2)) end++
    }
    const closes = open.length > 0 && open[open.length - 1].indent === indent
    const start = closes ? open.pop().start : i
    const directive = DIRECTIVE.test(point[3] ?? '')
    if (directive) kept[i] = true
    if (point[1] === undefined && !directive) {
      for (let j = start; j <= end; j++) hidden[j] = true
      if (!closes) passed++
    }
    i = end
  }
  return { shown: lines.filter((_, i) => !hidden[i] || kept[i]), passed }
}

export default class FileLinesReporter extends Transform {
  #decoder = new StringDecoder('utf8')
  #partial = ''
  #file = null // the lines of the test file being read, or null between files
  #after = null // 'point' once #file has its top-level point, 'yaml' inside that point's YAML block
  #results = [] // { name, ok }

  constructor () {
    super({ decodeStrings: true, encoding: 'utf8' })
  }

  _transform (chunk, _encoding, callback) {
    this.#lines(this.#partial + this.#decoder.write(chunk))
    callback()
  }

  _flush (callback) {
    const rest = this.#partial + this.#decoder.end()
    if (rest !== '') this.#line(rest)
    if (this.#after !== null) this.#fileDone()
    if (this.#file !== null) this.push(this.#file.join('\n') + '\n') // cut short: show all of it
    const failed = this.#results.filter((r) => !r.ok)
    const files = this.#results.length
    this.push(`# ${files} test file${files === 1 ? '' : 's'}: ${files - failed.length} passed` +
      (failed.length === 0 ? '\n' : `, ${failed.length} failed:\n${failed.map((r) => `#   ${r.name}\n`).join('')}`))
    // The plain closing line that CI tools read, counting test files.
    this.push(`tap: ${files - failed.length} passed, ${failed.length} failed\n`)
    callback()
  }

  #lines (text) {
    const lines = text.split('\n')
    this.#partial = lines.pop()
    for (const line of lines) this.#line(line)
  }

  #line (line) {
    if (this.#after === 'yaml') {
      this.#file.push(line)
      if (line === '  ...') this.#fileDone()
      return
    }
    if (this.#after === 'point') {
      if (line === '  ---') {
        this.#file.push(line)
        this.#after = 'yaml'
        return
      }
      this.#fileDone()
    }
    if (this.#file === null) {
      if (line.startsWith('# Subtest: ')) this.#file = [line]
      else if (!/^(TAP version \d+|1\.\.\d+.*|\s*)$/.test(line)) this.push(line + '\n') // totals, bail outs, other output
      return
    }
    this.#file.push(line)
    if (POINT.test(line)) this.#after = 'point' // the file's own point: only its YAML block may follow
  }

  #fileDone () {
    const lines = this.#file
    const [, not, name = '(unnamed)', directive = ''] = POINT.exec(lines.findLast((l) => POINT.test(l)))
    this.#file = null
    this.#after = null
    const ok = not === undefined
    const time = /time=([\d.]+)ms/.exec(directive)
    const ms = time === null ? null : Number(time[1])
    const seconds = ms === null ? '' : ms < 1000 ? `, ${Math.round(ms)} ms` : `, ${(ms / 1000).toFixed(1)} s`
    const { shown, passed } = failureLines(lines)
    this.#results.push({ name, ok })
    if (ok) {
      const extra = directive.replace(/\s*time=[\d.]+ms\s*/, '')
      this.push(`ok      ${name}  (${passed} assert${passed === 1 ? '' : 's'}${seconds})${extra === '' ? '' : ` # ${extra}`}\n`)
      // A TODO or SKIP inside a passing file is still shown.
      for (const l of shown) if (POINT.test(l.trimStart())) this.push(`  ${l}\n`)
    } else {
      // Without the file's "# Subtest:" line, two spaces in (its own TAP is four in).
      const body = shown.slice(1).map((l) => `  ${l.startsWith('    ') ? l.slice(4) : l}\n`).join('')
      this.push(`not ok  ${name}  (${passed} passed${seconds})\n${body}`)
    }
  }
}
