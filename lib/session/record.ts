import type { FastifyRequest } from 'fastify'
import type { Settings } from '../settings.js'
import type { LoginSessionInfo } from '../types/index.js'
import type { LoginRecord, SessionSlot } from '../types/internal.js'
import { identifierOf } from './identifier.js'

/*
 * A login session's record and the rules read from it: when it ends, when
 * it is fresh, when its last-seen time is due to be written. The same rules
 * hold whether the record sits in the store or, with `store: false`, in the
 * cookie: the timeouts are decided from the record, whatever the cookie's
 * own expiry says.
 */

// A stored record outlives its timeout by this much, so that the request
// that comes back late finds it and can say why it ended ('idle', 'absolute')
// instead of seeing it vanish. Past its timeout a record is never accepted.
const LINGER_MS = 5 * 60_000
// Client-sent text kept in a record (and shown on a devices page) is cut here.
export const MAX_USER_AGENT = 512

export interface NewRecord {
  userId: string
  fresh: boolean
  forced: boolean
  remembered: boolean
  version: string | null
  /** The remember-me token this session goes with, if any: its device id and lifetime (seconds). */
  remember: { id: string, duration: number } | null
}

/** The client a session is made for: its address and User-Agent. */
export interface SessionClient { ip: string, userAgent: string | undefined }

/** The client of `request`. */
export function clientOf (request: FastifyRequest): SessionClient {
  return { ip: request.ip, userAgent: request.headers['user-agent'] }
}

/** A record for a session of `client` starting now. */
export function newRecord (client: SessionClient, settings: Settings, options: NewRecord): LoginRecord {
  const now = settings.lifetime.clock()
  return {
    u: options.userId,
    c: now,
    s: now,
    a: now,
    f: options.fresh,
    p: settings.sessionProtection === false ? null : identifierOf(client.ip, client.userAgent),
    F: options.forced,
    r: options.remembered,
    ip: client.ip,
    ua: (client.userAgent ?? '').slice(0, MAX_USER_AGENT),
    v: options.version,
    m: options.remember?.id ?? null,
    md: options.remember?.duration ?? null
  }
}

/** When the record ends if not seen again (ms), or null when no timeout is on. */
function recordExpiresAt (record: LoginRecord, settings: Settings): number | null {
  const { idleTimeoutMs, absoluteTimeoutMs } = settings.lifetime
  const idle = idleTimeoutMs === null ? Infinity : record.s + idleTimeoutMs
  const absolute = absoluteTimeoutMs === null ? Infinity : record.c + absoluteTimeoutMs
  const end = Math.min(idle, absolute)
  return end === Infinity ? null : end
}

/** Why the record has ended by `now`, or null while it is live. */
export function endReason (record: LoginRecord, settings: Settings, now: number): 'idle' | 'absolute' | null {
  const { idleTimeoutMs, absoluteTimeoutMs } = settings.lifetime
  // Absolute first: it is the one the user cannot extend.
  if (absoluteTimeoutMs !== null && now >= record.c + absoluteTimeoutMs) return 'absolute'
  if (idleTimeoutMs !== null && now >= record.s + idleTimeoutMs) return 'idle'
  return null
}

/** How long the store keeps the record from `now`: until its end and a little more, or as long as the cookie lasts. */
export function recordTtlMs (record: LoginRecord, settings: Settings, now: number): number {
  const end = recordExpiresAt(record, settings)
  return Math.max(1, Math.ceil((end ?? now + settings.cookieExpiryMs) - now + LINGER_MS))
}

/** Whether `lastSeenAt` is due to be written (at most once per touchInterval: no store write per request). */
export function touchDue (record: LoginRecord, settings: Settings, now: number): boolean {
  return now - record.s >= settings.lifetime.touchIntervalMs
}

/** Fresh: marked so at login or confirmLogin(), and authenticated less than `freshFor` ago. */
export function recordFresh (record: LoginRecord, settings: Settings): boolean {
  const freshForMs = settings.lifetime.freshForMs
  return record.f && (freshForMs === null || settings.lifetime.clock() - record.a < freshForMs)
}

/** The public view of a session (`request.loginSession`, `loginSessions.list()`). */
export function sessionInfo (slot: SessionSlot & { id: string }, settings: Settings): LoginSessionInfo {
  const { record } = slot
  const expiresAt = recordExpiresAt(record, settings)
  return {
    id: slot.id,
    kind: 'session',
    createdAt: new Date(record.c),
    lastSeenAt: new Date(record.s),
    expiresAt: expiresAt === null ? null : new Date(expiresAt),
    ip: record.ip,
    userAgent: record.ua,
    remembered: record.r,
    rememberedUntil: null
  }
}

const FIELDS: Record<keyof LoginRecord, (value: unknown) => boolean> = {
  u: (v) => typeof v === 'string' && v !== '',
  c: Number.isSafeInteger,
  s: Number.isSafeInteger,
  a: Number.isSafeInteger,
  f: (v) => typeof v === 'boolean',
  p: (v) => v === null || typeof v === 'string',
  F: (v) => typeof v === 'boolean',
  r: (v) => typeof v === 'boolean',
  ip: (v) => typeof v === 'string',
  ua: (v) => typeof v === 'string',
  v: (v) => v === null || typeof v === 'string',
  m: (v) => v === null || typeof v === 'string',
  md: (v) => v === null || Number.isSafeInteger(v)
}
const FIELD_CHECKS = Object.entries(FIELDS)

/**
 * Whether `value` is a record of `userId`: anything else (an older cookie
 * format, a store entry of another shape, another user's record) is treated
 * as no session at all.
 */
export function isRecordOf (value: unknown, userId: string): value is LoginRecord {
  if (value === null || typeof value !== 'object') return false
  for (const [field, check] of FIELD_CHECKS) {
    if (!check((value as Record<string, unknown>)[field])) return false
  }
  return (value as LoginRecord).u === userId
}
