import { InvalidOptionError } from '../errors.js'

/*
 * The validators every option object shares (top level, `session`,
 * `rememberMe`, `jwt`, `jwt.cookies`, ...), so that one rule means the same
 * thing everywhere: a cookie path, `sameSite: 'none'`, a secret, an unknown
 * key. Each throws FST_LOGIN_INVALID_OPTION naming the option at fault, while
 * the plugin registers: a mistake stops `app.ready()` instead of weakening a
 * default at run time.
 */

/** Throws FST_LOGIN_INVALID_OPTION with `message`. */
export function fail (message: string): never {
  throw new InvalidOptionError(message)
}

/** `value` is a plain object (not null, not an array), or the option `name` is refused; `orElse` names what else it may be. */
export function objectOption (value: unknown, name: string, orElse = ''): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail(`${name} must be an object${orElse}`)
  return value as Record<string, unknown>
}

/**
 * Refuses keys of `value` that are not in `known`, naming the closest known
 * one: a misspelt `loginURL` would otherwise be ignored in silence, and the
 * app would run with the default it meant to change.
 */
export function onlyKnownKeys (value: object, known: readonly string[], where: string): void {
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue
    const guess = closest(key, known)
    const prefix = where === '' ? '' : `${where}.`
    fail(`unknown option ${prefix}${key}${guess === undefined ? '' : `: did you mean ${prefix}${guess}?`}`)
  }
}

/** The candidate nearest to `name` (edit distance, ignoring case), if it is near enough to be a typo. */
function closest (name: string, candidates: readonly string[]): string | undefined {
  const lower = name.toLowerCase()
  let best: string | undefined
  let bestDistance = Infinity
  for (const candidate of candidates) {
    const distance = editDistance(lower, candidate.toLowerCase())
    if (distance < bestDistance) {
      best = candidate
      bestDistance = distance
    }
  }
  return bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined
}

function editDistance (a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1)
      current[j] = Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, substitution)
    }
    previous = current
  }
  return previous[b.length] as number
}

export function optionalFunction<T> (value: T | undefined, name: string): T | undefined {
  if (value !== undefined && typeof value !== 'function') fail(`${name} must be a function`)
  return value
}

export function optionalString (value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string' || value === '') fail(`${name} must be a non-empty string`)
  return value
}

export function boolOption (value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') fail(`${name} must be a boolean`)
  return value
}

const HOW_TO_MAKE_A_SECRET = 'make one with `node -e "console.log(require(\'node:crypto\').randomBytes(32).toString(\'base64\'))"`'
const PRINTABLE = /^[\u0020-\u007e]+$/

/**
 * Refuses secret material that is visibly not random: a short pattern
 * repeated (`'x'.repeat(32)`, `'1234567890'` over and over), or too few
 * distinct values for what it is. Binary keys (32 random bytes hold about 30
 * distinct values) need 16; text (a passphrase, a UUID, hex, base64) needs 8,
 * which every usual random form clears with overwhelming probability while
 * `'aaaabbbbccccdddd…'` or `Buffer.alloc(32, 7)` do not. It is a tripwire for
 * placeholders, not a strength meter: `'my-super-secret-key'` passes it.
 */
export function randomLookingSecret (bytes: Buffer, name: string): void {
  const distinct = new Set(bytes).size
  const text = PRINTABLE.test(bytes.toString('latin1'))
  if (distinct < (text ? 8 : 16) || repeatsAPattern(bytes)) {
    fail(`${name} does not look random (${distinct} distinct ${text ? 'characters' : 'byte values'}): ${HOW_TO_MAKE_A_SECRET}`)
  }
}

/** Whether `bytes` is its own first `period` bytes repeated (the last repeat may be cut short). */
function repeatsAPattern (bytes: Buffer): boolean {
  for (let period = 1; period <= bytes.length / 2; period++) {
    let repeats = true
    for (let i = period; i < bytes.length && repeats; i++) repeats = bytes[i] === bytes[i - period]
    if (repeats) return true
  }
  return false
}

/** Secret material given as a string (its UTF-8 bytes) or a Buffer, at least `minBytes` long and random-looking. */
export function secretOption (value: unknown, name: string, minBytes: number): Buffer {
  const bytes = Buffer.isBuffer(value) ? value : typeof value === 'string' ? Buffer.from(value) : fail(`${name} must be a string or a Buffer`)
  if (bytes.length < minBytes) fail(`${name} must be at least ${minBytes} bytes: ${HOW_TO_MAKE_A_SECRET}`)
  randomLookingSecret(bytes, name)
  return bytes
}
