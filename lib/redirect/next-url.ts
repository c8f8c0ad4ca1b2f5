import type { FastifyRequest } from 'fastify'
import { NEXT_KEY, sessionOf } from '../session/state.js'
import type { Settings } from '../settings.js'
import type { NextUrlOptions } from '../types/index.js'
import { safeNextUrl } from './safe-next.js'

/**
 * A `next` value as a body parser left it: a string (JSON, urlencoded,
 * multipart with `attachFieldsToBody: 'keyValues'`), or a multipart field
 * object (`attachFieldsToBody: true`: `{ type: 'field', value, ... }`). A file
 * part named `next` (an object of type 'file', or its Buffer with
 * 'keyValues'), a repeated field (an array) and a value multipart cut short
 * (`valueTruncated`) give nothing: a redirect target is one whole string.
 */
function candidateOf (value: unknown): unknown {
  if (typeof value === 'string') return value
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined
  const field = value as { type?: unknown, value?: unknown, valueTruncated?: unknown }
  return field.type === 'field' && typeof field.value === 'string' && field.valueTruncated !== true ? field.value : undefined
}

/** The request's own `next`: from the session with `useSessionForNext` (then removed: used once), else the query string, else the body. */
function requestCandidate (request: FastifyRequest, settings: Settings): unknown {
  if (settings.useSessionForNext) {
    const session = sessionOf(request, settings)
    const stored = session.get(NEXT_KEY)
    if (stored !== undefined) session.set(NEXT_KEY, undefined)
    return stored
  }
  const query = request.query as Record<string, unknown> | undefined
  const body = request.body as Record<string, unknown> | undefined
  return query?.[settings.nextParam] ?? (body !== null && typeof body === 'object' ? candidateOf(body[settings.nextParam]) : undefined)
}

/**
 * `request.nextUrl(fallback)` or `request.nextUrl({ next, fallback })`: the
 * safe `next` target of a login request. Without an explicit `next`, it is
 * the request's own (requestCandidate). An explicit one (read by the app
 * from a multipart stream, a JSON API, anywhere) replaces it and goes through
 * the same check. Absolute values are accepted on the `origin` host only (the
 * Host header when no origin is set) and come back as paths. Unsafe or
 * missing values give `fallback` (default `/`).
 */
export function nextUrl (request: FastifyRequest, settings: Settings, arg?: string | NextUrlOptions): string {
  const options: NextUrlOptions = arg !== null && typeof arg === 'object' ? arg : { fallback: arg }
  const candidate = options.next === undefined ? requestCandidate(request, settings) : candidateOf(options.next)
  return safeNextUrl(candidate, { host: settings.originHost ?? request.host }) ?? options.fallback ?? '/'
}
