import type { FastifyRequest } from 'fastify'
import { queueRememberClear } from '../remember/cookie.js'
import type { Settings } from '../settings.js'
import { sessionIdentifier } from './identifier.js'
import { FRESH_KEY, IDENTIFIER_KEY, clearLogin, type SessionLike } from './state.js'

/**
 * Session protection, checked when a stored login is loaded. 'basic' keeps
 * the user but takes away freshness when the address or browser changes;
 * 'strong' drops the login and the remember cookie. The new identifier is
 * stored in basic mode so the event fires once per change rather than on
 * every later request.
 */
export function protectSession (request: FastifyRequest, session: SessionLike, settings: Settings): 'ok' | 'marked' | 'dropped' {
  const mode = settings.sessionProtection
  if (mode === false) return 'ok'
  const identifier = sessionIdentifier(request)
  if (session.get(IDENTIFIER_KEY) === identifier) return 'ok'
  if (mode === 'basic') {
    session.set(FRESH_KEY, false)
    session.set(IDENTIFIER_KEY, identifier)
    return 'marked'
  }
  clearLogin(session)
  // The remember cookie is cleared, so the remember source finds no token to reuse.
  if (settings.remember !== null) queueRememberClear(request, settings.remember)
  return 'dropped'
}
