import type { FastifyBaseLogger, FastifyRequest } from 'fastify'
import { andThen, type MaybePromise } from '../internal/hook-adapter.js'
import { emitLoginEvent, emitSessionEnded } from '../internal/events.js'
import { logRefusal } from '../internal/debug-log.js'
import { requestState } from '../internal/request-state.js'
import type { Settings } from '../settings.js'
import type { LoginUser, SessionEndReason } from '../types/index.js'
import type { LoginRecord, SessionSlot } from '../types/internal.js'
import { endSeriesOf, extendSeries } from '../remember/series.js'
import { versionMatches } from './auth-version.js'
import { createSlot, deleteSlot, readSlot, updateSlot } from './carrier.js'
import { sessionIdentifier } from './identifier.js'
import { protectSession } from './protection.js'
import { endReason, sessionInfo, touchDue } from './record.js'
import { clearLogin, rotateSession, USER_ID_KEY, type SessionLike } from './state.js'
import { forgetUser } from '../user/cache.js'

/*
 * A login session from start to end: made by a login or a remember-me
 * restore, checked on every request that reads it (timeouts, protection,
 * the user's auth version), touched at most once per touchInterval, and
 * ended by logout, a timeout, a revoke or a change of credentials.
 */

/** Starts a session: a new record saved, then the old session's data dropped (fixation) and the cookie pointed at it. */
export function startSession (request: FastifyRequest, session: SessionLike, record: LoginRecord, settings: Settings): MaybePromise<void> {
  return andThen(createSlot(record, settings), ({ slot, cookie }) => {
    rotateSession(session, settings.keepSessionKeys)
    session.set(USER_ID_KEY, record.u)
    for (const [key, value] of Object.entries(cookie)) session.set(key, value)
    requestState(request).login = slot
  })
}

/** Drops the session this request just started (no event: it never served a request). */
export function abandonSession (request: FastifyRequest, session: SessionLike, settings: Settings): MaybePromise<void> {
  const state = requestState(request)
  const slot = state.login
  clearLogin(session)
  state.login = null
  if (slot === null) return
  return andThen(deleteSlot(slot.record.u, slot.id, settings), () => undefined)
}

/** Tells `sessionEnded` listeners that `slot` ended (`log` for their failures). */
export function reportEnded (request: FastifyRequest | null, slot: SessionSlot, reason: SessionEndReason, settings: Settings, log: FastifyBaseLogger): void {
  // Every ended session passes here (logout, revoke, timeout, auth version, protection): the next load is fresh.
  forgetUser(settings, slot.record.u)
  emitSessionEnded(settings.events, {
    request,
    userId: slot.record.u,
    session: slot.id === null ? null : sessionInfo({ record: slot.record, id: slot.id }, settings),
    reason
  }, log)
}

/**
 * Ends the request's session: its record deleted, the login keys cleared
 * from the cookie. Unless it merely timed out (remember-me exists to come
 * back after that), its remember-me device is ended too.
 */
export function endSession (request: FastifyRequest, session: SessionLike, slot: SessionSlot, reason: SessionEndReason, settings: Settings): MaybePromise<null> {
  clearLogin(session)
  requestState(request).login = null
  const timedOut = reason === 'idle' || reason === 'absolute'
  return andThen(deleteSlot(slot.record.u, slot.id, settings), (deleted) => {
    // Two requests finding the same ended session: the one whose delete removed it reports it.
    if (!deleted && slot.id !== null) return null
    return andThen(timedOut ? undefined : endSeriesOf(slot.record, settings), () => {
      reportEnded(request, slot, reason, settings, request.log)
      return null
    })
  })
}

/**
 * The request's session, if its cookie points at a live one: past a timeout
 * it ends ('idle', 'absolute'); refused by strong protection it ends
 * ('protection'); gone from the store (revoked, or ended elsewhere) the
 * cookie's login is cleared. Answers the slot and whether basic protection
 * marked it stale.
 */
export function openSession (request: FastifyRequest, session: SessionLike, userId: string, settings: Settings): MaybePromise<{ slot: SessionSlot, marked: boolean } | null> {
  return andThen(readSlot(session, userId, settings), (slot) => {
    if (slot === null) {
      // Revoked, logged out elsewhere, or gone with its store: the cookie's login is over.
      clearLogin(session)
      logRefusal(request, 'session not found', { via: 'session', userId })
      return null
    }
    const ended = endReason(slot.record, settings, settings.lifetime.clock())
    if (ended !== null) return endSession(request, session, slot, ended, settings)
    const protection = protectSession(request, slot.record, settings)
    if (protection === 'dropped') {
      emitLoginEvent(settings.events, 'sessionProtected', request, settings.anonymousUser(request), 'session')
      return endSession(request, session, slot, 'protection', settings)
    }
    return { slot, marked: protection === 'marked' }
  })
}

/** A user the session login holds: present, active (or logged in with `force`). */
function userHeld (record: LoginRecord, user: LoginUser | null | undefined, settings: Settings): user is LoginUser {
  return user !== null && user !== undefined && (record.F || settings.isUserActive(user))
}

/** Whether acceptSessionUser keeps the session for `user`: what a cached user must pass to be used (user/cache.ts). */
export function keepsSession (record: LoginRecord, user: LoginUser | null | undefined, settings: Settings): boolean {
  return userHeld(record, user, settings) && versionMatches(settings.lifetime, record.v, user)
}

/**
 * The session's user is loaded: a user gone or deactivated (unless the login
 * was forced) drops the login; an auth version that no longer matches ends
 * the session. Otherwise the session is this request's, and its record is
 * written back if protection marked it or its last-seen time is due.
 */
export function acceptSessionUser (
  request: FastifyRequest,
  session: SessionLike,
  opened: { slot: SessionSlot, marked: boolean },
  user: LoginUser | null | undefined,
  settings: Settings
): MaybePromise<LoginUser | null> {
  const { slot, marked } = opened
  const { record } = slot
  if (!userHeld(record, user, settings)) {
    // The user is gone or deactivated: forget the login and its remember-me device (no event: nobody ended a session on purpose).
    clearLogin(session)
    logRefusal(request, 'user not found or inactive', { via: 'session', userId: record.u })
    return andThen(deleteSlot(record.u, slot.id, settings), () => andThen(endSeriesOf(record, settings), () => null))
  }
  if (!versionMatches(settings.lifetime, record.v, user)) return endSession(request, session, slot, 'authVersion', settings)
  requestState(request).login = slot
  if (marked) emitLoginEvent(settings.events, 'sessionProtected', request, user, 'session')
  const now = settings.lifetime.clock()
  const touch = touchDue(record, settings, now)
  if (!marked && !touch) return user
  const next = { ...record }
  if (marked) {
    next.f = false
    next.p = sessionIdentifier(request)
  }
  if (touch) {
    next.s = now
    // The cookie is re-issued too, so its own expiry (session.expiry) follows the activity.
    session.set(USER_ID_KEY, record.u)
  }
  return andThen(updateSlot(session, slot, next, settings), (written) => {
    if (!written) return stillLive(request, session, slot, user, settings)
    // A token re-issued on every request outlives its first expiry: its series follows, once per touch
    // (only while it exists: a revoke that deleted it must not be undone).
    if (!touch || next.m === null || settings.remember?.refreshEachRequest !== true) return user
    return andThen(extendSeries(next.u, next.m, settings), () => user)
  })
}

/**
 * The record changed between this request's read and its write: another
 * tab touched it (the session goes on), or a logout or revoke deleted it
 * (this request is anonymous after all, and its cookie's login is cleared).
 */
function stillLive (request: FastifyRequest, session: SessionLike, slot: SessionSlot, user: LoginUser, settings: Settings): MaybePromise<LoginUser | null> {
  return andThen(readSlot(session, slot.record.u, settings), (current) => {
    if (current !== null) return user
    clearLogin(session)
    requestState(request).login = null
    return null
  })
}
