import type { FastifyReply, FastifyRequest } from 'fastify'
import { FreshLoginRequiredError, UnauthorizedError } from '../errors.js'
import { emitLoginEvent } from '../internal/events.js'
import { loginUrlWithNext, nextParamFor } from '../redirect/safe-next.js'
import { NEXT_KEY, sessionOf } from '../session/state.js'
import { DEFAULT_LOGIN_MESSAGE, DEFAULT_REFRESH_MESSAGE, type Settings } from '../settings.js'
import { kLoginUrl, kRefreshUrl } from '../symbols.js'
import type { LoginMessage } from '../types/index.js'

type FlashRequest = FastifyRequest & { flash?: (category: string, message: string) => unknown }
type ScopedServer = { [kLoginUrl]?: string, [kRefreshUrl]?: string }

/** The two flows differ only in these parts. */
interface Flow {
  event: 'userUnauthorized' | 'userNeedsRefresh'
  handler: Settings['unauthorized']
  url: string | undefined
  message: LoginMessage | false
  category: string
  error: (message: string) => Error
}

/**
 * The text of a refusal: the configured message (or its localized form);
 * with `false` (nothing to flash) the default text still explains the 401.
 */
export function denialMessage (kind: 'login' | 'refresh', request: FastifyRequest, settings: Settings): string {
  const message: LoginMessage | false = kind === 'login' ? settings.loginMessage : settings.refreshMessage
  if (message === false) return kind === 'login' ? DEFAULT_LOGIN_MESSAGE : DEFAULT_REFRESH_MESSAGE
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

function flowFor (kind: 'login' | 'refresh', request: FastifyRequest, settings: Settings): Flow {
  const scope = request.server as unknown as ScopedServer
  if (kind === 'login') {
    return {
      event: 'userUnauthorized',
      handler: settings.unauthorized,
      url: scope[kLoginUrl] ?? settings.loginUrl,
      message: settings.loginMessage,
      category: settings.loginMessageCategory,
      error: (message) => new UnauthorizedError(message)
    }
  }
  return {
    event: 'userNeedsRefresh',
    handler: settings.needsRefresh,
    url: scope[kRefreshUrl] ?? settings.refreshUrl,
    message: settings.refreshMessage,
    category: settings.refreshMessageCategory,
    error: (message) => new FreshLoginRequiredError(message)
  }
}

/**
 * The unauthorized (or needs-refresh) flow: the app's handler if given; else a
 * 302 to the login page for browsers when one is configured; else a 401 error.
 * It either returns the reply it sent or throws, so Fastify never sees a
 * half-sent reply.
 */
export async function denyAccess (kind: 'login' | 'refresh', request: FastifyRequest, reply: FastifyReply, settings: Settings): Promise<FastifyReply> {
  const flow = flowFor(kind, request, settings)
  emitLoginEvent(settings.events, flow.event, request, request.currentUser, 'session')

  const text = denialMessage(kind, request, settings)

  if (flow.handler !== undefined) {
    const result = await flow.handler(request, reply)
    if (result === reply || reply.sent) return reply
    throw flow.error(text)
  }

  if (flow.url !== undefined && isPageNavigation(request)) {
    const flash = (request as FlashRequest).flash
    if (flow.message !== false && typeof flash === 'function') flash.call(request, flow.category, text)
    // A login page on another origin needs a full URL back; `origin` is then
    // required (see settings.ts), so the Host header never decides where it points.
    const next = nextParamFor(flow.url, request.url, settings.origin ?? `${request.protocol}://${request.host}`)
    if (settings.useSessionForNext) {
      sessionOf(request, settings).set(NEXT_KEY, next)
      return reply.redirect(flow.url, 302)
    }
    return reply.redirect(loginUrlWithNext(flow.url, next, settings.nextParam), 302)
  }

  throw flow.error(text)
}
