import type { FastifyBaseLogger, FastifyRequest } from 'fastify'
import { SessionsDisabledError } from '../errors.js'
import type { Settings } from '../settings.js'
import { storeCall } from '../store/guarded.js'
import { sessionKey, sessionKeyPrefix } from '../store/keys.js'
import type { LoginSessionInfo, LoginSessions, LoginStore, RevokeAllOptions } from '../types/index.js'
import type { SessionSlot } from '../types/internal.js'
import { endAllSeries, endSeries, listSeries, type SeriesRecord } from '../remember/series.js'
import { endFamilies, endFamily, FAMILY_ID_PATTERN, listFamilies } from '../jwt/families.js'
import { PUBLIC_ID_PATTERN } from './carrier.js'
import { reportEnded } from './lifecycle.js'
import { endReason, isRecordOf, sessionInfo } from './record.js'

/*
 * A user's sessions, read and ended through the store's per-user index
 * (`fastify.loginSessions`, and `reply.logout({ everywhere: true })`). A
 * session past its timeout is not listed even while its record lingers.
 */

function storeOf (settings: Settings): LoginStore {
  if (settings.lifetime.store === null) throw new SessionsDisabledError()
  return settings.lifetime.store
}

function userIdArgument (userId: unknown): string {
  if (typeof userId !== 'string' || userId === '') throw new TypeError('loginSessions: userId must be a non-empty string')
  return userId
}

/** The live sessions of `userId`, with their public ids. */
async function liveSlots (store: LoginStore, userId: string, settings: Settings): Promise<Array<SessionSlot & { id: string }>> {
  const prefix = sessionKeyPrefix(userId)
  const keys = (await storeCall(() => store.keysOfUser(userId))).filter((key) => key.startsWith(prefix))
  const values = await Promise.all(keys.map((key) => storeCall(() => store.get(key))))
  const now = settings.lifetime.clock()
  const slots: Array<SessionSlot & { id: string }> = []
  values.forEach((record, i) => {
    if (isRecordOf(record, userId) && endReason(record, settings, now) === null) {
      slots.push({ record, id: (keys[i] as string).slice(prefix.length) })
    }
  })
  return slots
}

/**
 * Ends every live session of `userId` that `keep` does not keep, reporting
 * each as 'revoked'; answers how many it ended. Used by endDevice() and
 * endAll() below.
 */
async function revokeSessions (
  userId: string,
  keep: (slot: SessionSlot & { id: string }) => boolean,
  settings: Settings,
  request: FastifyRequest | null,
  log: FastifyBaseLogger
): Promise<number> {
  const store = storeOf(settings)
  let ended = 0
  for (const slot of await liveSlots(store, userId, settings)) {
    if (keep(slot)) continue
    if (await storeCall(() => store.delete(sessionKey(userId, slot.id)))) {
      ended++
      reportEnded(request, slot, 'revoked', settings, log)
    }
  }
  return ended
}

/*
 * Order matters against a remember-me restore running at the same time
 * (check the device, make a session, check the device again): devices are
 * ended first, then sessions are listed and ended. A restore whose session
 * was made after the listing finds its device gone at its second check and
 * drops that session itself.
 */

/**
 * Ends remember-me series `seriesId` of `userId` and every live session it
 * made but `except` (a public id); true when the series was live.
 */
export async function endDevice (userId: string, seriesId: string, except: string | null, settings: Settings, request: FastifyRequest | null, log: FastifyBaseLogger): Promise<boolean> {
  const ended = await endSeries(userId, seriesId, settings)
  await revokeSessions(userId, (slot) => slot.id === except || slot.record.m !== seriesId, settings, request, log)
  return ended
}

/** Logout everywhere and revokeAll(): every device of `userId` but the kept session's, then every session but that one. */
export async function endAll (userId: string, except: string | undefined, settings: Settings, request: FastifyRequest | null, log: FastifyBaseLogger): Promise<number> {
  const store = storeOf(settings)
  const kept = except === undefined || !PUBLIC_ID_PATTERN.test(except) ? null : await storeCall(() => store.get(sessionKey(userId, except)))
  // Remembered devices whose session already timed out are not listed: they end too.
  await endAllSeries(store, userId, isRecordOf(kept, userId) ? kept.m : null)
  // API sessions (refresh-token families) too: logging out everywhere reaches API clients.
  await endFamilies(userId, settings)
  return await revokeSessions(userId, (slot) => slot.id === except, settings, request, log)
}

/**
 * A stolen remember-me series (its reuse confirmed, the series poisoned):
 * every login of `userId` ends, browsers and API clients, and the poisoned
 * series last. A store failure half-way leaves that series in place, so its
 * next presenter, thief or victim, starts this again.
 */
export async function endAfterTheft (userId: string, seriesId: string, settings: Settings, request: FastifyRequest, log: FastifyBaseLogger): Promise<void> {
  await endAllSeries(storeOf(settings), userId, seriesId)
  await endFamilies(userId, settings)
  await revokeSessions(userId, () => false, settings, request, log)
  await endDevice(userId, seriesId, null, settings, request, log)
}

const SERIES_ID_PATTERN = /^[A-Za-z0-9_-]{22}$/

/**
 * One entry per device: each live session, with its series' expiry when it
 * has one, and each series whose session has ended (a timeout: the browser
 * logs in again from its cookie when it comes back).
 */
function devicesOf (slots: Array<SessionSlot & { id: string }>, series: Array<{ id: string, series: SeriesRecord }>, settings: Settings): LoginSessionInfo[] {
  const byId = new Map(series.map((entry) => [entry.id, entry.series]))
  const withSession = new Set<string>()
  const devices = slots.map((slot) => {
    const info = sessionInfo(slot, settings)
    const seriesId = slot.record.m
    const own = seriesId === null ? undefined : byId.get(seriesId)
    if (own !== undefined && seriesId !== null) {
      info.rememberedUntil = new Date(own.e)
      withSession.add(seriesId)
    }
    return info
  })
  for (const [id, record] of byId) {
    if (withSession.has(id)) continue
    devices.push({
      id,
      kind: 'remembered',
      createdAt: new Date(record.c),
      lastSeenAt: new Date(record.r),
      expiresAt: new Date(record.e),
      ip: record.ip,
      userAgent: record.ua,
      remembered: true,
      rememberedUntil: new Date(record.e)
    })
  }
  return devices
}

/** `fastify.loginSessions`. */
export function loginSessions (settings: Settings, log: FastifyBaseLogger): LoginSessions {
  return {
    async list (userId: string): Promise<LoginSessionInfo[]> {
      const store = storeOf(settings)
      userIdArgument(userId)
      const [slots, series, families] = await Promise.all([liveSlots(store, userId, settings), listSeries(store, userId, settings), listFamilies(userId, settings)])
      return [...devicesOf(slots, series, settings), ...families].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())
    },
    async revoke (userId: string, id: string): Promise<boolean> {
      const store = storeOf(settings)
      userIdArgument(userId)
      // A remembered device whose session is gone: its series, and any session it made meanwhile.
      if (typeof id === 'string' && SERIES_ID_PATTERN.test(id)) return await endDevice(userId, id, null, settings, null, log)
      if (typeof id === 'string' && FAMILY_ID_PATTERN.test(id)) return await endFamily(userId, id, settings)
      // An id of any other shape names no session (and never reaches a key).
      if (typeof id !== 'string' || !PUBLIC_ID_PATTERN.test(id)) return false
      const key = sessionKey(userId, id)
      const record = await storeCall(() => store.get(key))
      if (!isRecordOf(record, userId)) return false
      const live = endReason(record, settings, settings.lifetime.clock()) === null
      // "Log out this device": its remember-me device first, and any other session of that device with it.
      if (record.m !== null) await endDevice(userId, record.m, id, settings, null, log)
      const deleted = await storeCall(() => store.delete(key))
      if (!deleted || !live) return false
      reportEnded(null, { record, id }, 'revoked', settings, log)
      return true
    },
    async revokeAll (userId: string, options: RevokeAllOptions = {}): Promise<number> {
      storeOf(settings)
      return await endAll(userIdArgument(userId), options.except, settings, null, log)
    }
  }
}
