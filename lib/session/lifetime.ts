import { DURATION_MAX, durationOption } from '../internal/duration.js'
import { fail, optionalFunction } from '../internal/option-checks.js'
import { MemoryStore } from '../store/memory.js'
import type { FastifyLoginOptions, LoginStore, LoginUser } from '../types/index.js'

/*
 * The top-level options that decide how long a login session lives, and
 * where it lives. Durations become milliseconds of the plugin's clock here;
 * `false` (turned off) becomes null.
 */

/** Session lifetime settings after validation. */
export interface LifetimeSettings {
  /** The store holding session records; null with `store: false` (the record rides in the cookie). */
  store: LoginStore | null
  /**
   * Where refresh-token families, token revocations and login-failure
   * counters live: the store, or with `store: false` a MemoryStore of this
   * process (those need server-side state; the session does not).
   */
  stateStore: LoginStore
  clock: () => number
  idleTimeoutMs: number | null
  absoluteTimeoutMs: number | null
  touchIntervalMs: number
  freshForMs: number | null
  authVersion: ((user: LoginUser) => string) | undefined
}

// ASVS 4.0.3 level 2 (3.3.2: re-authentication within 12 hours; 30 minutes of inactivity).
const DEFAULT_IDLE = 30 * 60
const DEFAULT_ABSOLUTE = 12 * 3600
const DEFAULT_TOUCH = 60
const DEFAULT_FRESH = 3600

function timeout (value: unknown, name: string, fallback: number, max: number): number | null {
  if (value === false) return null
  return durationOption(value, name, fallback, max) * 1000
}

const STORE_METHODS = ['get', 'set', 'delete', 'compareAndSet', 'increment', 'keysOfUser', 'deleteUser'] as const

/**
 * The `store` option: a LoginStore (checked for every method now, rather
 * than failing on the first request that needs the missing one), `false`, or
 * by default a MemoryStore on the plugin's clock.
 */
function storeOption (value: unknown, clock: () => number): LoginStore | null {
  if (value === false) return null
  if (value === undefined) return new MemoryStore({ clock })
  if (value === null || typeof value !== 'object') fail('store must be a LoginStore (such as new MemoryStore() or a RedisStore), or false')
  const missing = STORE_METHODS.filter((method) => typeof (value as Record<string, unknown>)[method] !== 'function')
  if (missing.length > 0) fail(`store is missing the LoginStore method${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`)
  return value as LoginStore
}

/** Validates the lifetime options (`store`, timeouts, `touchInterval`, `freshFor`, `clock`, `authVersion`). */
export function lifetimeSettings (options: FastifyLoginOptions): LifetimeSettings {
  // Date.now read at each call, not captured: a test (or app) that replaces Date.now moves this clock too.
  const clock = optionalFunction(options.clock, 'clock') ?? (() => Date.now())
  const idleTimeoutMs = timeout(options.idleTimeout, 'idleTimeout', DEFAULT_IDLE, DURATION_MAX.idleTimeout)
  const touchIntervalMs = durationOption(options.touchInterval, 'touchInterval', DEFAULT_TOUCH, DURATION_MAX.touchInterval) * 1000
  // A touch interval as long as the idle timeout would let an active session idle out between two writes.
  if (idleTimeoutMs !== null && touchIntervalMs >= idleTimeoutMs) {
    fail(`touchInterval (${touchIntervalMs / 1000} s) must be shorter than idleTimeout (${idleTimeoutMs / 1000} s)`)
  }
  const store = storeOption(options.store, clock)
  return {
    store,
    stateStore: store ?? new MemoryStore({ clock }),
    clock,
    idleTimeoutMs,
    absoluteTimeoutMs: timeout(options.absoluteTimeout, 'absoluteTimeout', DEFAULT_ABSOLUTE, DURATION_MAX.cookie),
    touchIntervalMs,
    freshForMs: timeout(options.freshFor, 'freshFor', DEFAULT_FRESH, DURATION_MAX.freshFor),
    authVersion: optionalFunction(options.authVersion, 'authVersion')
  }
}
