import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto'
import { InvalidOptionError } from '../errors.js'
import { onlyKnownKeys, randomLookingSecret } from '../internal/option-checks.js'
import type { JwtAlgorithm, JwtKeyOptions, JwtOptions } from '../types/index.js'

/*
 * The signing and verification keys. Each is bound to one algorithm, checked
 * here against its key material, so a wrong key fails at startup, not per
 * request, and no token can pick its own algorithm.
 */

/** One key after validation. */
export interface JwtKey {
  kid: string | undefined
  algorithm: JwtAlgorithm
  /** HS*: the secret; else the PEM text. */
  signingKey: string | Buffer | undefined
  verifyKey: string | Buffer
}

const HMAC_MIN_BYTES: Record<string, number> = { HS256: 32, HS384: 48, HS512: 64 }
const ALGORITHMS = new Set<string>(['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'])
const EC_CURVES: Record<string, string> = { ES256: 'prime256v1', ES384: 'secp384r1', ES512: 'secp521r1' }
const KEY_KEYS = ['kid', 'algorithm', 'secret', 'privateKey', 'publicKey'] as const

function fail (message: string): never {
  throw new InvalidOptionError(`jwt.${message}`)
}

/** Checks that a PEM key parses and suits the algorithm, so a wrong key fails at startup, not per request. */
function checkAsymmetricKey (pem: string | Buffer, algorithm: JwtAlgorithm, which: 'privateKey' | 'publicKey', index: number): void {
  let key: KeyObject
  try {
    key = which === 'privateKey' ? createPrivateKey(pem) : createPublicKey(pem)
  } catch {
    fail(`keys[${index}].${which} is not a valid PEM key`)
  }
  if (!keySuits(key, algorithm)) fail(`keys[${index}].${which} does not suit ${algorithm}`)
}

function keySuits (key: KeyObject, algorithm: JwtAlgorithm): boolean {
  const type = key.asymmetricKeyType
  switch (algorithm.slice(0, 2)) {
    case 'RS': return type === 'rsa'
    case 'PS': return type === 'rsa' || type === 'rsa-pss'
    case 'ES': return type === 'ec' && key.asymmetricKeyDetails?.namedCurve === EC_CURVES[algorithm]
    default: return type === 'ed25519' || type === 'ed448'
  }
}

function keyOf (options: JwtKeyOptions, index: number, single: boolean): JwtKey {
  if (options === null || typeof options !== 'object') fail(`keys[${index}] must be an object`)
  onlyKnownKeys(options, KEY_KEYS, `jwt.keys[${index}]`)
  const algorithm = options.algorithm ?? (options.secret !== undefined ? 'HS256' : undefined)
  if (algorithm === undefined) fail(`keys[${index}].algorithm is required with a key pair`)
  if (!ALGORITHMS.has(algorithm)) fail(`keys[${index}].algorithm ${String(algorithm)} is not supported`)
  if (options.kid !== undefined && (typeof options.kid !== 'string' || options.kid === '')) fail(`keys[${index}].kid must be a non-empty string`)

  if (algorithm.startsWith('HS')) {
    if (options.privateKey !== undefined || options.publicKey !== undefined) fail(`keys[${index}]: ${algorithm} takes a secret, not a key pair`)
    const secret = options.secret
    if (typeof secret !== 'string' && !Buffer.isBuffer(secret)) fail(`keys[${index}].secret is required for ${algorithm}`)
    const min = HMAC_MIN_BYTES[algorithm] as number
    if (Buffer.byteLength(secret) < min) fail(`keys[${index}].secret is too short for ${algorithm}: at least ${min} bytes`)
    randomLookingSecret(Buffer.from(secret), single ? 'jwt.secret' : `jwt.keys[${index}].secret`)
    return { kid: options.kid, algorithm, signingKey: secret, verifyKey: secret }
  }

  if (options.secret !== undefined) fail(`keys[${index}]: ${algorithm} takes a key pair, not a secret`)
  if (options.publicKey === undefined) fail(`keys[${index}].publicKey is required for ${algorithm}`)
  checkAsymmetricKey(options.publicKey, algorithm, 'publicKey', index)
  if (options.privateKey !== undefined) checkAsymmetricKey(options.privateKey, algorithm, 'privateKey', index)
  return { kid: options.kid, algorithm, signingKey: options.privateKey, verifyKey: options.publicKey }
}

/** The validated keys of the `jwt` options: the first signs, all verify (by kid when there are several). */
export function keysOf (options: JwtOptions): JwtKey[] {
  const single = options.secret !== undefined || options.privateKey !== undefined || options.publicKey !== undefined
  if (options.keys !== undefined && single) fail('keys: give either keys or secret/privateKey/publicKey, not both')
  const list = options.keys ?? (single
    ? [{ kid: options.kid, algorithm: options.algorithm, secret: options.secret, privateKey: options.privateKey, publicKey: options.publicKey }]
    : fail('secret (HS*) or publicKey/privateKey is required'))
  if (!Array.isArray(list) || list.length === 0) fail('keys must be a non-empty array')
  const keys = list.map((key, index) => keyOf(key, index, options.keys === undefined))
  if (keys[0]?.signingKey === undefined) fail('keys[0] signs new tokens: it needs a secret or a privateKey')
  if (keys.length > 1) {
    const kids = keys.map((key) => key.kid)
    if (kids.some((kid) => kid === undefined)) fail('keys: every key needs a kid when there are several')
    if (new Set(kids).size !== kids.length) fail('keys: kids must be unique')
  }
  return keys
}
