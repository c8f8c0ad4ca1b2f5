import { hkdfSync } from 'node:crypto'
import sodium from 'sodium-native'
import { fillRandom, randomToken } from '../internal/random.js'
import type { RememberToken } from '../types/internal.js'

/*
 * The remember-me token. Flask-Login's is `id|HMAC(id)`: it never expires and
 * a stolen copy works until the secret changes (its issue #422). Ours is
 * `{ u: id, x: expiry, d: duration, n: series id, t: series secret }` sealed with XSalsa20-Poly1305
 * (libsodium's secretbox, the construction @fastify/secure-session uses for
 * the session cookie), so it is unreadable, cannot be forged or edited, and
 * the server refuses it after `x` whatever the browser does with the
 * cookie's own expiry. The 24-byte random nonce leaves no practical chance of
 * a repeat, and the key is derived for this cookie alone (HKDF, own `info`),
 * so a session cookie can never be passed off as a remember token.
 * libsodium opens a token in a fraction of what a Node cipher object costs
 * to build, and the restore path opens one on every remembered request.
 */

const NONCE_BYTES = sodium.crypto_secretbox_NONCEBYTES
const MAC_BYTES = sodium.crypto_secretbox_MACBYTES
const KEY_INFO = 'fastify-login remember-me v2'
// A real token is well under this; anything longer is refused before any crypto runs.
const MAX_TOKEN_LENGTH = 2048
const TOKEN_SHAPE = /^[A-Za-z0-9_-]+$/

export type { RememberToken }

/** Derives the 32-byte encryption key of the remember cookie from secret material. */
export function deriveRememberKey (material: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', material, Buffer.alloc(0), KEY_INFO, sodium.crypto_secretbox_KEYBYTES))
}

/**
 * 128 random bits, base64url: a remember-me series id (it names the device in
 * the store and stays for the series' life) or a series secret (replaced at
 * every restore; the store keeps only its hash).
 */
export function newRememberId (): string {
  return randomToken(16)
}

/** What a new remember cookie says. */
export interface RememberTokenFields {
  userId: string
  /** The series' lifetime in seconds, kept for `refreshEachRequest`. */
  duration: number
  /** When it expires, ms of the plugin's clock. */
  expiresAt: number
  identifier: string | undefined
  /** The series id. */
  id: string
  /** The series' current secret. */
  secret: string
}

/** Seals a token with the first key. */
export function sealRememberToken (keys: readonly Buffer[], fields: RememberTokenFields): string {
  const { userId, duration, expiresAt, identifier, id, secret } = fields
  const payload = { u: userId, x: Math.floor(expiresAt / 1000), d: duration, n: id, t: secret, ...(identifier === undefined ? {} : { i: identifier }) }
  const message = Buffer.from(JSON.stringify(payload), 'utf8')
  const sealed = Buffer.allocUnsafe(NONCE_BYTES + MAC_BYTES + message.length)
  const nonce = sealed.subarray(0, NONCE_BYTES)
  fillRandom(nonce)
  sodium.crypto_secretbox_easy(sealed.subarray(NONCE_BYTES), message, nonce, keys[0] as Buffer)
  return sealed.toString('base64url')
}

/**
 * Opens a token with any of the keys. Returns null for anything that is not a
 * token we issued and that is still valid: wrong encoding, tampered bytes,
 * unknown key, bad payload, or past its expiry.
 */
export function openRememberToken (keys: readonly Buffer[], token: string, now = Date.now()): RememberToken | null {
  if (token.length > MAX_TOKEN_LENGTH || !TOKEN_SHAPE.test(token)) return null
  const raw = Buffer.from(token, 'base64url')
  if (raw.length <= NONCE_BYTES + MAC_BYTES) return null
  const nonce = raw.subarray(0, NONCE_BYTES)
  const box = raw.subarray(NONCE_BYTES)
  const plain = Buffer.allocUnsafe(box.length - MAC_BYTES)
  for (const key of keys) {
    // Authentication failed with this key: try the next one.
    if (sodium.crypto_secretbox_open_easy(plain, box, nonce, key)) return parsePayload(plain.toString('utf8'), now)
  }
  return null
}

function parsePayload (plain: string, now: number): RememberToken | null {
  let data: unknown
  try {
    data = JSON.parse(plain)
  } catch {
    return null
  }
  if (data === null || typeof data !== 'object') return null
  const { u, x, d, i, n, t } = data as Record<string, unknown>
  if (typeof u !== 'string' || u === '' || !Number.isSafeInteger(x) || !Number.isSafeInteger(d)) return null
  // A token without a series id and secret (made before series existed) cannot rotate: refused.
  if ((i !== undefined && typeof i !== 'string') || !isRandomId(n) || !isRandomId(t)) return null
  if ((x as number) * 1000 <= now) return null
  return { userId: u, duration: d as number, identifier: i, id: n, secret: t }
}

const RANDOM_ID = /^[A-Za-z0-9_-]{22}$/

function isRandomId (value: unknown): value is string {
  return typeof value === 'string' && RANDOM_ID.test(value)
}
