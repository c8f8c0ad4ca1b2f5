import type { FastifyRequest } from 'fastify'
import { andThen, type MaybePromise } from '../internal/hook-adapter.js'
import { emitLoginEvent } from '../internal/events.js'
import { logRefusal } from '../internal/debug-log.js'
import { queueRememberClear, queueRememberSet, readRememberCookie } from '../remember/cookie.js'
import { restoreLogin } from '../remember/restore.js'
import { sessionIdentifier } from '../session/identifier.js'
import { acceptSessionUser, keepsSession, openSession } from '../session/lifecycle.js'
import { sessionOf, storedUserId } from '../session/state.js'
import type { Settings } from '../settings.js'
import type { LoginUser } from '../types/index.js'
import { forgetUser } from './cache.js'

/*
 * Where a request's user can come from, in Flask-Login's order: the session,
 * then the remember cookie, then the request loader. Each source answers the
 * user it found or null (look further), directly or as a promise. Two
 * deliberate differences from Flask-Login: an invalid remember cookie does
 * not keep the request loader from running (its PR #901), and an inactive
 * user is never loaded, so deactivating an account ends its sessions at
 * their next request.
 */

/** One place to find the user: the user, or null to look in the next source. */
export type UserSource = (request: FastifyRequest) => MaybePromise<LoginUser | null>

type Found = LoginUser | null | undefined

function usable (user: Found, settings: Settings): user is LoginUser {
  return user !== null && user !== undefined && settings.isUserActive(user)
}

/** The login session the cookie points at, if it is live and session protection lets it through. */
function fromSession (settings: Settings, loadUser: NonNullable<Settings['loadUser']>): UserSource {
  return (request) => {
    const session = sessionOf(request, settings)
    const userId = storedUserId(session)
    if (userId === undefined) return null
    return andThen(openSession(request, session, userId, settings), (opened) => {
      if (opened === null) return null
      const { record } = opened.slot
      // What acceptSessionUser lets through; a cached user it would refuse is loaded again first.
      const cache = settings.userCache
      const loaded = cache === null
        ? loadUser(userId, request) as MaybePromise<Found>
        : cache.load(userId, request, loadUser, (user) => keepsSession(record, user, settings))
      return andThen(loaded, (user) => andThen(acceptSessionUser(request, session, opened, user, settings), (accepted) => {
        const remember = settings.remember
        if (accepted !== null && remember?.refreshEachRequest === true) {
          const { token } = readRememberCookie(request, remember)
          if (token !== null && token.userId === userId) {
            queueRememberSet(request, remember, { ...token, expiresAt: settings.lifetime.clock() + token.duration * 1000 })
          }
        }
        return accepted
      }))
    })
  }
}

/** A login restored from the remember cookie: a new session, not fresh. */
function fromRememberCookie (settings: Settings, loadUser: NonNullable<Settings['loadUser']>): UserSource {
  const remember = settings.remember
  return (request) => {
    if (remember === null) return null
    const { present, token } = readRememberCookie(request, remember)
    if (!present) return null
    if (token === null) {
      queueRememberClear(request, remember)
      logRefusal(request, 'remember-me cookie invalid', { via: 'remember' })
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
    // Never from the user cache: a restore happens once per browser session, and its series is ended
    // when the user's auth version differs, which a stale cached user must not decide.
    return andThen(loadUser(token.userId, request) as MaybePromise<Found>, (user) => {
      // This load is the user as she is now (maybe deactivated, maybe with a new password): a cached copy is
      // older, and must not keep her other sessions going until it expires.
      forgetUser(settings, token.userId)
      if (!usable(user, settings)) {
        queueRememberClear(request, remember)
        logRefusal(request, 'user not found or inactive', { via: 'remember', userId: token.userId })
        return null
      }
      return restoreLogin(request, settings, remember, token, user)
    })
  }
}

/** The app's `loadUserFromRequest` (an API key, a header): writes nothing to the session. */
function fromRequest (settings: Settings, loadUserFromRequest: NonNullable<Settings['loadUserFromRequest']>): UserSource {
  return (request) => andThen(loadUserFromRequest(request) as MaybePromise<Found>, (user) => {
    if (!usable(user, settings)) return null
    emitLoginEvent(settings.events, 'userLoadedFromRequest', request, user, 'request')
    return user
  })
}

/** The sources this configuration has, in the order they are asked. */
export function userSources (settings: Settings): UserSource[] {
  const sources: UserSource[] = []
  const { loadUser, loadUserFromRequest } = settings
  if (loadUser !== undefined && settings.sessionEnabled) sources.push(fromSession(settings, loadUser), fromRememberCookie(settings, loadUser))
  if (loadUserFromRequest !== undefined) sources.push(fromRequest(settings, loadUserFromRequest))
  return sources
}
