import type { FastifyRequest } from 'fastify'
import { emitEvent, emitLoginEvent } from '../internal/events.js'
import { logRefusal } from '../internal/debug-log.js'
import { andThen, type MaybePromise } from '../internal/hook-adapter.js'
import { requestState } from '../internal/request-state.js'
import { rotate, type Rotated } from '../rotation/rotate.js'
import { versionMatches, versionOf } from '../session/auth-version.js'
import { readSlot } from '../session/carrier.js'
import { endAfterTheft } from '../session/devices.js'
import { abandonSession, startSession } from '../session/lifecycle.js'
import { clientOf, endReason, newRecord } from '../session/record.js'
import { clearLogin, rotateSession, SECRET_KEY, sessionOf, USER_ID_KEY, type SessionLike } from '../session/state.js'
import type { RememberSettings, Settings } from '../settings.js'
import { rememberSeriesKey } from '../store/keys.js'
import type { LoginStore, LoginUser } from '../types/index.js'
import type { RememberToken } from '../types/internal.js'
import { queueRememberClear, queueRememberSet } from './cookie.js'
import { endSeries, isSeriesOf, type SeriesRecord } from './series.js'
import { newRememberId } from './token.js'

/*
 * A login restored from the remember cookie: a new session, never fresh.
 *
 * With a store, the restore spends the cookie's series secret (see
 * rotation/rotate.ts): the winner of the compare-and-set makes the session
 * and the next secret; a tab that presented the same cookie within
 * `reuseGrace` joins that session and gets that same next cookie (Spring
 * Security's persistent tokens log such users out, its SEC-2856); a secret
 * that is neither current nor just replaced means the cookie was copied,
 * and every login of the user ends.
 */

/** What a restore hands to a tab presenting the secret it spent: the next secret and the session it made. */
type RestoreAnswer = { t: string, k: string }

/** Restores `user`, whose id the valid `token` carries. */
export function restoreLogin (request: FastifyRequest, settings: Settings, remember: RememberSettings, token: RememberToken, user: LoginUser): MaybePromise<LoginUser | null> {
  const store = settings.lifetime.store
  const session = sessionOf(request, settings)
  if (store !== null) return restoreSeries(request, session, store, settings, remember, token, user)
  // Stateless (`store: false`): the sealed token is all there is; nothing can notice a copy.
  const record = newRecord(clientOf(request), settings, {
    userId: token.userId, fresh: false, forced: false, remembered: true, version: versionOf(settings.lifetime, user), remember: { id: token.id, duration: token.duration }
  })
  return andThen(startSession(request, session, record, settings), () => {
    if (remember.refreshEachRequest) {
      queueRememberSet(request, remember, { ...token, expiresAt: settings.lifetime.clock() + token.duration * 1000 })
    }
    emitLoginEvent(settings.events, 'userLoadedFromCookie', request, user, 'remember')
    return user
  })
}

function restoreSeries (
  request: FastifyRequest,
  session: SessionLike,
  store: LoginStore,
  settings: Settings,
  remember: RememberSettings,
  token: RememberToken,
  user: LoginUser
): MaybePromise<LoginUser | null> {
  const { userId } = token
  const clock = settings.lifetime.clock
  const rotated = rotate<SeriesRecord, RestoreAnswer>({
    store,
    key: rememberSeriesKey(userId, token.id),
    secret: token.secret,
    graceMs: remember.reuseGraceMs,
    graceKeys: remember.graceKeys,
    clock,
    isRecord: (value): value is SeriesRecord => isSeriesOf(value, userId, clock()),
    // A password changed since the login: the series ends with the sessions it made.
    accept: (series) => versionMatches(settings.lifetime, series.v, user),
    successor: (series) => {
      // The session is made before the compare-and-set that spends the secret: a revoke that
      // deletes the series after it finds this session in the user's index and ends it too.
      const record = newRecord(clientOf(request), settings, {
        userId, fresh: false, forced: false, remembered: true, version: series.v, remember: { id: token.id, duration: series.d }
      })
      return andThen(startSession(request, session, record, settings), () => {
        const secret = newRememberId()
        const e = remember.refreshEachRequest ? clock() + series.d * 1000 : series.e
        return { secret, answer: { t: secret, k: session.get(SECRET_KEY) as string }, record: { e, ip: record.ip, ua: record.ua, s: requestState(request).login?.id ?? null } }
      })
    },
    discard: () => abandonSession(request, session, settings),
    options: (next) => ({ ttlMs: Math.max(1, next.e - clock()), userId })
  })
  return andThen(rotated, (outcome) => settleRestore(request, session, settings, remember, token, user, outcome))
}

/** What the rotation decided, carried out on this request. */
function settleRestore (
  request: FastifyRequest,
  session: SessionLike,
  settings: Settings,
  remember: RememberSettings,
  token: RememberToken,
  user: LoginUser,
  outcome: Rotated<SeriesRecord, RestoreAnswer>
): MaybePromise<LoginUser | null> {
  const { userId } = token
  if (outcome.kind === 'gone' || outcome.kind === 'refused') {
    // Logged out, revoked, expired, or made with a password that has changed since.
    queueRememberClear(request, remember)
    logRefusal(request, `remember-me series ${outcome.kind}`, { via: 'remember', userId })
    return outcome.kind === 'refused' ? andThen(endSeries(userId, token.id, settings), () => null) : null
  }
  if (outcome.kind === 'reused') {
    // The alarm first: the series is poisoned by now (every secret of it counts as reused), so if the store
    // fails while the logins are ended, the next presenter of the cookie, thief or victim, starts this again.
    queueRememberClear(request, remember)
    request.log.warn({ userId }, 'fastify-login: a replaced remember-me token came back; every login of the user is ended')
    emitEvent(settings.events, 'rememberTokenReused', { request, userId, via: 'remember' })
    return endAfterTheft(userId, token.id, settings, request, request.log).then(() => null)
  }
  const { record: series, answer } = outcome
  // Either way the browser gets the series' current secret: a graced tab holds the same cookie as the winner.
  queueRememberSet(request, remember, { userId, duration: series.d, expiresAt: series.e, id: token.id, secret: answer.t })
  const joined = outcome.kind === 'graced' ? joinSession(request, session, userId, answer.k, settings) : true
  return andThen(joined, (ok) => {
    if (!ok) return null
    emitLoginEvent(settings.events, 'userLoadedFromCookie', request, user, 'remember')
    return user
  })
}

/**
 * A tab within the grace: its cookie now points at the session the winning
 * restore made, if that is still live. If it ended meanwhile (logged out,
 * or past a short idle timeout) this request is anonymous, and its next one
 * restores afresh with the current secret, unless the series went with it.
 */
function joinSession (request: FastifyRequest, session: SessionLike, userId: string, secret: string, settings: Settings): MaybePromise<boolean> {
  rotateSession(session, settings.keepSessionKeys)
  session.set(USER_ID_KEY, userId)
  session.set(SECRET_KEY, secret)
  return andThen(readSlot(session, userId, settings), (slot) => {
    if (slot === null || endReason(slot.record, settings, settings.lifetime.clock()) !== null) {
      clearLogin(session)
      return false
    }
    requestState(request).login = slot
    return true
  })
}
