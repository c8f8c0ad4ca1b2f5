import type { FastifyBaseLogger, FastifyRequest } from 'fastify'
import { SessionsDisabledError } from '../errors.js'
import type { Settings } from '../settings.js'
import { storeCall } from '../store/guarded.js'
import { sessionKey, sessionKeyPrefix } from '../store/keys.js'
import type { LoginSessionInfo, LoginSessions, LoginStore, RevokeAllOptions } from '../types/index.js'
import type { SessionSlot } from '../types/internal.js'
import { endRememberDevice, endRememberDevices } from '../remember/devices.js'
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
 * Ends every live session of `userId` but `except`, reporting each as
 * 'revoked'; answers how many it ended. Used by revokeAll() and by a logout
 * everywhere (which ends its own session itself, as 'logout').
 */
export async function revokeSessions (userId: string, except: string | undefined, settings: Settings, request: FastifyRequest | null, log: FastifyBaseLogger): Promise<number> {
  const store = storeOf(settings)
  let ended = 0
  for (const slot of await liveSlots(store, userId, settings)) {
    if (slot.id === except) continue
    if (await storeCall(() => store.delete(sessionKey(userId, slot.id)))) {
      ended++
      await endRememberDevice(slot.record, settings)
      reportEnded(request, slot, 'revoked', settings, log)
    }
  }
  return ended
}

/** `fastify.loginSessions`. */
export function loginSessions (settings: Settings, log: FastifyBaseLogger): LoginSessions {
  return {
    async list (userId: string): Promise<LoginSessionInfo[]> {
      const slots = await liveSlots(storeOf(settings), userIdArgument(userId), settings)
      return slots.sort((a, b) => b.record.c - a.record.c).map((slot) => sessionInfo(slot, settings))
    },
    async revoke (userId: string, id: string): Promise<boolean> {
      const store = storeOf(settings)
      userIdArgument(userId)
      // An id of any other shape names no session (and never reaches a key).
      if (typeof id !== 'string' || !PUBLIC_ID_PATTERN.test(id)) return false
      const key = sessionKey(userId, id)
      const record = await storeCall(() => store.get(key))
      if (!isRecordOf(record, userId)) return false
      const live = endReason(record, settings, settings.lifetime.clock()) === null
      const deleted = await storeCall(() => store.delete(key))
      if (!deleted || !live) return false
      await endRememberDevice(record, settings)
      reportEnded(null, { record, id }, 'revoked', settings, log)
      return true
    },
    async revokeAll (userId: string, options: RevokeAllOptions = {}): Promise<number> {
      const store = storeOf(settings)
      userIdArgument(userId)
      const { except } = options
      const kept = except === undefined || !PUBLIC_ID_PATTERN.test(except) ? null : await storeCall(() => store.get(sessionKey(userId, except)))
      const ended = await revokeSessions(userId, except, settings, null, log)
      // Remembered devices whose session already timed out are not listed: they end too, all but the kept one's.
      await endRememberDevices(userId, isRecordOf(kept, userId) ? kept.m : null, settings)
      return ended
    }
  }
}
