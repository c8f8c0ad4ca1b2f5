import type { FastifyRequest } from 'fastify'
import { NoSessionError, SessionsDisabledError } from '../errors.js'
import type { Settings } from '../settings.js'

/**
 * The login keys this plugin keeps in the session cookie: the user id
 * (Flask-Login's name, and what a store key is built from), then either the
 * session's secret (with a store: the record is on the server) or, with
 * `store: false`, the whole record.
 */
export const USER_ID_KEY = '_user_id'
export const SECRET_KEY = '_sid'
export const RECORD_KEY = '_login'
export const NEXT_KEY = 'next'

/** The part of a @fastify/secure-session session that this plugin uses. */
export interface SessionLike {
  get: (key: string) => unknown
  set: (key: string, value: unknown) => void
  regenerate: (keep?: string[]) => void
  delete: () => void
}

/** The request's session; a missing one is a setup error, said plainly. */
export function sessionOf (request: FastifyRequest, settings: Settings): SessionLike {
  if (!settings.sessionEnabled) throw new SessionsDisabledError()
  // The session lives under a name the app chooses (`sessionName`).
  const session: SessionLike | null | undefined = Reflect.get(request, settings.sessionName)
  if (session === null || session === undefined) throw new NoSessionError(settings.sessionName)
  return session
}

/** The logged-in user id stored in the session, if any. */
export function storedUserId (session: SessionLike): string | undefined {
  const id = session.get(USER_ID_KEY)
  return typeof id === 'string' && id !== '' ? id : undefined
}

/** Removes the login keys and leaves the rest of the session alone. */
export function clearLogin (session: SessionLike): void {
  session.set(USER_ID_KEY, undefined)
  session.set(SECRET_KEY, undefined)
  session.set(RECORD_KEY, undefined)
}

/**
 * Session fixation defence: before a login is stored, drop everything that
 * was in the session (a planted cookie's data cannot follow the user into the
 * logged-in session), except the keys the app chose to keep. The session is
 * re-encrypted with a fresh nonce when it is written.
 */
export function rotateSession (session: SessionLike, keep: string[]): void {
  session.regenerate(keep)
}
