import type { FastifyRequest } from 'fastify'
import { NEXT_KEY, sessionOf } from '../session/state.js'
import type { Settings } from '../settings.js'
import { safeNextUrl } from './safe-next.js'

/**
 * `request.nextUrl(fallback)`: the safe `next` target of a login request:
 * from the session when `useSessionForNext` is on (and then removed from
 * it, so it is used once), else from the query string or a form body.
 * Absolute values are accepted on the `origin` host only (the Host header
 * when no origin is set) and come back as paths. Unsafe or missing values
 * give `fallback`.
 */
export function nextUrl (request: FastifyRequest, settings: Settings, fallback: string): string {
  let candidate: unknown
  if (settings.useSessionForNext) {
    const session = sessionOf(request, settings)
    candidate = session.get(NEXT_KEY)
    if (candidate !== undefined) session.set(NEXT_KEY, undefined)
  } else {
    const query = request.query as Record<string, unknown> | undefined
    const body = request.body as Record<string, unknown> | undefined
    candidate = query?.[settings.nextParam] ?? (body !== null && typeof body === 'object' ? body[settings.nextParam] : undefined)
  }
  return safeNextUrl(candidate, { host: settings.originHost ?? request.host }) ?? fallback
}
