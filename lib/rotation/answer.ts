import { hash } from 'node:crypto'
import sodium from 'sodium-native'
import { fillRandom } from '../internal/random.js'
import type { StoreValue } from '../types/index.js'

/*
 * The answer a rotation keeps for the grace period, sealed (libsodium's
 * secretbox) for whoever holds the secret it replaced. The key needs both
 * that secret and a server key: the store holds only the secret's hash, so
 * a store dump alone opens nothing; and a refresh token's secret is its
 * `jti`, readable in the token itself, so an old token found in a log
 * together with a store dump must not open it either.
 */

const LABEL = 'fastify-login rotation grace v1'
const NONCE_BYTES = sodium.crypto_secretbox_NONCEBYTES
const MAC_BYTES = sodium.crypto_secretbox_MACBYTES

/** The server keys of the answers, as prepared by graceKeys(): the first seals, every one opens (key rotation). */
export type GraceKeys = readonly string[]

/**
 * Prepares server key material (the remember-me keys, the JWT signing
 * keys) for sealing answers: each becomes a labelled prefix to hash the
 * presented secret with.
 *
 * @example
 * const keys = graceKeys([Buffer.from(secret)])
 */
export function graceKeys (material: ReadonlyArray<string | Buffer>): GraceKeys {
  return material.map((key) => `${LABEL}\0${hash('sha256', key, 'base64url')}\0`)
}

/*
 * The box key: one SHA-256 over the prefix and the secret. The secrets are
 * 128 random bits (or a JWT id of as many) and the server key is secret
 * too, so this is a sound key derivation (what HKDF's extract step adds is
 * for inputs that are not uniformly random) at a fraction of hkdfSync's
 * cost, which every rotation would pay.
 */
function boxKey (prefix: string, secret: string): Buffer {
  return hash('sha256', prefix + secret, 'buffer')
}

/** Seals `answer` so that only a holder of `secret` opens it (with `keys[0]`). */
export function sealAnswer (answer: StoreValue, secret: string, keys: GraceKeys): string {
  const message = Buffer.from(JSON.stringify(answer), 'utf8')
  const sealed = Buffer.allocUnsafe(NONCE_BYTES + MAC_BYTES + message.length)
  const nonce = sealed.subarray(0, NONCE_BYTES)
  fillRandom(nonce)
  sodium.crypto_secretbox_easy(sealed.subarray(NONCE_BYTES), message, nonce, boxKey(keys[0] as string, secret))
  return sealed.toString('base64url')
}

/** Opens what sealAnswer() made for `secret` with any of `keys`; null for anything else. */
export function openAnswer (sealed: string, secret: string, keys: GraceKeys): StoreValue | null {
  const raw = Buffer.from(sealed, 'base64url')
  if (raw.length <= NONCE_BYTES + MAC_BYTES) return null
  const plain = Buffer.allocUnsafe(raw.length - NONCE_BYTES - MAC_BYTES)
  for (const key of keys) {
    if (!sodium.crypto_secretbox_open_easy(plain, raw.subarray(NONCE_BYTES), raw.subarray(0, NONCE_BYTES), boxKey(key, secret))) continue
    // The box opened, so sealAnswer() wrote it: JSON of what it was given.
    const value: unknown = JSON.parse(plain.toString('utf8'))
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? value as StoreValue : null
  }
  return null
}
