import type { FastifyReply, FastifyRequest } from 'fastify'
import { sessionIdentifier } from '../session/identifier.js'
import { peekRequestState, requestState } from '../internal/request-state.js'
import { openRememberToken, sealRememberToken } from './token.js'
import type { RememberSettings } from '../settings.js'
import type { PendingRememberWrite, RememberState, RememberToken } from '../types/internal.js'

/*
 * The remember cookie is read at most once per request, and written once, in
 * onSend (like Flask-Login's after-request step): a user load can decide to
 * set or clear it without holding the reply, and a later decision in the same
 * request (a logout after a restore) simply replaces an earlier one.
 */

function stateOf (request: FastifyRequest, remember: RememberSettings): RememberState {
  const holder = requestState(request)
  let state = holder.remember
  if (state === null) {
    const raw = request.cookies?.[remember.cookieName]
    state = {
      present: raw !== undefined,
      token: raw === undefined || raw === '' ? null : openRememberToken(remember.keys, raw, remember.clock()),
      pending: null
    }
    holder.remember = state
  }
  return state
}

/** The request's remember cookie: whether one was sent, and its token if valid. */
export function readRememberCookie (request: FastifyRequest, remember: RememberSettings): { present: boolean, token: RememberToken | null } {
  return stateOf(request, remember)
}

/** What a remember cookie to be set says (see RememberTokenFields, less the client identifier). */
export type RememberCookieValue = Omit<Extract<PendingRememberWrite, { kind: 'set' }>, 'kind'>

/** Have the response set a new remember cookie. */
export function queueRememberSet (request: FastifyRequest, remember: RememberSettings, value: RememberCookieValue): void {
  stateOf(request, remember).pending = { kind: 'set', ...value }
}

/** Have the response delete the remember cookie, if the request carried one. */
export function queueRememberClear (request: FastifyRequest, remember: RememberSettings): void {
  const state = stateOf(request, remember)
  state.pending = state.present ? { kind: 'clear' } : null
  // A cookie being cleared (refused, logged out, dropped by protection) no longer
  // counts as a remembered login (Flask-Login: `_remember == 'clear'`).
  state.token = null
}

/** onSend: write what was queued. Nothing to do on most requests. */
export function writeRememberCookie (request: FastifyRequest, reply: FastifyReply, remember: RememberSettings): void {
  const pending = peekRequestState(request)?.remember?.pending
  if (pending === undefined || pending === null) return
  if (pending.kind === 'clear') {
    reply.clearCookie(remember.cookieName, remember.cookie)
    return
  }
  const { kind: _set, ...fields } = pending
  const value = sealRememberToken(remember.keys, { ...fields, identifier: remember.bindToClient ? sessionIdentifier(request) : undefined })
  reply.setCookie(remember.cookieName, value, {
    ...remember.cookie,
    maxAge: Math.max(1, Math.ceil((pending.expiresAt - remember.clock()) / 1000)),
    expires: new Date(pending.expiresAt)
  })
}
