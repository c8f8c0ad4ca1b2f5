import { cookieAttributes, cookieName, type CookieAttributes } from '../internal/cookie-options.js'
import { DURATION_MAX, durationOption, graceOption } from '../internal/duration.js'
import { boolOption, fail, objectOption, onlyKnownKeys, secretOption } from '../internal/option-checks.js'
import { deriveRememberKey } from './token.js'
import { graceKeys, type GraceKeys } from '../rotation/answer.js'
import { sessionSecrets } from '../session/options.js'
import type { RememberMeOptions, SessionOptions } from '../types/index.js'

/** Remember-me settings after validation. */
export interface RememberSettings {
  cookieName: string
  duration: number
  refreshEachRequest: boolean
  /** How long after a restore the token it replaced still leads to it (parallel tabs), in ms; 0: never. */
  reuseGraceMs: number
  keys: Buffer[]
  /** The server keys that seal a restore's answer for tabs within the grace (from the same material as `keys`). */
  graceKeys: GraceKeys
  cookie: CookieAttributes & { httpOnly: true }
  /** Strong session protection: tokens are bound to the client they were issued to. */
  bindToClient: boolean
  /** The plugin's clock: token expiry is checked against it. */
  clock: () => number
}

const REMEMBER_KEYS = ['cookieName', 'duration', 'path', 'domain', 'secure', 'sameSite', 'refreshEachRequest', 'key', 'reuseGrace'] as const
// ASVS 4.0.3 3.3.2 (level 1): re-authentication at least every 30 days. Flask-Login's default is 365.
const DEFAULT_REMEMBER_SECONDS = 30 * 86400
const DEFAULT_REUSE_GRACE = 30
const MIN_KEY_BYTES = 32

/** Validates `rememberMe`; null when it is off. `session` supplies the key material when `rememberMe.key` is absent. */
export function rememberSettings (options: RememberMeOptions | false | undefined, session: SessionOptions | undefined, bindToClient: boolean, clock: () => number): RememberSettings | null {
  if (options === false) return null
  const remember = options === undefined ? {} : objectOption(options, 'rememberMe', ' or false') as RememberMeOptions
  onlyKnownKeys(remember, REMEMBER_KEYS, 'rememberMe')

  let material: Buffer[]
  if (remember.key !== undefined) {
    const keys = Array.isArray(remember.key) ? remember.key : [remember.key]
    if (keys.length === 0) fail('rememberMe.key must not be an empty array')
    material = keys.map((key, i) => secretOption(key, `rememberMe.key[${i}]`, MIN_KEY_BYTES))
  } else if (session !== undefined) {
    material = sessionSecrets(session)
  } else {
    fail('rememberMe.key is required when the app registers @fastify/secure-session itself (or set rememberMe: false)')
  }

  const attributes = cookieAttributes(remember, 'rememberMe')
  return {
    cookieName: cookieName(remember.cookieName, 'rememberMe.cookieName', 'remember_token', attributes),
    duration: durationOption(remember.duration, 'rememberMe.duration', DEFAULT_REMEMBER_SECONDS, DURATION_MAX.cookie),
    refreshEachRequest: boolOption(remember.refreshEachRequest, 'rememberMe.refreshEachRequest', false),
    reuseGraceMs: graceOption(remember.reuseGrace, 'rememberMe.reuseGrace', DEFAULT_REUSE_GRACE, DURATION_MAX.grace) * 1000,
    keys: material.map(deriveRememberKey),
    graceKeys: graceKeys(material),
    cookie: { ...attributes, httpOnly: true },
    bindToClient,
    clock
  }
}
