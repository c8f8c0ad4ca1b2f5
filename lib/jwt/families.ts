import type { FastifyRequest } from 'fastify'
import { emitEvent } from '../internal/events.js'
import { randomToken } from '../internal/random.js'
import type { MaybePromise } from '../internal/hook-adapter.js'
import { firstFields, type RotatingFields } from '../rotation/rotate.js'
import { MAX_USER_AGENT, type SessionClient } from '../session/record.js'
import type { Settings } from '../settings.js'
import { storeCall } from '../store/guarded.js'
import { familyKey, familyPrefix } from '../store/keys.js'
import { forgetUser } from '../user/cache.js'
import type { LoginSessionInfo, StoreValue } from '../types/index.js'

/*
 * Refresh-token families, at the store level. A login at the token endpoint
 * (or `createRefreshToken()`) starts a family: one record under
 * `jwtfam:<user tag>:<family id>`, in the user's index, holding the hash of
 * the one refresh token that is current (lib/rotation/rotate.ts spends it).
 * Every token of the family carries the id as its `fam` claim, and is
 * accepted only while the record exists: deleting the record ends the API
 * session, its refresh and access tokens alike. A family is what
 * `fastify.loginSessions` lists as `kind: 'api'`.
 *
 * This module knows nothing of JWTs (lib/session/devices.ts imports it, and
 * must not pull the token code in).
 */

/** A family record: the rotating fields and what a devices page shows. */
export type FamilyRecord = RotatingFields & {
  /** Created (the login), ms of the plugin's clock. */
  c: number
  /** Last refresh, ms. */
  s: number
  /** When the current refresh token expires, ms. */
  e: number
  /** The user's auth version hash at login, or null without `authVersion`. */
  v: string | null
  ip: string
  ua: string
} & StoreValue

/** A family id: 18 random bytes, 24 base64url characters (session ids have 43, remember series 22). */
export const FAMILY_ID_PATTERN = /^[A-Za-z0-9_-]{24}$/

/** A new family id. */
export function newFamilyId (): string {
  return randomToken(18)
}

const FIELDS: Record<keyof FamilyRecord, (value: unknown) => boolean> = {
  u: (v) => typeof v === 'string' && v !== '',
  h: (v) => typeof v === 'string',
  p: (v) => v === null || typeof v === 'string',
  r: Number.isSafeInteger,
  g: (v) => v === null || typeof v === 'string',
  c: Number.isSafeInteger,
  s: Number.isSafeInteger,
  e: Number.isSafeInteger,
  v: (v) => v === null || typeof v === 'string',
  ip: (v) => typeof v === 'string',
  ua: (v) => typeof v === 'string'
}
const FIELD_CHECKS = Object.entries(FIELDS)

/** Whether `value` is a family record of `userId` (anything else counts as no family). */
export function isFamilyOf (value: unknown, userId: string): value is FamilyRecord {
  if (value === null || typeof value !== 'object') return false
  for (const [field, check] of FIELD_CHECKS) {
    if (!check((value as Record<string, unknown>)[field])) return false
  }
  return (value as FamilyRecord).u === userId
}

/** The record of a family starting now, whose current refresh token has id `secret` and expires at `expiresAt` (ms). */
export function newFamily (userId: string, secret: string, client: SessionClient, expiresAt: number, version: string | null, now: number): FamilyRecord {
  return {
    ...firstFields(userId, secret, now),
    c: now,
    s: now,
    e: expiresAt,
    v: version,
    ip: client.ip,
    ua: (client.userAgent ?? '').slice(0, MAX_USER_AGENT)
  }
}

/** Stores a new family for `ttlMs`, in its user's index. */
export function saveFamily (id: string, record: FamilyRecord, ttlMs: number, settings: Settings): MaybePromise<void> {
  const store = settings.lifetime.stateStore
  return storeCall(() => store.set(familyKey(record.u, id), record, { ttlMs, userId: record.u }))
}

/**
 * A spent refresh token came back after the grace (the reuse confirmed by
 * the store, lib/rotation/rotate.ts): `refreshTokenReused` first, so that
 * the alarm is raised even if the store fails while the family is ended
 * (its record is poisoned by then, and refuses every token of it), then the
 * family ends.
 */
export async function endReusedFamily (request: FastifyRequest, userId: string, id: string, settings: Settings): Promise<void> {
  request.log.warn({ userId }, 'fastify-login: a spent refresh token came back; its token family is ended')
  emitEvent(settings.events, 'refreshTokenReused', { request, userId, via: 'jwt' })
  await endFamily(userId, id, settings)
}

/** Ends family `id` of `userId` (its every token is refused from now on); true when it was there. */
export async function endFamily (userId: string, id: string, settings: Settings): Promise<boolean> {
  // An id of any other shape names no family (and never reaches a key).
  if (!FAMILY_ID_PATTERN.test(id)) return false
  forgetUser(settings, userId)
  const store = settings.lifetime.stateStore
  return await storeCall(() => store.delete(familyKey(userId, id)))
}

/** The family keys in `userId`'s index. */
async function familyKeys (userId: string, settings: Settings): Promise<string[]> {
  const prefix = familyPrefix(userId)
  const store = settings.lifetime.stateStore
  return (await storeCall(() => store.keysOfUser(userId))).filter((key) => key.startsWith(prefix))
}

/** Ends every family of `userId` (logout everywhere, `revokeAll()`, `revokeAllTokens()`); answers how many were there. */
export async function endFamilies (userId: string, settings: Settings): Promise<number> {
  forgetUser(settings, userId)
  const store = settings.lifetime.stateStore
  const ended = await Promise.all((await familyKeys(userId, settings)).map((key) => storeCall(() => store.delete(key))))
  return ended.filter(Boolean).length
}

/** The live families of `userId` as API sessions, newest first. */
export async function listFamilies (userId: string, settings: Settings): Promise<LoginSessionInfo[]> {
  const store = settings.lifetime.stateStore
  const prefix = familyPrefix(userId)
  const keys = await familyKeys(userId, settings)
  const values = await Promise.all(keys.map((key) => storeCall(() => store.get(key))))
  const now = settings.lifetime.clock()
  const sessions: LoginSessionInfo[] = []
  values.forEach((record, i) => {
    if (isFamilyOf(record, userId) && now < record.e) sessions.push(familyInfo((keys[i] as string).slice(prefix.length), record))
  })
  return sessions.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())
}

/** The public view of family `id`. */
function familyInfo (id: string, record: FamilyRecord): LoginSessionInfo {
  return {
    id,
    kind: 'api',
    createdAt: new Date(record.c),
    lastSeenAt: new Date(record.s),
    expiresAt: new Date(record.e),
    ip: record.ip,
    userAgent: record.ua,
    remembered: false,
    rememberedUntil: null
  }
}
