import { hash } from 'node:crypto'
import type { FastifyRequest } from 'fastify'

/**
 * The session-protection identifier: a short hash of the client address and
 * User-Agent. `request.ip` follows Fastify's `trustProxy` setting, so a
 * spoofed X-Forwarded-For is ignored unless the app says it sits behind a
 * proxy (Flask-Login 0.6 trusted that header: its issue #700). Hashing keeps
 * the address out of the cookie and its size fixed.
 */
export function sessionIdentifier (request: FastifyRequest): string {
  return identifierOf(request.ip, request.headers['user-agent'])
}

/*
 * Every request with a login needs the identifier, and the same few clients
 * send the same address and User-Agent again and again, so recent results
 * are kept. The cache is bounded twice, because both inputs can come from
 * the client: long inputs are never stored, and the whole cache is dropped
 * when it is full (a client sending a new User-Agent per request only makes
 * the cache useless, never big). It holds hashes of what clients sent us,
 * nothing secret.
 */
const CACHE_ENTRIES = 1024
const CACHEABLE_LENGTH = 512
const cache = new Map<string, string>()

/** The identifier for an address and User-Agent, as stored in the session. */
export function identifierOf (ip: string, userAgent: string | undefined): string {
  const input = `${ip}|${userAgent ?? ''}`
  let identifier = cache.get(input)
  if (identifier === undefined) {
    // One-shot `hash` (Node 20.12+): no Hash object to build per call.
    identifier = hash('sha256', input, 'base64url').slice(0, 22)
    if (input.length <= CACHEABLE_LENGTH) {
      if (cache.size >= CACHE_ENTRIES) cache.clear()
      cache.set(input, identifier)
    }
  }
  return identifier
}
