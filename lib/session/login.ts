import type { FastifyReply, FastifyRequest } from 'fastify'
import { isAuthenticated, loadCurrentUser, setCurrentUser } from '../user/load.js'
import { DURATION_MAX, durationOption } from '../internal/duration.js'
import { InvalidUserError, SessionsDisabledError } from '../errors.js'
import { emitLoginEvent } from '../internal/events.js'
import { requestState } from '../internal/request-state.js'
import { sessionIdentifier } from './identifier.js'
import { queueRememberClear, queueRememberSet, readRememberCookie } from '../remember/cookie.js'
import { endSeries, endSeriesOf, newSeries, saveSeries } from '../remember/series.js'
import { newRememberId } from '../remember/token.js'
import { versionOf } from './auth-version.js'
import { cookieSessionId, deleteSlot, readSlot, updateSlot } from './carrier.js'
import { endAll, endDevice } from './devices.js'
import { endSession, startSession } from './lifecycle.js'
import { clientOf, newRecord, recordFresh } from './record.js'
import { clearLogin, sessionOf, storedUserId, type SessionLike } from './state.js'
import { clearCheckedAccount } from '../throttle/counter.js'
import type { Settings } from '../settings.js'
import type { CurrentUser, LoginOptions, LoginUser, LogoutOptions } from '../types/index.js'
import type { SessionSlot } from '../types/internal.js'
import { forgetUser } from '../user/cache.js'

/** The id the app's rule gives a user, checked: ids are non-empty strings. */
export function userIdOf (user: LoginUser, settings: Settings): string {
  if (user === null || typeof user !== 'object') throw new InvalidUserError('login needs a user object')
  const id = settings.getUserId(user)
  if (typeof id !== 'string' || id === '') throw new InvalidUserError('getUserId(user) must return a non-empty string')
  return id
}

/** The remember-me device of the request's own remember cookie (read before it is replaced or cleared), if valid. */
function cookieDevice (request: FastifyRequest, settings: Settings): { userId: string, id: string } | null {
  if (settings.remember === null || settings.lifetime.store === null) return null
  const { token } = readRememberCookie(request, settings.remember)
  return token === null ? null : { userId: token.userId, id: token.id }
}

/**
 * Before a login: the session the cookie held is ended, record and
 * remember-me device (a login always starts a new session, and the old
 * one's secret, which may have been planted or copied, must not stay valid
 * beside it), and so is the device of the remember cookie this login
 * replaces or clears.
 */
async function dropPreviousLogin (request: FastifyRequest, session: SessionLike, settings: Settings): Promise<void> {
  const device = cookieDevice(request, settings)
  const userId = storedUserId(session)
  const previous = userId === undefined ? null : await readSlot(session, userId, settings)
  if (previous !== null) {
    await deleteSlot(previous.record.u, previous.id, settings)
    await endSeriesOf(previous.record, settings)
  }
  if (device !== null) await endSeries(device.userId, device.id, settings)
}

/** `reply.login(user, options)`: see the README. */
export async function login (reply: FastifyReply, settings: Settings, user: LoginUser, options: LoginOptions = {}): Promise<boolean> {
  const request = reply.request
  const { remember = false, fresh = true, force = false } = options
  if (settings.loadUser === undefined) throw new InvalidUserError('reply.login() needs the loadUser option, to load the user on later requests')
  if (remember && settings.remember === null) throw new InvalidUserError('reply.login({ remember: true }) but rememberMe is turned off')
  const duration = remember && settings.remember !== null
    ? durationOption(options.duration, 'reply.login() duration', settings.remember.duration, DURATION_MAX.cookie)
    : 0
  const id = userIdOf(user, settings)
  const version = versionOf(settings.lifetime, user)
  // The app just handed over this user as it is now (maybe with a new password already saved, maybe deactivated):
  // a cached copy may be older than what a load would read, so it is dropped at once, also for a login refused just
  // below, and before the login's store writes, not only after them (else the user's other sessions would be judged
  // on the old copy, and let through, while those writes are in flight).
  forgetUser(settings, id)
  const active = settings.isUserActive(user)
  if (!force && !active) return false

  const session = sessionOf(request, settings)
  await dropPreviousLogin(request, session, settings)
  // A forced login of an inactive user is marked, so that later loads keep it (they refuse inactive users otherwise).
  const seriesId = newRememberId()
  const record = newRecord(clientOf(request), settings, { userId: id, fresh, forced: !active, remembered: false, version, remember: remember ? { id: seriesId, duration } : null })
  const secret = newRememberId()
  const series = remember ? newSeries(record, secret, settings) : null
  // The series is saved first: a failed save leaves no session naming a series that does not exist.
  if (series !== null) await saveSeries(seriesId, series, settings)
  await startSession(request, session, record, settings)
  if (settings.remember !== null) {
    // Without remember, an older remember cookie (maybe another user's) must not outlive this login.
    if (series !== null) queueRememberSet(request, settings.remember, { userId: id, duration, expiresAt: series.e, id: seriesId, secret })
    else queueRememberClear(request, settings.remember)
  }
  await clearCheckedAccount(request, settings)
  // And again: a load made during the login may have kept a copy older than the user handed over.
  forgetUser(settings, id)
  setCurrentUser(request, user, true)
  emitLoginEvent(settings.events, 'userLoggedIn', request, user, 'session')
  return true
}

/** `reply.logout(options)`: see the README. */
export async function logout (reply: FastifyReply, settings: Settings, options: LogoutOptions = {}): Promise<void> {
  const request = reply.request
  const session = sessionOf(request, settings)
  if (options.everywhere === true && settings.lifetime.store === null) throw new SessionsDisabledError()
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
  const slot = requestState(request).login
  const userId = slot?.record.u ?? storedUserId(session)
  const cookieId = cookieSessionId(session)
  const device = cookieDevice(request, settings)
  if (userId !== undefined) forgetUser(settings, userId)
  if (settings.remember !== null) queueRememberClear(request, settings.remember)
  setCurrentUser(request, settings.anonymousUser(request), false)
  // The cookie is cleared before the store is asked, so that even a store
  // failure (a 503) leaves this browser logged out.
  if (slot !== null) {
    await endSession(request, session, slot, 'logout', settings)
  } else {
    clearLogin(session)
    if (userId !== undefined && cookieId !== null) await deleteSlot(userId, cookieId, settings)
  }
  if (options.destroySession === true) session.delete()
  if (options.everywhere === true && userId !== undefined) {
    await endAll(userId, undefined, settings, request, request.log)
  } else {
    // This browser's remember-me devices end with it, and any other session one of them restored meanwhile.
    for (const end of devicesToEnd(slot, device)) await endDevice(end.userId, end.id, null, settings, request, request.log)
  }
  emitLoginEvent(settings.events, 'userLoggedOut', request, previous, 'session')
}

/** The remember-me devices a logout ends: its session's and its remember cookie's, once each. */
function devicesToEnd (slot: SessionSlot | null, device: { userId: string, id: string } | null): Array<{ userId: string, id: string }> {
  const out: Array<{ userId: string, id: string }> = []
  if (slot !== null && slot.id !== null && slot.record.m !== null) out.push({ userId: slot.record.u, id: slot.record.m })
  if (device !== null && !out.some((d) => d.userId === device.userId && d.id === device.id)) out.push(device)
  return out
}

// A concurrent touch by another tab changes the record; a few retries outlast that.
const CONFIRM_ATTEMPTS = 3

/** `reply.confirmLogin()`: the user re-authenticated, so the login is fresh again. */
export async function confirmLogin (reply: FastifyReply, settings: Settings): Promise<boolean> {
  const request = reply.request
  const session = sessionOf(request, settings)
  await loadCurrentUser(request, settings)
  const state = requestState(request)
  let slot = state.login
  for (let attempt = 0; slot !== null && isAuthenticated(request) && attempt < CONFIRM_ATTEMPTS; attempt++) {
    const next = { ...slot.record, f: true, a: settings.lifetime.clock() }
    if (settings.sessionProtection !== false) next.p = sessionIdentifier(request)
    const previous = slot.record
    if (await updateSlot(session, slot, next, settings)) {
      emitLoginEvent(settings.events, 'userLoginConfirmed', request, request.currentUser, 'session')
      return true
    }
    // The record changed since this request read it: read it again (gone: ended elsewhere, nothing to confirm).
    slot.record = previous
    slot = await readSlot(session, previous.u, settings)
    state.login = slot
  }
  return false
}

/** `request.loginFresh()`: logged in through the session, and fresh. */
export function loginFresh (request: FastifyRequest, settings: Settings): boolean {
  if (!settings.sessionEnabled) return false
  const slot = requestState(request).login
  return isAuthenticated(request) && slot !== null && recordFresh(slot.record, settings)
}
