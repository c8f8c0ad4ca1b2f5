import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { disabledJwtGuards, type GuardTable } from './guards/exports.js'
import { requireUser } from './guards/require-user.js'
import { refuseJwtGuardsOnRoutes } from './guards/routes.js'
import { createGuards } from './guards/session.js'
import { noStoreForCookies } from './internal/no-store.js'
import { decoratesIsAuthenticated, refuseSecondRegistration } from './internal/registration.js'
import { leaveAttempt } from './throttle/in-flight.js'
import { peekRequestState, setScopeValue } from './internal/request-state.js'
import { setupOpenapi } from './openapi/setup.js'
import { nextUrl } from './redirect/next-url.js'
import { readRememberCookie, writeRememberCookie } from './remember/cookie.js'
import { loginSessions } from './session/devices.js'
import { confirmLogin, login, loginFresh, logout } from './session/login.js'
import { sessionInfo } from './session/record.js'
import { registerSession } from './session/register.js'
import { sessionOf, storedUserId } from './session/state.js'
import { buildSettings, redirectUrlOption, type Settings } from './settings.js'
import { loginThrottleApi } from './throttle/api.js'
import { kGuards, kLoginUrl, kRefreshUrl, kRequestState, kSettings } from './symbols.js'
import type { FastifyLoginOptions, LoginOptions, LoginUser, LogoutOptions, NextUrlOptions } from './types/index.js'
import { addAutoLoad, autoLoadCanFindUsers } from './user/auto-load.js'
import { loginUserCache } from './user/cache.js'
import { logThrownRefusal } from './internal/debug-log.js'
import { isAuthenticated, loadCurrentUser } from './user/load.js'

/** The plugin body; `index.ts` wraps it with fastify-plugin. */
export async function fastifyLoginPlugin (fastify: FastifyInstance, options: FastifyLoginOptions): Promise<void> {
  refuseSecondRegistration(fastify)
  const settings = buildSettings(options)
  await registerSession(fastify, options, settings)
  const jwt = options.jwt === undefined ? withoutJwt(fastify, settings) : await loadJwt().setupJwt(fastify, settings, options.jwt)

  fastify.decorate(kSettings, settings)
  fastify.decorate(kLoginUrl, undefined)
  fastify.decorate(kRefreshUrl, undefined)
  fastify.decorate('loginEvents', settings.events)
  fastify.decorate('loginSessions', loginSessions(settings, fastify.log))
  fastify.decorate('loginThrottle', loginThrottleApi(settings))
  fastify.decorate('loginUserCache', loginUserCache(settings))
  // stateStore is the store itself, or with `store: false` a private MemoryStore: either way closed with the app.
  const store = settings.lifetime.stateStore
  if (typeof store.close === 'function') {
    fastify.addHook('onClose', async () => { await store.close?.() })
  }
  const guards = createGuards(settings)
  fastify.decorate('loginRequired', guards.loginRequired)
  fastify.decorate('freshLoginRequired', guards.freshLoginRequired)
  fastify.decorate('verifyLogin', guards.verifyLogin)
  fastify.decorate('verifyFreshLogin', guards.verifyFreshLogin)
  fastify.decorate(kGuards, { ...guards, ...jwt.guards } satisfies GuardTable)
  if (options.jwt === undefined) refuseJwtGuardsOnRoutes(fastify)
  // Per-scope pages (Flask-Login's blueprint_login_views): the value is an own
  // property of the encapsulated instance, so it shadows the parent's only there.
  fastify.decorate('setLoginUrl', function (this: FastifyInstance, url: string) {
    setScopeValue(this, kLoginUrl, redirectUrlOption(url, 'setLoginUrl()', settings.origin))
  })
  fastify.decorate('setRefreshUrl', function (this: FastifyInstance, url: string) {
    setScopeValue(this, kRefreshUrl, redirectUrlOption(url, 'setRefreshUrl()', settings.origin))
  })

  fastify.decorateRequest('currentUser', null)
  fastify.decorateRequest(kRequestState, null)
  fastify.decorateRequest('loadCurrentUser', function (this: FastifyRequest) {
    return loadCurrentUser(this, settings)
  })
  fastify.decorateRequest('requireUser', function (this: FastifyRequest) {
    return requireUser(this, settings)
  })
  // @fastify/passport decorates the same name (a gradual migration runs both): see decoratesIsAuthenticated.
  if (decoratesIsAuthenticated(fastify, options.decorateIsAuthenticated)) {
    fastify.decorateRequest('isAuthenticated', function (this: FastifyRequest) {
      return isAuthenticated(this)
    })
  }
  fastify.decorateRequest('loginFresh', function (this: FastifyRequest) {
    return loginFresh(this, settings)
  })
  fastify.decorateRequest('loginRemembered', function (this: FastifyRequest) {
    if (settings.remember === null) return false
    // Remembered: the request carries a valid cookie for the user who is logged in.
    const { token } = readRememberCookie(this, settings.remember)
    return token !== null && isAuthenticated(this) && token.userId === storedUserId(sessionOf(this, settings))
  })
  fastify.decorateRequest('loginSession', {
    getter (this: FastifyRequest) {
      const slot = peekRequestState(this)?.login
      return slot === undefined || slot === null || slot.id === null ? null : sessionInfo({ record: slot.record, id: slot.id }, settings)
    }
  })
  fastify.decorateRequest('nextUrl', function (this: FastifyRequest, arg?: string | NextUrlOptions) {
    return nextUrl(this, settings, arg)
  })
  fastify.decorateReply('login', function (this: FastifyReply, user: LoginUser, opts?: LoginOptions) {
    return login(this, settings, user, opts)
  })
  fastify.decorateReply('logout', function (this: FastifyReply, opts?: LogoutOptions) {
    return logout(this, settings, opts)
  })
  fastify.decorateReply('confirmLogin', function (this: FastifyReply) {
    return confirmLogin(this, settings)
  })

  if (autoLoadCanFindUsers(settings, options.anonymousUser !== undefined)) addAutoLoad(fastify, settings)
  // The security log's refusals (debug level); runs only for requests that fail.
  fastify.addHook('onError', function logLoginRefusal (request, _reply, error, done) {
    logThrownRefusal(request, error)
    done()
  })

  const remember = settings.remember
  if (remember !== null) {
    fastify.addHook('onSend', function rememberCookieWriter (request, reply, _payload, done) {
      writeRememberCookie(request, reply, remember)
      done()
    })
  }
  if (settings.throttle !== null) {
    // A login attempt that neither failed nor logged in (the handler threw, or answered otherwise) ends with its response.
    fastify.addHook('onResponse', function loginAttemptEnded (request, _reply, done) {
      leaveAttempt(request)
      done()
    })
  }
  // Last of our onSend hooks, so that it sees every login cookie written before it.
  fastify.addHook('onSend', noStoreForCookies([
    ...(settings.sessionEnabled ? [settings.sessionCookieName] : []),
    ...(remember === null ? [] : [remember.cookieName]),
    ...jwt.cookieNames
  ], settings.sessionEnabled ? settings.sessionName : undefined))
  // Last: the endpoints' child contexts get every decorator and hook above.
  await jwt.routes()
}

/*
 * The JWT side (and with it @fastify/jwt and fast-jwt) is loaded only by apps
 * that configure it. `require`, not `import()`: the package runs as CommonJS
 * (its ES module entries re-export the CommonJS build), and a synchronous load
 * keeps registration free of an extra module-loading round trip.
 */
function loadJwt (): typeof import('./jwt/setup.js') {
  return require('./jwt/setup.js') as typeof import('./jwt/setup.js')
}

/*
 * Without `jwt`, the JWT guard decorators still exist: an undefined
 * preHandler would leave the route open. They refuse every request, and a
 * route declared with one (or with the exported JWT guards) fails to register.
 */
function withoutJwt (fastify: FastifyInstance, settings: Settings): { guards: ReturnType<typeof disabledJwtGuards>, routes: () => Promise<void>, cookieNames: string[] } {
  const guards = disabledJwtGuards()
  for (const [name, guard] of Object.entries(guards)) fastify.decorate(name, guard)
  fastify.decorateRequest('jwtClaims', null)
  setupOpenapi(fastify, settings, null)
  return { guards, routes: async () => {}, cookieNames: [] }
}
