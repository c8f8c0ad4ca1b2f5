import { DURATION_MAX, durationOption } from '../internal/duration.js'
import { fail, objectOption, onlyKnownKeys } from '../internal/option-checks.js'
import type { LoginThrottleOptions } from '../types/index.js'

/** `loginThrottle` after validation, in milliseconds. */
export interface ThrottleSettings {
  /** Failures of one account within the window that start the backoff. */
  perAccount: number
  /** Failures from one client address within the window that start the backoff. */
  perAddress: number
  /** How long a failure counts, from the first failure of the window. */
  windowMs: number
  /** The longest delay the backoff reaches. */
  maxDelayMs: number
}

const THROTTLE_KEYS = ['perAccount', 'perAddress', 'window', 'maxDelay'] as const

// ASVS 4.0.3 2.2.1 asks for at most 100 failures an hour per account; these defaults stay well under it.
const DEFAULT_PER_ACCOUNT = 5
// An office or a mobile carrier puts many users behind one address: its limit is higher.
const DEFAULT_PER_ADDRESS = 50
const DEFAULT_WINDOW = 15 * 60
const DEFAULT_MAX_DELAY = 15 * 60
// A limit above this is no limit: most likely a typo (an extra zero or two).
const MAX_LIMIT = 100_000

function limitOption (value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1 || value > MAX_LIMIT) {
    fail(`${name} must be a whole number from 1 to ${MAX_LIMIT}`)
  }
  return value
}

/**
 * Validates `loginThrottle`: null when it is `false`, the defaults when it is
 * absent (throttling is on unless turned off, since `/auth` relies on it).
 *
 * @example
 * throttleSettings(undefined) // { perAccount: 5, perAddress: 50, windowMs: 900000, maxDelayMs: 900000 }
 * throttleSettings({ perAccount: 3, window: '1h' }) // { perAccount: 3, perAddress: 50, windowMs: 3600000, … }
 * throttleSettings(false) // null
 */
export function throttleSettings (value: LoginThrottleOptions | false | undefined): ThrottleSettings | null {
  if (value === false) return null
  const options = value === undefined ? {} : objectOption(value, 'loginThrottle', ' or false') as LoginThrottleOptions
  onlyKnownKeys(options, THROTTLE_KEYS, 'loginThrottle')
  return {
    perAccount: limitOption(options.perAccount, 'loginThrottle.perAccount', DEFAULT_PER_ACCOUNT),
    perAddress: limitOption(options.perAddress, 'loginThrottle.perAddress', DEFAULT_PER_ADDRESS),
    windowMs: durationOption(options.window, 'loginThrottle.window', DEFAULT_WINDOW, DURATION_MAX.throttle) * 1000,
    maxDelayMs: durationOption(options.maxDelay, 'loginThrottle.maxDelay', DEFAULT_MAX_DELAY, DURATION_MAX.throttle) * 1000
  }
}
