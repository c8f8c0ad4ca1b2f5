import { cookieAttributes, cookieName } from '../internal/cookie-options.js'
import { DURATION_MAX, durationOption } from '../internal/duration.js'
import { fail, objectOption, onlyKnownKeys, randomLookingSecret, secretOption } from '../internal/option-checks.js'
import type { SessionOptions } from '../types/index.js'

/*
 * The `session` option: what the plugin gives @fastify/secure-session when
 * it registers it, with this plugin's cookie defaults (HttpOnly, Secure,
 * SameSite=Lax, path /, and the `__Host-` prefix those allow).
 */

const SESSION_KEYS = ['key', 'secret', 'salt', 'cookieName', 'cookie', 'expiry'] as const
const SESSION_COOKIE_KEYS = ['domain', 'path', 'secure', 'sameSite', 'httpOnly', 'maxAge', 'expires', 'partitioned', 'priority'] as const
const MIN_SECRET_BYTES = 32
const SESSION_KEY_BYTES = 32

/**
 * The secret material of the session options, used to derive the remember
 * cookie's key when the app gives none: every session key (so rotating the
 * session keys rotates the remember keys too), or the secret plus salt.
 */
export function sessionSecrets (session: SessionOptions): Buffer[] {
  objectOption(session, 'session', ', or false')
  onlyKnownKeys(session, SESSION_KEYS, 'session')
  if (session.key !== undefined) {
    const keys = Array.isArray(session.key) ? session.key : [session.key]
    if (keys.length === 0) fail('session.key must not be an empty array')
    return keys.map((key, i) => {
      const bytes = typeof key === 'string' ? Buffer.from(key, 'base64') : Buffer.isBuffer(key) ? key : fail(`session.key[${i}] must be a string or a Buffer`)
      if (bytes.length !== SESSION_KEY_BYTES) {
        fail('session.key must be 32 bytes (a Buffer, or 44 characters of base64); make one with `npx @fastify/secure-session | base64` or read the raw file with `readFileSync(\'key\')`')
      }
      randomLookingSecret(bytes, keys.length === 1 ? 'session.key' : `session.key[${i}]`)
      return bytes
    })
  }
  if (session.secret !== undefined) {
    // Without a salt, secure-session would stretch every app's secret with
    // the same built-in salt; a salt of the app's own is required instead.
    const salt = typeof session.salt === 'string' || Buffer.isBuffer(session.salt) ? Buffer.from(session.salt) : undefined
    if (salt?.length !== 16) fail('session.salt (16 bytes) is required with session.secret')
    return [Buffer.concat([secretOption(session.secret, 'session.secret', MIN_SECRET_BYTES), salt])]
  }
  fail('session needs a key (32 bytes) or a secret (32+ bytes)')
}

/** The session cookie's attributes and name, validated by the rules every cookie of the plugin follows. */
export function sessionCookie (session: SessionOptions): { name: string, cookie: Record<string, unknown> } {
  objectOption(session, 'session', ', or false')
  const cookie = session.cookie === undefined ? {} : objectOption(session.cookie, 'session.cookie')
  onlyKnownKeys(cookie, SESSION_COOKIE_KEYS, 'session.cookie')
  const attributes = cookieAttributes(cookie, 'session.cookie')
  if (cookie.httpOnly !== undefined && typeof cookie.httpOnly !== 'boolean') fail('session.cookie.httpOnly must be a boolean')
  // Seconds, as @fastify/cookie counts them (Express's res.cookie counts ms): the duration rule catches 86400000.
  const maxAge = cookie.maxAge === undefined ? {} : { maxAge: durationOption(cookie.maxAge, 'session.cookie.maxAge', 0, DURATION_MAX.cookie) }
  return {
    name: cookieName(session.cookieName, 'session.cookieName', 'session', attributes),
    cookie: { httpOnly: true, ...cookie, ...attributes, ...maxAge }
  }
}

/** The options to give @fastify/secure-session. */
export function secureSessionOptions (session: SessionOptions, sessionName: string): Record<string, unknown> {
  sessionSecrets(session) // validates key / secret early, with our error messages
  const { name, cookie } = sessionCookie(session)
  const base = session.key !== undefined ? { key: session.key } : { secret: session.secret, salt: session.salt }
  return {
    ...base,
    sessionName,
    cookieName: name,
    expiry: durationOption(session.expiry, 'session.expiry', 86400, DURATION_MAX.cookie),
    cookie
  }
}
