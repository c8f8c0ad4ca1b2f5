import type { FastifyRequest } from 'fastify'
import { emitLoginEvent } from '../internal/events.js'
import { isThenable, type MaybePromise } from '../internal/hook-adapter.js'
import { sessionIdentifier } from '../session/identifier.js'
import { queueRememberClear, queueRememberSet, readRememberCookie } from '../remember/cookie.js'
import type { RememberToken } from '../remember/token.js'
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
} from '../session/state.js'
import type { RememberSettings, Settings } from '../settings.js'
import { kAuthenticated, kUserLoad } from '../symbols.js'
import type { CurrentUser, LoginUser } from '../types/index.js'

type LoadState = FastifyRequest & {
  // null: not started; LOADED: `currentUser` is settled; a promise: a loader is
  // still running; a LoadFailure: the automatic load failed (see deferLoadFailure).
  [kUserLoad]: Promise<void> | typeof LOADED | LoadFailure | null
  [kAuthenticated]: boolean
}

const LOADED = true

/** The automatic load of this request failed with `cause`. */
class LoadFailure {
  readonly cause: unknown
  constructor (cause: unknown) {
    this.cause = cause
  }
}

/**
 * Makes sure `request.currentUser` is loaded, at most once per request.
 * Returns undefined when it is settled (the usual case with a synchronous
 * loader), else the promise of the load in flight, which guards, the
 * auto-load hook and app code then share.
 */
export function ensureUserLoaded (request: FastifyRequest, settings: Settings): Promise<void> | undefined {
  const req = request as LoadState
  const state = req[kUserLoad]
  if (state === LOADED) return undefined
  if (state instanceof LoadFailure) throw state.cause
  if (state !== null) return state
  const result = resolveUser(request, settings)
  if (!isThenable(result)) {
    setCurrentUser(request, result.user, result.authenticated)
    return undefined
  }
  const pending: Promise<void> = Promise.resolve(result).then((settled) => {
    // A login or logout during the load has the last word.
    if (req[kUserLoad] === pending) setCurrentUser(request, settled.user, settled.authenticated)
  })
  req[kUserLoad] = pending
  return pending
}

/** `request.loadCurrentUser()`: the user, loaded on first use. */
export function loadCurrentUser (request: FastifyRequest, settings: Settings): Promise<CurrentUser> {
  let pending: Promise<void> | undefined
  try {
    pending = ensureUserLoaded(request, settings)
  } catch (err) {
    return Promise.reject(err)
  }
  return pending === undefined ? Promise.resolve(request.currentUser) : pending.then(() => request.currentUser)
}

/** Sets the request's user (after a login, a logout or a load) and settles later loads to it. */
export function setCurrentUser (request: FastifyRequest, user: CurrentUser, authenticated: boolean): void {
  const req = request as LoadState
  request.currentUser = user
  req[kAuthenticated] = authenticated
  req[kUserLoad] = LOADED
}

/**
 * The automatic load (before the handler) failed: the user loader threw (a
 * missing session is a setup error and fails at once instead). The request
 * goes on as anonymous, so pages that do
 * not need a user still answer and `reply.logout()` can still end a login
 * whose stored id breaks the loader; every guard and `loadCurrentUser()` then
 * fail with the same error (a 500 through the error handler), so nothing
 * that needs the user is let through.
 */
export function deferLoadFailure (request: FastifyRequest, settings: Settings, error: unknown): void {
  request.log.error({ err: error }, 'fastify-login: loading the user failed; the request goes on as anonymous and guards refuse it')
  request.currentUser = settings.anonymousUser(request)
  const req = request as LoadState
  req[kAuthenticated] = false
  req[kUserLoad] = new LoadFailure(error)
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
function resolveUser (request: FastifyRequest, settings: Settings): MaybePromise<LoadResult> {
  const { loadUser } = settings
  if (loadUser === undefined || !settings.sessionEnabled) return userFromRequestLoader(request, settings)
  const session = sessionOf(request, settings)
  const fromSession = userFromSession(request, session, settings, loadUser)
  if (isThenable(fromSession)) return fromSession.then((found) => afterSession(request, session, settings, loadUser, found))
  return afterSession(request, session, settings, loadUser, fromSession)
}

function afterSession (request: FastifyRequest, session: SessionLike, settings: Settings, loadUser: UserLoader, found: LoginUser | null | typeof DROPPED): MaybePromise<LoadResult> {
  if (found === DROPPED) {
    // Strong protection dropped the login: its remember cookie is being cleared, not reused.
    return userFromRequestLoader(request, settings)
  }
  if (found !== null) return { user: found, authenticated: true }
  const fromCookie = userFromRememberCookie(request, session, settings, loadUser)
  if (isThenable(fromCookie)) return fromCookie.then((user) => afterRememberCookie(request, settings, user))
  return afterRememberCookie(request, settings, fromCookie)
}

function afterRememberCookie (request: FastifyRequest, settings: Settings, user: LoginUser | null): MaybePromise<LoadResult> {
  return user !== null ? { user, authenticated: true } : userFromRequestLoader(request, settings)
}

function userFromRequestLoader (request: FastifyRequest, settings: Settings): MaybePromise<LoadResult> {
  if (settings.loadUserFromRequest === undefined) return anonymous(request, settings)
  const loaded = settings.loadUserFromRequest(request) as MaybePromise<LoginUser | null | undefined>
  if (isThenable(loaded)) return Promise.resolve(loaded).then((user) => acceptRequestUser(request, settings, user))
  return acceptRequestUser(request, settings, loaded)
}

function acceptRequestUser (request: FastifyRequest, settings: Settings, user: LoginUser | null | undefined): LoadResult {
  if (user === null || user === undefined || !settings.isUserActive(user)) return anonymous(request, settings)
  emitLoginEvent(settings.events, 'userLoadedFromRequest', request, user, 'request')
  return { user, authenticated: true }
}

function anonymous (request: FastifyRequest, settings: Settings): LoadResult {
  return { user: settings.anonymousUser(request), authenticated: false }
}

type UserLoader = NonNullable<Settings['loadUser']>
const DROPPED = Symbol('dropped by session protection')

function userFromSession (request: FastifyRequest, session: SessionLike, settings: Settings, loadUser: UserLoader): MaybePromise<LoginUser | null | typeof DROPPED> {
  const userId = storedUserId(session)
  if (userId === undefined) return null

  const protection = protectSession(request, session, settings)
  if (protection === 'dropped') {
    emitLoginEvent(settings.events, 'sessionProtected', request, settings.anonymousUser(request), 'session')
    return DROPPED
  }

  const loaded = loadUser(userId, request) as MaybePromise<LoginUser | null | undefined>
  if (isThenable(loaded)) return Promise.resolve(loaded).then((user) => acceptSessionUser(request, session, settings, userId, protection, user))
  return acceptSessionUser(request, session, settings, userId, protection, loaded)
}

function acceptSessionUser (request: FastifyRequest, session: SessionLike, settings: Settings, userId: string, protection: 'ok' | 'marked', user: LoginUser | null | undefined): LoginUser | null {
  if (user === null || user === undefined || (session.get(FORCED_KEY) !== true && !settings.isUserActive(user))) {
    // The user is gone or deactivated: forget the stale login.
    clearLogin(session)
    return null
  }
  if (protection === 'marked') emitLoginEvent(settings.events, 'sessionProtected', request, user, 'session')
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

function userFromRememberCookie (request: FastifyRequest, session: SessionLike, settings: Settings, loadUser: UserLoader): MaybePromise<LoginUser | null> {
  const remember = settings.remember
  if (remember === null) return null
  const { present, token } = readRememberCookie(request, remember)
  if (!present) return null
  if (token === null) {
    queueRememberClear(request, remember)
    return null
  }
  // Strong protection: a token replayed from another address or browser
  // must not restore a login bound to the thief (Flask-Login's remember
  // cookie bypasses its own strong mode). The token carries the identifier
  // it was issued under; any other one, or none, clears it.
  if (remember.bindToClient && token.identifier !== sessionIdentifier(request)) {
    queueRememberClear(request, remember)
    emitLoginEvent(settings.events, 'sessionProtected', request, settings.anonymousUser(request), 'remember')
    return null
  }
  const loaded = loadUser(token.userId, request) as MaybePromise<LoginUser | null | undefined>
  if (isThenable(loaded)) return Promise.resolve(loaded).then((user) => restoreRememberedLogin(request, session, settings, remember, token, user))
  return restoreRememberedLogin(request, session, settings, remember, token, loaded)
}

function restoreRememberedLogin (request: FastifyRequest, session: SessionLike, settings: Settings, remember: RememberSettings, token: RememberToken, user: LoginUser | null | undefined): LoginUser | null {
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
  emitLoginEvent(settings.events, 'userLoadedFromCookie', request, user, 'remember')
  return user
}
