import fastifyJwt from '@fastify/jwt'
import type { FastifyInstance } from 'fastify'
import type { JwtErrorCode } from './errors.js'
import type { JwtKey, JwtSettings } from './settings.js'
import type { JwtClaims } from './types.js'

/*
 * Signing and verification go through @fastify/jwt (fast-jwt), one instance
 * per key, each bound to its single algorithm: a token can only be checked
 * with the algorithm its key was configured for, which refuses `alg: none`
 * and the HS/RS confusion (an HMAC made with the RSA public key as secret).
 * The instances live in an encapsulated child context, so their decorators
 * (`fastify.jwt`, `request.user`, ...) never meet an app's own @fastify/jwt.
 */

// A real token is a few hundred bytes; refuse big ones before parsing anything.
const MAX_TOKEN_LENGTH = 8192
const TOKEN_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/

/** The outcome of verifying a token: its claims, or why it was refused. */
export type VerifyResult = { ok: true, claims: JwtClaims } | { ok: false, code: JwtErrorCode }

export interface TokenEngine {
  sign: (payload: Record<string, unknown>) => string
  verify: (token: string) => VerifyResult
}

interface JwtInstance {
  sign: (payload: Record<string, unknown>) => string
  verify: (token: string) => unknown
}

/** Registers one @fastify/jwt per key inside a private child context. */
export async function createTokenEngine (fastify: FastifyInstance, settings: JwtSettings): Promise<TokenEngine> {
  const instances: JwtInstance[] = []
  await fastify.register(async function fastifyLoginJwtKeys (child) {
    // @fastify/jwt adds namespaced instances onto an existing `fastify.jwt`.
    // The child would inherit the app's own one (if the app registered
    // @fastify/jwt first) and ours would land on it; a private object of our
    // own, shadowing it in this context only, keeps both apart.
    (child as unknown as { jwt: unknown }).jwt = Object.create(null)
    for (const [index, key] of settings.keys.entries()) {
      const namespace = `fastifyLoginKey${index}`
      await child.register(fastifyJwt, jwtPluginOptions(key, settings, namespace) as never)
      instances.push((child.jwt as unknown as Record<string, JwtInstance>)[namespace] as JwtInstance)
    }
  })

  const byKid = new Map<string, JwtInstance>()
  settings.keys.forEach((key, index) => {
    if (key.kid !== undefined) byKid.set(key.kid, instances[index] as JwtInstance)
  })
  const single = settings.keys.length === 1 ? { key: settings.keys[0] as JwtKey, instance: instances[0] as JwtInstance } : null
  const signer = instances[0] as JwtInstance

  function pick (kid: unknown): JwtInstance | undefined {
    if (single !== null) {
      // One key: a kid in the token must match the configured one, if any.
      return single.key.kid === undefined || kid === undefined || kid === single.key.kid ? single.instance : undefined
    }
    return typeof kid === 'string' ? byKid.get(kid) : undefined
  }

  return {
    sign (payload) {
      const token = signer.sign(payload)
      // The guards refuse tokens over the limit: refuse to make one.
      if (token.length > MAX_TOKEN_LENGTH) throw new Error(`fastify-login: token would be ${token.length} characters (limit ${MAX_TOKEN_LENGTH}): too many additional claims`)
      return token
    },
    verify (token) {
      if (token.length > MAX_TOKEN_LENGTH || !TOKEN_SHAPE.test(token)) return { ok: false, code: 'FST_LOGIN_JWT_INVALID' }
      const header = decodeHeader(token)
      if (header === null) return { ok: false, code: 'FST_LOGIN_JWT_INVALID' }
      const instance = pick(header.kid)
      if (instance === undefined) return { ok: false, code: 'FST_LOGIN_JWT_UNKNOWN_KEY' }
      let payload: unknown
      try {
        payload = instance.verify(token)
      } catch (err) {
        return { ok: false, code: codeOf(err) }
      }
      return isClaims(payload) ? { ok: true, claims: payload } : { ok: false, code: 'FST_LOGIN_JWT_INVALID' }
    }
  }
}

function jwtPluginOptions (key: JwtKey, settings: JwtSettings, namespace: string): Record<string, unknown> {
  const secret = key.algorithm.startsWith('HS')
    ? key.verifyKey
    : { private: key.signingKey, public: key.verifyKey }
  return {
    namespace,
    decoratorName: `${namespace}User`,
    secret,
    sign: { algorithm: key.algorithm, ...(key.kid === undefined ? {} : { kid: key.kid }) },
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
      ...(settings.cache === false ? {} : { cache: settings.cache })
    }
  }
}

function decodeHeader (token: string): { kid?: unknown } | null {
  try {
    const header: unknown = JSON.parse(Buffer.from(token.slice(0, token.indexOf('.')), 'base64url').toString('utf8'))
    return header !== null && typeof header === 'object' && !Array.isArray(header) ? header as { kid?: unknown } : null
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

function isClaims (payload: unknown): payload is JwtClaims {
  // fast-jwt refuses tokens whose payload is not a JSON object, so only the claims need checking.
  const p = payload as Record<string, unknown>
  return typeof p.sub === 'string' && p.sub !== '' &&
    typeof p.jti === 'string' &&
    (p.type === 'access' || p.type === 'refresh') &&
    typeof p.exp === 'number' && typeof p.iat === 'number'
}
