import type { FastifyReply, FastifyRequest } from 'fastify'
import { FreshLoginRequiredError, UnauthorizedError } from '../errors.js'
import { emitLoginEvent } from '../internal/events.js'
import { loginUrlWithNext, nextParamFor } from '../redirect/safe-next.js'
import { NEXT_KEY, sessionOf } from '../session/state.js'
import { DEFAULT_LOGIN_MESSAGE, DEFAULT_REFRESH_MESSAGE, type Settings } from '../settings.js'
import { scopeValue } from '../internal/request-state.js'
import { kLoginUrl, kRefreshUrl } from '../symbols.js'
import type { LoginMessage } from '../types/index.js'

type FlashRequest = FastifyRequest & { flash?: (category: string, message: string) => unknown }

/**
 * The two flows (no login; a login that is not fresh) differ only in these
 * parts: which event, handler, page, message and error each uses.
 */
const FLOWS = {
  login: {
    event: 'userUnauthorized',
    handler: 'unauthorized',
    scopeUrl: kLoginUrl,
    url: 'loginUrl',
    message: 'loginMessage',
    category: 'loginMessageCategory',
    defaultMessage: DEFAULT_LOGIN_MESSAGE,
    Error: UnauthorizedError
  },
  refresh: {
    event: 'userNeedsRefresh',
    handler: 'needsRefresh',
    scopeUrl: kRefreshUrl,
    url: 'refreshUrl',
    message: 'refreshMessage',
    category: 'refreshMessageCategory',
    defaultMessage: DEFAULT_REFRESH_MESSAGE,
    Error: FreshLoginRequiredError
  }
} as const

/**
 * The text of a refusal: the configured message (or its localized form);
 * with `false` (nothing to flash) the default text still explains the 401.
 */
export function denialMessage (kind: 'login' | 'refresh', request: FastifyRequest, settings: Settings): string {
  const flow = FLOWS[kind]
  const message: LoginMessage | false = settings[flow.message]
  if (message === false) return flow.defaultMessage
  return typeof message === 'function' ? message(request) : message
}

/**
 * Whether the request is a page navigation, the only kind a redirect to an
 * HTML login page helps. Browsers say so in Fetch Metadata: `Sec-Fetch-Mode:
 * navigate` or `Sec-Fetch-Dest: document`; a `fetch()` from a page says
 * `cors` or `same-origin` and gets the 401 it can act on. Without Fetch
 * Metadata (older browsers), only an Accept header that names HTML counts:
 * `*\/*` is what fetch(), curl and most HTTP libraries send.
 */
export function isPageNavigation (request: FastifyRequest): boolean {
  const headers = request.headers
  const mode = headers['sec-fetch-mode']
  const dest = headers['sec-fetch-dest']
  if (mode !== undefined || dest !== undefined) return mode === 'navigate' || dest === 'document'
  if (headers['x-requested-with'] === 'XMLHttpRequest') return false
  const accept = headers.accept
  return accept !== undefined && (accept.includes('text/html') || accept.includes('application/xhtml+xml'))
}

/**
 * The unauthorized (or needs-refresh) flow: the app's handler if given; else a
 * 302 to the login page for browsers when one is configured; else a 401 error.
 * It either returns the reply it sent or throws, so Fastify never sees a
 * half-sent reply.
 */
export async function denyAccess (kind: 'login' | 'refresh', request: FastifyRequest, reply: FastifyReply, settings: Settings): Promise<FastifyReply> {
  const flow = FLOWS[kind]
  emitLoginEvent(settings.events, flow.event, request, request.currentUser, 'session')

  const text = denialMessage(kind, request, settings)
  const handler = settings[flow.handler]
  if (handler !== undefined) {
    const result = await handler(request, reply)
    if (result === reply || reply.sent) return reply
    throw new flow.Error(text)
  }

  // A scope's own page (setLoginUrl) wins over the plugin's option.
  const url = scopeValue<string>(request.server, flow.scopeUrl) ?? settings[flow.url]
  if (url !== undefined && isPageNavigation(request)) {
    const flash = (request as FlashRequest).flash
    if (settings[flow.message] !== false && typeof flash === 'function') flash.call(request, settings[flow.category], text)
    // A login page on another origin needs a full URL back; `origin` is then
    // required (see settings.ts), so the Host header never decides where it points.
    const next = nextParamFor(url, request.url, settings.origin ?? `${request.protocol}://${request.host}`)
    if (settings.useSessionForNext) {
      sessionOf(request, settings).set(NEXT_KEY, next)
      return reply.redirect(url, 302)
    }
    return reply.redirect(loginUrlWithNext(url, next, settings.nextParam), 302)
  }

  throw new flow.Error(text)
}
