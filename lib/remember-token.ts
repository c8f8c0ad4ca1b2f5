import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto'

/*
 * The remember-me token. Flask-Login's is `id|HMAC(id)`: it never expires and
 * a stolen copy works until the secret changes (its issue #422). Ours is
 * AES-256-GCM over `{ u: id, x: expiry, d: duration }`, so it is unreadable,
 * cannot be forged or edited, and the server refuses it after `x` whatever
 * the browser does with the cookie's own expiry.
 */

const IV_BYTES = 12
const TAG_BYTES = 16
const KEY_INFO = 'fastify-login remember-me v1'
const AAD = Buffer.from('fastify-login:remember:v1')
// A real token is well under this; anything longer is refused before any crypto runs.
const MAX_TOKEN_LENGTH = 2048

/** What a valid remember token says. */
export interface RememberToken {
  userId: string
  /** Expiry, in seconds since the epoch. */
  expiresAt: number
  /** The lifetime the token was issued with, in seconds (used when refreshing it). */
  duration: number
}

/** Derives the 32-byte encryption key of the remember cookie from secret material. */
export function deriveRememberKey (material: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', material, Buffer.alloc(0), KEY_INFO, 32))
}

/** Seals a token with the first key. */
export function sealRememberToken (keys: readonly Buffer[], userId: string, duration: number, now = Date.now()): string {
  const payload = JSON.stringify({ u: userId, x: Math.floor(now / 1000) + duration, d: duration })
  const iv = randomBytes(IV_BYTES)
  const cipher = createCipheriv('aes-256-gcm', keys[0] as Buffer, iv)
  cipher.setAAD(AAD)
  const body = Buffer.concat([cipher.update(payload, 'utf8'), cipher.final()])
  return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url')
}

/**
 * Opens a token with any of the keys. Returns null for anything that is not a
 * token we issued and that is still valid: wrong encoding, tampered bytes,
 * unknown key, bad payload, or past its expiry.
 */
export function openRememberToken (keys: readonly Buffer[], token: string, now = Date.now()): RememberToken | null {
  if (token.length > MAX_TOKEN_LENGTH || !/^[A-Za-z0-9_-]+$/.test(token)) return null
  const raw = Buffer.from(token, 'base64url')
  if (raw.length <= IV_BYTES + TAG_BYTES) return null
  const iv = raw.subarray(0, IV_BYTES)
  const tag = raw.subarray(raw.length - TAG_BYTES)
  const body = raw.subarray(IV_BYTES, raw.length - TAG_BYTES)

  for (const key of keys) {
    let plain: string
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, iv)
      decipher.setAAD(AAD)
      decipher.setAuthTag(tag)
      plain = Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8')
    } catch {
      continue // authentication failed with this key: try the next one
    }
    return parsePayload(plain, now)
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
  const { u, x, d } = data as Record<string, unknown>
  if (typeof u !== 'string' || u === '' || !Number.isSafeInteger(x) || !Number.isSafeInteger(d)) return null
  if ((x as number) * 1000 <= now) return null
  return { userId: u, expiresAt: x as number, duration: d as number }
}
