import type { FastifyRequest } from 'fastify'
import { NoSessionError, SessionsDisabledError } from '../errors.js'
import type { Settings } from '../settings.js'

/** The login keys this plugin keeps in the session (Flask-Login's names). */
export const USER_ID_KEY = '_user_id'
export const FRESH_KEY = '_fresh'
export const IDENTIFIER_KEY = '_id'
/** Set when `reply.login(user, { force: true })` logged in a user who is not active. */
export const FORCED_KEY = '_forced'
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

/** Writes a login into the session. */
export function storeLogin (session: SessionLike, userId: string, fresh: boolean, identifier: string | undefined, forced = false): void {
  session.set(USER_ID_KEY, userId)
  session.set(FRESH_KEY, fresh)
  if (identifier !== undefined) session.set(IDENTIFIER_KEY, identifier)
  if (forced) session.set(FORCED_KEY, true)
}

/** Removes the login keys and leaves the rest of the session alone. */
export function clearLogin (session: SessionLike): void {
  session.set(USER_ID_KEY, undefined)
  session.set(FRESH_KEY, undefined)
  session.set(IDENTIFIER_KEY, undefined)
  session.set(FORCED_KEY, undefined)
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
