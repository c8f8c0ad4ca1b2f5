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

/** A duration option in seconds: `fallback` when absent, FST_LOGIN_INVALID_OPTION naming `name` when invalid. */
export function durationOption (value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback
  const seconds = parseDuration(value)
  if (seconds === undefined) fail(`${name} must be a positive whole number of seconds or a string like '30d', at most 100 years`)
  return seconds
}

/**
 * A grace period in seconds (`rememberMe.reuseGrace`, `jwt.refreshReuseGrace`):
 * like durationOption, and `0` (or `'0s'`) turns the grace off.
 */
export function graceOption (value: unknown, name: string, fallback: number): number {
  if (value === 0 || (typeof value === 'string' && /^0+\s*[smhdw]$/.test(value.trim()))) return 0
  return durationOption(value, name, fallback)
}
