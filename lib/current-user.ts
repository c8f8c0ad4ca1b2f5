import type { FastifyRequest } from 'fastify'
import { emitLoginEvent } from './events.js'
import { sessionIdentifier } from './identifier.js'
import { queueRememberClear, queueRememberSet, readRememberCookie } from './remember-cookie.js'
import {
  FORCED_KEY,
  FRESH_KEY,
  IDENTIFIER_KEY,
  clearLogin,
  rotateSession,
  sessionOf,
  storeLogin,
  storedUserId,
  type SessionLike
} from './session-state.js'
import type { Settings } from './settings.js'
import { kAuthenticated, kUserLoad } from './symbols.js'
import type { CurrentUser, LoginUser } from './types.js'

type LoadState = FastifyRequest & {
  [kUserLoad]: Promise<CurrentUser> | null
  [kAuthenticated]: boolean
}

/**
 * Loads `request.currentUser` once per request and caches the promise, so
 * guards, the auto-load hook and app code can all ask for it at no extra cost.
 */
export function loadCurrentUser (request: FastifyRequest, settings: Settings): Promise<CurrentUser> {
  const req = request as LoadState
  if (req[kUserLoad] === null) {
    req[kUserLoad] = resolveUser(request, settings).then((result) => {
      setCurrentUser(request, result.user, result.authenticated)
      return result.user
    })
  }
  return req[kUserLoad] as Promise<CurrentUser>
}

/** Sets the request's user (after a login, a logout or a load) and settles later loads to it. */
export function setCurrentUser (request: FastifyRequest, user: CurrentUser, authenticated: boolean): void {
  const req = request as LoadState
  request.currentUser = user
  req[kAuthenticated] = authenticated
  req[kUserLoad] = Promise.resolve(user)
}

/** True once a user was loaded or logged in on this request. */
export function isAuthenticated (request: FastifyRequest): boolean {
  return (request as LoadState)[kAuthenticated]
}

interface LoadResult { user: CurrentUser, authenticated: boolean }

/*
 * The order is Flask-Login's: session, then remember cookie, then request
 * loader, then anonymous. Two deliberate differences: an invalid remember
 * cookie does not keep the request loader from running (Flask-Login PR #901),
 * and an inactive user is never loaded, so deactivating an account ends its
 * sessions at their next request.
 */
async function resolveUser (request: FastifyRequest, settings: Settings): Promise<LoadResult> {
  const { loadUser } = settings
  if (loadUser !== undefined && settings.sessionEnabled) {
    const session = sessionOf(request, settings)
    const fromSession = await userFromSession(request, session, settings, loadUser)
    if (fromSession !== null && fromSession !== DROPPED) return { user: fromSession, authenticated: true }
    // After strong protection dropped the login, its remember cookie is being cleared, not reused.
    if (fromSession !== DROPPED) {
      const fromCookie = await userFromRememberCookie(request, session, settings, loadUser)
      if (fromCookie !== null) return { user: fromCookie, authenticated: true }
    }
  }
  if (settings.loadUserFromRequest !== undefined) {
    const user = await settings.loadUserFromRequest(request) as LoginUser | null | undefined
    if (user !== null && user !== undefined && settings.isUserActive(user)) {
      emitLoginEvent(settings.events, 'userLoadedFromRequest', request, user)
      return { user, authenticated: true }
    }
  }
  return { user: settings.anonymousUser(request), authenticated: false }
}

type UserLoader = NonNullable<Settings['loadUser']>
const DROPPED = Symbol('dropped by session protection')

async function userFromSession (request: FastifyRequest, session: SessionLike, settings: Settings, loadUser: UserLoader): Promise<LoginUser | null | typeof DROPPED> {
  const userId = storedUserId(session)
  if (userId === undefined) return null

  const protection = protectSession(request, session, settings)
  if (protection === 'dropped') {
    emitLoginEvent(settings.events, 'sessionProtected', request, settings.anonymousUser(request))
    return DROPPED
  }

  const user = await loadUser(userId, request) as LoginUser | null | undefined
  if (user === null || user === undefined || (session.get(FORCED_KEY) !== true && !settings.isUserActive(user))) {
    // The user is gone or deactivated: forget the stale login.
    clearLogin(session)
    return null
  }
  if (protection === 'marked') emitLoginEvent(settings.events, 'sessionProtected', request, user)
  if (settings.remember?.refreshEachRequest === true) {
    const { token } = readRememberCookie(request, settings.remember)
    if (token !== null && token.userId === userId) queueRememberSet(request, settings.remember, userId, token.duration)
  }
  return user
}

/*
 * Session protection. 'basic' keeps the user but takes away freshness when
 * the address or browser changes; 'strong' drops the login and the remember
 * cookie. The new identifier is stored in basic mode so the event fires once
 * per change rather than on every later request.
 */
function protectSession (request: FastifyRequest, session: SessionLike, settings: Settings): 'ok' | 'marked' | 'dropped' {
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
  if (settings.remember !== null) queueRememberClear(request, settings.remember)
  return 'dropped'
}

async function userFromRememberCookie (request: FastifyRequest, session: SessionLike, settings: Settings, loadUser: UserLoader): Promise<LoginUser | null> {
  const remember = settings.remember
  if (remember === null) return null
  const { present, token } = readRememberCookie(request, remember)
  if (!present) return null
  if (token === null) {
    queueRememberClear(request, remember)
    return null
  }
  const user = await loadUser(token.userId, request) as LoginUser | null | undefined
  if (user === null || user === undefined || !settings.isUserActive(user)) {
    queueRememberClear(request, remember)
    return null
  }
  // A restored login starts a new session, as a login does, and is not fresh.
  // It gets the current identifier, so strong protection does not wipe it on
  // the next request (Flask-Login issue #685).
  rotateSession(session, settings.keepSessionKeys)
  storeLogin(session, token.userId, false, settings.sessionProtection === false ? undefined : sessionIdentifier(request))
  if (remember.refreshEachRequest) queueRememberSet(request, remember, token.userId, token.duration)
  emitLoginEvent(settings.events, 'userLoadedFromCookie', request, user)
  return user
}
