import { hash, timingSafeEqual } from 'node:crypto'
import { InvalidUserError } from '../errors.js'
import type { LifetimeSettings } from './lifetime.js'
import type { LoginUser } from '../types/index.js'

/*
 * Django's session auth hash: the app's `authVersion(user)` (a password
 * hash, a counter) is kept with each session, hashed, so a store dump or a
 * cookie never holds the password hash itself. When the loaded user's
 * version differs, the session was made with credentials that no longer
 * hold, and it ends.
 */

/** The hash stored for `user`, or null without the option. */
export function versionOf (lifetime: LifetimeSettings, user: LoginUser): string | null {
  if (lifetime.authVersion === undefined) return null
  const version = lifetime.authVersion(user)
  if (typeof version !== 'string') throw new InvalidUserError('authVersion(user) must return a string')
  return hash('sha256', version, 'base64url')
}

/** Whether a session stamped with `stored` still matches `user` (compared in constant time). */
export function versionMatches (lifetime: LifetimeSettings, stored: string | null, user: LoginUser): boolean {
  const current = versionOf(lifetime, user)
  if (current === null) return true
  if (stored === null || stored.length !== current.length) return false
  return timingSafeEqual(Buffer.from(stored), Buffer.from(current))
}
