import type { FastifyInstance } from 'fastify'
import type { LoginEvent, LoginVia, UserEventName } from '../lib/index.js'

/** Every event name, to listen to all of them. */
export const EVENT_NAMES: UserEventName[] = [
  'userLoggedIn',
  'userLoggedOut',
  'userLoadedFromCookie',
  'userLoadedFromRequest',
  'userLoginConfirmed',
  'userUnauthorized',
  'userNeedsRefresh',
  'sessionProtected',
  'tokenRefreshed'
]

/** [event, `user.name` or null for the anonymous value, 'METHOD url', via]. */
export type SeenEvent = [UserEventName, string | null, string, LoginVia]

/** Records every login event; `take()` returns and forgets what was seen since the last call. */
export function record (app: FastifyInstance) {
  let seen: Array<{ event: SeenEvent, keys: string }> = []
  for (const name of EVENT_NAMES) {
    app.loginEvents.on(name, (event: LoginEvent) => {
      const user = event.user as { name?: string } | null
      seen.push({
        event: [name, user === null ? null : user.name ?? null, `${event.request.method} ${event.request.url}`, event.via],
        keys: Object.keys(event).sort().join(',')
      })
    })
  }
  return {
    take (): SeenEvent[] {
      for (const { keys } of seen) {
        if (keys !== 'request,user,via') throw new Error(`unexpected payload keys: ${keys}`)
      }
      const out = seen.map(({ event }) => event)
      seen = []
      return out
    }
  }
}
