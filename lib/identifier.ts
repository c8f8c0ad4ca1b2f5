import { createHash } from 'node:crypto'
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

/** The identifier for an address and User-Agent, as stored in the session. */
export function identifierOf (ip: string, userAgent: string | undefined): string {
  return createHash('sha256')
    .update(`${ip}|${userAgent ?? ''}`)
    .digest('base64url')
    .slice(0, 22)
}
