import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import type { JwtSettings } from './options.js'
import type { JwtClaims } from '../types/index.js'

// RFC 9110 §9.2.1: the only methods defined as safe. Every other one (PROPPATCH,
// SEARCH, REPORT, methods an app adds) may change state and is checked.
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE'])

function digest (value: string): Buffer {
  return createHash('sha256').update(value).digest()
}

/**
 * CSRF double submit for tokens sent as cookies: on every method but the safe ones the
 * X-CSRF-Token header must equal the token's own `csrf` claim, which a
 * cross-site form cannot read. Compared in constant time (as hashes, so the
 * lengths do not leak either).
 */
export function csrfOk (request: FastifyRequest, jwt: JwtSettings, claims: JwtClaims): boolean {
  if (jwt.cookies === null || !jwt.cookies.csrf || SAFE_METHODS.has(request.method)) return true
  const sent = request.headers[jwt.cookies.csrfHeader]
  if (typeof sent !== 'string' || typeof claims.csrf !== 'string') return false
  return timingSafeEqual(digest(sent), digest(claims.csrf))
}
