import type { FastifyRequest } from 'fastify'
import { queueRememberClear } from '../remember/cookie.js'
import type { Settings } from '../settings.js'
import type { LoginRecord } from '../types/internal.js'
import { sessionIdentifier } from './identifier.js'

/**
 * Session protection, checked when a stored login is read. 'basic' keeps
 * the user but takes away freshness when the address or browser changes;
 * 'strong' drops the login and the remember cookie. In basic mode the new
 * identifier goes into the record (which the caller then saves), so the
 * event fires once per change rather than on every later request.
 */
export function protectSession (request: FastifyRequest, record: LoginRecord, settings: Settings): 'ok' | 'marked' | 'dropped' {
  const mode = settings.sessionProtection
  if (mode === false) return 'ok'
  const identifier = sessionIdentifier(request)
  if (record.p === identifier) return 'ok'
  if (mode === 'basic') {
    record.f = false
    record.p = identifier
    return 'marked'
  }
  // The remember cookie is cleared, so the remember source finds no token to reuse.
  if (settings.remember !== null) queueRememberClear(request, settings.remember)
  return 'dropped'
}
