import type { FastifyReply, FastifyRequest } from 'fastify'
import { isAuthenticated, loadCurrentUser, setCurrentUser } from '../user/load.js'
import { durationOption } from '../internal/duration.js'
import { InvalidUserError } from '../errors.js'
import { emitLoginEvent } from '../internal/events.js'
import { sessionIdentifier } from './identifier.js'
import { queueRememberClear, queueRememberSet } from '../remember/cookie.js'
import { FRESH_KEY, IDENTIFIER_KEY, clearLogin, rotateSession, sessionOf, storeLogin, storedUserId } from './state.js'
import type { Settings } from '../settings.js'
import type { CurrentUser, LoginOptions, LoginUser, LogoutOptions } from '../types/index.js'

/** The id the app's rule gives a user, checked: ids are non-empty strings. */
export function userIdOf (user: LoginUser, settings: Settings): string {
  if (user === null || typeof user !== 'object') throw new InvalidUserError('login needs a user object')
  const id = settings.getUserId(user)
  if (typeof id !== 'string' || id === '') throw new InvalidUserError('getUserId(user) must return a non-empty string')
  return id
}

/** `reply.login(user, options)`: see the README. */
export async function login (reply: FastifyReply, settings: Settings, user: LoginUser, options: LoginOptions = {}): Promise<boolean> {
  const request = reply.request
  const { remember = false, fresh = true, force = false } = options
  if (settings.loadUser === undefined) throw new InvalidUserError('reply.login() needs the loadUser option, to load the user on later requests')
  if (remember && settings.remember === null) throw new InvalidUserError('reply.login({ remember: true }) but rememberMe is turned off')
  const duration = remember && settings.remember !== null
    ? durationOption(options.duration, 'login duration', settings.remember.duration)
    : 0
  const id = userIdOf(user, settings)
  const active = settings.isUserActive(user)
  if (!force && !active) return false

  const session = sessionOf(request, settings)
  rotateSession(session, settings.keepSessionKeys)
  // A forced login of an inactive user is marked, so that later loads keep it
  // (they refuse inactive users otherwise).
  storeLogin(session, id, fresh, settings.sessionProtection === false ? undefined : sessionIdentifier(request), !active)
  if (settings.remember !== null) {
    // Without remember, an older remember cookie (maybe another user's) must not outlive this login.
    if (remember) queueRememberSet(request, settings.remember, id, duration)
    else queueRememberClear(request, settings.remember)
  }
  setCurrentUser(request, user, true)
  emitLoginEvent(settings.events, 'userLoggedIn', request, user, 'session')
  return true
}

/** `reply.logout(options)`: see the README. */
export async function logout (reply: FastifyReply, settings: Settings, options: LogoutOptions = {}): Promise<void> {
  const request = reply.request
  const session = sessionOf(request, settings)
  let previous: CurrentUser
  try {
    previous = await loadCurrentUser(request, settings)
  } catch (err) {
    // A logout must end the login even when the user cannot be loaded (a
    // database down, a stored id the loader chokes on): only the event
    // loses its user.
    request.log.warn({ err }, 'fastify-login: logging out without loading the user')
    previous = settings.anonymousUser(request)
  }
  if (options.destroySession === true) session.delete()
  else clearLogin(session)
  if (settings.remember !== null) queueRememberClear(request, settings.remember)
  setCurrentUser(request, settings.anonymousUser(request), false)
  emitLoginEvent(settings.events, 'userLoggedOut', request, previous, 'session')
}

/** `reply.confirmLogin()`: the user re-authenticated, so the login is fresh again. */
export function confirmLogin (reply: FastifyReply, settings: Settings): boolean {
  const request = reply.request
  const session = sessionOf(request, settings)
  if (storedUserId(session) === undefined) return false
  session.set(FRESH_KEY, true)
  if (settings.sessionProtection !== false) session.set(IDENTIFIER_KEY, sessionIdentifier(request))
  emitLoginEvent(settings.events, 'userLoginConfirmed', request, request.currentUser, 'session')
  return true
}

/** `request.loginFresh()`: logged in through the session, and fresh. */
export function loginFresh (request: FastifyRequest, settings: Settings): boolean {
  if (!settings.sessionEnabled) return false
  const session = sessionOf(request, settings)
  return isAuthenticated(request) && storedUserId(session) !== undefined && session.get(FRESH_KEY) === true
}
