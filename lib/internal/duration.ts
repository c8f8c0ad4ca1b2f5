import { fail } from './option-checks.js'

const UNIT_SECONDS: Record<string, number> = {
  s: 1,
  m: 60,
  h: 3600,
  d: 86400,
  w: 604800
}

const DURATION_PATTERN = /^(\d{1,9})\s*([smhdw])$/
// 100 years. Longer values are mistakes, and past about 270,000 years the
// cookie's Expires date no longer exists, so logins would fail with a 500.
const MAX_SECONDS = 100 * 365 * 86400

/**
 * Turns a duration into whole seconds.
 *
 * Accepts a positive integer number of seconds or a string such as `'90s'`,
 * `'15m'`, `'12h'`, `'30d'` or `'2w'`, up to 100 years. Anything else (zero,
 * negative, fractional, NaN, an unknown unit, too long) returns `undefined`, so
 * the caller can raise an error that names the option.
 *
 * @example
 * parseDuration('30d') // 2592000
 * parseDuration(3600)  // 3600
 */
export function parseDuration (value: unknown): number | undefined {
  if (typeof value === 'number') {
    return Number.isSafeInteger(value) && value > 0 && value <= MAX_SECONDS ? value : undefined
  }
  if (typeof value !== 'string') return undefined
  const match = DURATION_PATTERN.exec(value.trim())
  if (match === null) return undefined
  const seconds = Number(match[1]) * (UNIT_SECONDS[match[2] as string] as number)
  return seconds > 0 && seconds <= MAX_SECONDS ? seconds : undefined
}

const MINUTE = 60
const HOUR = 3600
const DAY = 86400

/**
 * The longest value of each duration option, in seconds (README, "Durations").
 * Past these a value is a mistake, most often milliseconds taken for seconds:
 * fast-jwt, @fastify/rate-limit and cookie `maxAge` in Node count in ms.
 */
export const DURATION_MAX = {
  /** Browsers cap a cookie's lifetime at 400 days (RFC 6265bis). */
  cookie: 400 * DAY,
  idleTimeout: 30 * DAY,
  touchInterval: DAY,
  freshFor: 30 * DAY,
  accessToken: DAY,
  refreshToken: 365 * DAY,
  /** A longer grace would let a stolen, spent token pass for a retry. */
  grace: 5 * MINUTE,
  leeway: 5 * MINUTE,
  notBefore: DAY,
  throttle: DAY,
  /** A user changed elsewhere is seen by a process only after its cached copy expires. */
  userCache: MINUTE
} as const

const HUMAN_UNITS: Array<[string, number]> = [['day', DAY], ['hour', HOUR], ['minute', MINUTE], ['second', 1]]

/** `seconds` in words: 900000 → '10 days 10 hours'. */
function inWords (seconds: number): string {
  const parts: string[] = []
  let rest = seconds
  for (const [unit, size] of HUMAN_UNITS) {
    const count = Math.floor(rest / size)
    rest -= count * size
    if (count > 0) parts.push(`${count} ${unit}${count === 1 ? '' : 's'}`)
  }
  return parts.join(' ')
}

/** `seconds` as the duration string of its largest whole unit: 900 → '15m', 7200 → '2h', 1209600 → '14d'. */
function asString (seconds: number): string {
  for (const [unit, size] of [['d', DAY], ['h', HOUR], ['m', MINUTE]] as const) {
    if (seconds % size === 0) return `${seconds / size}${unit}`
  }
  return `${seconds}s`
}

/**
 * Numbers are seconds, and milliseconds are the usual mistake: 900000 (15
 * minutes in ms) would be a 10-day token, silently. Since nearly every
 * duration written in ms is a multiple of 1000, such a number (1000 or more)
 * is refused whatever its size: the same digits read as seconds and as ms
 * are both plausible, so the app writes a string instead (`'250h'`, `'15m'`),
 * which says its unit. Any value is refused past the option's maximum.
 */
function checkedSeconds (seconds: number, value: unknown, name: string, max: number): number {
  const asMs = typeof value === 'number' && seconds >= 1000 && seconds % 1000 === 0 ? seconds / 1000 : undefined
  const hint = asMs === undefined || asMs > max ? '' : `; did you mean '${asString(asMs)}' (${seconds} ms)?`
  const words = typeof value === 'number' ? `: numbers are seconds, and ${seconds} is ${inWords(seconds)}` : ''
  if (seconds > max) fail(`${name} must be at most ${inWords(max)} ('${asString(max)}')${words}${hint}`)
  if (asMs !== undefined) {
    fail(`${name}${words}, but it looks like milliseconds${hint} To mean seconds, write it as a string: '${asString(seconds)}'`)
  }
  return seconds
}

/**
 * A duration option in seconds: `fallback` when absent, FST_LOGIN_INVALID_OPTION
 * naming `name` when invalid, above `max` (seconds; see DURATION_MAX), or a
 * number that looks like milliseconds (checkedSeconds). The one validator of
 * every duration option, so the rule is the same everywhere.
 */
export function durationOption (value: unknown, name: string, fallback: number, max: number): number {
  if (value === undefined) return fallback
  const seconds = parseDuration(value)
  if (seconds === undefined) fail(`${name} must be a positive whole number of seconds or a string like '30d', at most ${inWords(max)}`)
  return checkedSeconds(seconds, value, name, max)
}

/**
 * A duration that may be zero (`rememberMe.reuseGrace`, `jwt.refreshReuseGrace`,
 * `jwt.leeway`, `jwt.notBefore`): like durationOption, and `0` (or `'0s'`)
 * turns it off.
 */
export function graceOption (value: unknown, name: string, fallback: number, max: number): number {
  if (value === 0 || (typeof value === 'string' && /^0+\s*[smhdw]$/.test(value.trim()))) return 0
  return durationOption(value, name, fallback, max)
}
