import fastifyJwt from '@fastify/jwt'
import type { FastifyInstance } from 'fastify'
import type { JwtKey, JwtSettings } from './options.js'
import { DEFAULT_CACHE_SIZE, VerifiedTokenCache } from './cache.js'
import type { JwtClaims, JwtErrorCode } from '../types/index.js'

/*
 * Signing and verification go through @fastify/jwt (fast-jwt), one instance
 * per key, each bound to its single algorithm: a token can only be checked
 * with the algorithm its key was configured for, which refuses `alg: none`
 * and the HS/RS confusion (an HMAC made with the RSA public key as secret).
 * The instances live in an encapsulated child context, so their decorators
 * (`fastify.jwt`, `request.user`, ...) never meet an app's own @fastify/jwt.
 *
 * Explicit typing (RFC 8725 §3.11): access tokens carry the header
 * `typ: at+jwt` (RFC 9068), refresh tokens `typ: refresh+jwt`, and a token is
 * accepted only when its `typ` agrees with its `type` claim. A JWT that the
 * app signs with its own @fastify/jwt and the same secret says `typ: JWT`
 * and is refused, so one secret cannot make our guards accept another
 * issuer's tokens (§3.12).
 */

// A real token is a few hundred bytes; refuse big ones before parsing anything.
const MAX_TOKEN_LENGTH = 8192
const TOKEN_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/

/** The outcome of verifying a token: its claims, or why it was refused. */
export type VerifyResult = JwtClaims | JwtErrorCode

export interface TokenEngine {
  sign: (payload: Record<string, unknown> & { type: TokenType }) => string
  verify: (token: string) => VerifyResult
}

type TokenType = 'access' | 'refresh'

/** The `typ` header of each kind of token. */
export const TOKEN_TYP: Record<TokenType, string> = { access: 'at+jwt', refresh: 'refresh+jwt' }

interface JwtInstance {
  sign: (payload: Record<string, unknown>) => string
  verify: (token: string) => unknown
}

interface Header { kid?: unknown, typ?: unknown }

interface Complete { header: Header, payload: unknown }

/** Registers one @fastify/jwt per key inside a private child context. */
export async function createTokenEngine (fastify: FastifyInstance, settings: JwtSettings): Promise<TokenEngine> {
  const keys = settings.keys
  const singleKid = keys.length === 1 ? keys[0]?.kid : undefined
  // Per key, one instance signs and verifies access tokens, one signs refresh
  // tokens: the `typ` header is a signer option, fixed when the signer is made.
  const instances: JwtInstance[] = []
  const refreshSigners: JwtInstance[] = []
  await fastify.register(async function fastifyLoginJwtKeys (child) {
    // @fastify/jwt adds namespaced instances onto an existing `fastify.jwt`.
    // The child would inherit the app's own one (if the app registered
    // @fastify/jwt first) and ours would land on it; a private object of our
    // own, shadowing it in this context only, keeps both apart.
    const namespaces: Record<string, JwtInstance> = Object.create(null)
    Reflect.set(child, 'jwt', namespaces)
    for (const [index, key] of keys.entries()) {
      for (const type of ['access', 'refresh'] as const) {
        const namespace = `fastifyLoginKey${index}${type}`
        await child.register(fastifyJwt, jwtPluginOptions(key, settings, namespace, TOKEN_TYP[type]) as never)
        ;(type === 'access' ? instances : refreshSigners).push(namespaces[namespace] as JwtInstance)
      }
    }
  })

  const signers: Record<TokenType, JwtInstance> = { access: instances[0] as JwtInstance, refresh: refreshSigners[0] as JwtInstance }
  const verifyToken = keys.length === 1
    ? singleKeyVerifier(instances[0] as JwtInstance, singleKid)
    : kidVerifier(keys, instances)
  const cache = settings.cache === false
    ? null
    : new VerifiedTokenCache(settings.cache === true ? DEFAULT_CACHE_SIZE : settings.cache, settings.leeway * 1000)

  // RFC 8725 §3.10 spirit: a token issued in the future (beyond the leeway) is
  // not trusted, or it would slip past a logout-everywhere cut-off.
  const verifyFresh = (token: string): VerifyResult => {
    const result = verifyToken(token)
    if (typeof result !== 'string' && result.iat > Date.now() / 1000 + settings.leeway) return 'FST_LOGIN_JWT_NOT_YET_VALID'
    return result
  }

  return {
    sign (payload) {
      const token = signers[payload.type].sign(payload)
      // The guards refuse tokens over the limit: refuse to make one.
      if (token.length > MAX_TOKEN_LENGTH) throw new Error(`fastify-login: token would be ${token.length} characters (limit ${MAX_TOKEN_LENGTH}): too many additional claims`)
      return token
    },
    verify (token) {
      if (token.length > MAX_TOKEN_LENGTH) return 'FST_LOGIN_JWT_INVALID'
      if (cache === null) return verifyFresh(token)
      const cached = cache.get(token, Date.now())
      if (cached !== undefined) return cached
      const result = verifyFresh(token)
      if (typeof result !== 'string') cache.set(token, result, Date.now())
      return result
    }
  }
}

/**
 * One key: fast-jwt decodes and verifies in a single pass, and returns the
 * header too. When the key has a kid, a token naming another kid is refused
 * as FST_LOGIN_JWT_UNKNOWN_KEY, before any other refusal, as if the header had
 * been read first: after a success from the returned header, after a failure
 * from our own decoding (refused tokens only).
 */
function singleKeyVerifier (instance: JwtInstance, kid: string | undefined): (token: string) => VerifyResult {
  return (token) => {
    let complete: Complete
    try {
      complete = instance.verify(token) as Complete
    } catch (err) {
      if (kid === undefined) return codeOf(err)
      const header = headerOf(token)
      if (header === null) return 'FST_LOGIN_JWT_INVALID'
      return otherKid(header, kid) ? 'FST_LOGIN_JWT_UNKNOWN_KEY' : codeOf(err)
    }
    return kid !== undefined && otherKid(complete.header, kid) ? 'FST_LOGIN_JWT_UNKNOWN_KEY' : claimsOf(complete)
  }
}

function otherKid (header: Header, kid: string): boolean {
  return header.kid !== undefined && header.kid !== kid
}

/** Several keys (all with a kid): the token's kid picks the one that verifies it. */
function kidVerifier (keys: JwtKey[], instances: JwtInstance[]): (token: string) => VerifyResult {
  const byKid = new Map<unknown, JwtInstance>()
  keys.forEach((key, index) => byKid.set(key.kid, instances[index] as JwtInstance))
  return (token) => {
    const header = headerOf(token)
    if (header === null) return 'FST_LOGIN_JWT_INVALID'
    const instance = typeof header.kid === 'string' ? byKid.get(header.kid) : undefined
    if (instance === undefined) return 'FST_LOGIN_JWT_UNKNOWN_KEY'
    try {
      return claimsOf(instance.verify(token) as Complete)
    } catch (err) {
      return codeOf(err)
    }
  }
}

function jwtPluginOptions (key: JwtKey, settings: JwtSettings, namespace: string, typ: string): Record<string, unknown> {
  const secret = key.algorithm.startsWith('HS')
    ? key.verifyKey
    : { private: key.signingKey, public: key.verifyKey }
  return {
    namespace,
    decoratorName: `${namespace}User`,
    secret,
    sign: { algorithm: key.algorithm, typ, ...(key.kid === undefined ? {} : { kid: key.kid }) },
    verify: {
      algorithms: [key.algorithm],
      clockTolerance: settings.leeway * 1000,
      // fast-jwt checks iss / aud only when present: configured ones are required.
      requiredClaims: [
        'sub', 'jti', 'type', 'exp', 'iat',
        ...(settings.issuer === undefined ? [] : ['iss']),
        ...(settings.audience === undefined ? [] : ['aud'])
      ],
      ...(settings.issuer === undefined ? {} : { allowedIss: settings.issuer }),
      ...(settings.audience === undefined ? {} : { allowedAud: settings.audience }),
      complete: true
    }
  }
}

/** The header of a well-formed token, or null; read before or without verification. */
function headerOf (token: string): Header | null {
  if (!TOKEN_SHAPE.test(token)) return null
  try {
    const header: unknown = JSON.parse(Buffer.from(token.slice(0, token.indexOf('.')), 'base64url').toString('utf8'))
    return header !== null && typeof header === 'object' && !Array.isArray(header) ? header as Header : null
  } catch {
    return null
  }
}

function codeOf (err: unknown): JwtErrorCode {
  const code = (err as { code?: unknown } | null)?.code
  if (code === 'FAST_JWT_EXPIRED') return 'FST_LOGIN_JWT_EXPIRED'
  if (code === 'FAST_JWT_INACTIVE') return 'FST_LOGIN_JWT_NOT_YET_VALID'
  return 'FST_LOGIN_JWT_INVALID'
}

/** `at+jwt`, `application/at+jwt` (RFC 7515 §4.1.9 lets the prefix go), any case. */
function typOf (header: Header): string | undefined {
  if (typeof header.typ !== 'string') return undefined
  const typ = header.typ.toLowerCase()
  return typ.startsWith('application/') ? typ.slice('application/'.length) : typ
}

function claimsOf ({ header, payload }: Complete): VerifyResult {
  // fast-jwt refuses tokens whose payload is not a JSON object, so only the claims need checking.
  const p = payload as Record<string, unknown>
  const ok = typeof p.sub === 'string' && p.sub !== '' &&
    typeof p.jti === 'string' &&
    (p.type === 'access' || p.type === 'refresh') &&
    typeof p.exp === 'number' && typeof p.iat === 'number'
  if (!ok) return 'FST_LOGIN_JWT_INVALID'
  return typOf(header) === TOKEN_TYP[p.type as TokenType] ? p as JwtClaims : 'FST_LOGIN_JWT_WRONG_TYPE'
}
