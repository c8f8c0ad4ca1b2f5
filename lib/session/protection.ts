import type { FastifyRequest } from 'fastify'
import { queueRememberClear } from '../remember/cookie.js'
import type { Settings } from '../settings.js'
import type { LoginRecord } from '../types/internal.js'
import { sessionIdentifier } from './identifier.js'

/**
 * Session protection, checked when a stored login is read. 'basic' keeps
 * the user but takes away freshness when the address or browser changes
 * ('marked': the caller saves the record with `fresh` off and the new
 * identifier, so the event fires once per change rather than on every later
 * request); 'strong' drops the login and the remember cookie.
 */
export function protectSession (request: FastifyRequest, record: LoginRecord, settings: Settings): 'ok' | 'marked' | 'dropped' {
  const mode = settings.sessionProtection
  if (mode === false) return 'ok'
  const identifier = sessionIdentifier(request)
  if (record.p === identifier) return 'ok'
  if (mode === 'basic') return 'marked'

  // The remember cookie is cleared, so the remember source finds no token to reuse.
  if (settings.remember !== null) queueRememberClear(request, settings.remember)
  return 'dropped'
}
