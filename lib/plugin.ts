import secureSession from '@fastify/secure-session'
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify'
import { deferLoadFailure, ensureUserLoaded, isAuthenticated, loadCurrentUser } from './user/load.js'
import { InvalidOptionError, JwtDisabledError, NoSessionError } from './errors.js'
import { disabledJwtGuard, exportedJwtGuards, type GuardTable, type JwtGuardName } from './guards/exports.js'
import { createGuards } from './guards/session.js'
import { setupJwt } from './jwt/setup.js'
import type { JwtGuard } from './types/index.js'
import { confirmLogin, login, loginFresh, logout } from './session/login.js'
import { readRememberCookie, writeRememberCookie } from './remember/cookie.js'
import { safeNextUrl } from './redirect/safe-next.js'
import { NEXT_KEY, sessionOf, storedUserId } from './session/state.js'
import { noStoreForCookies } from './internal/no-store.js'
import { secureSessionOptions } from './session/options.js'
import { buildSettings, redirectUrlOption, type Settings } from './settings.js'
import { kAuthenticated, kAutoLoad, kGuards, kLoginUrl, kRefreshUrl, kRemember, kSettings, kUserLoad } from './symbols.js'
import type { FastifyLoginOptions, LoginOptions, LoginUser, LogoutOptions } from './types/index.js'

/** The plugin body; `index.ts` wraps it with fastify-plugin. */
export async function fastifyLoginPlugin (fastify: FastifyInstance, options: FastifyLoginOptions): Promise<void> {
  const settings = buildSettings(options)
  await registerSession(fastify, options, settings)
  const jwt = options.jwt === undefined ? withoutJwt(fastify) : await setupJwt(fastify, settings, options.jwt)

  fastify.decorate(kSettings, settings)
  fastify.decorate(kLoginUrl, undefined)
  fastify.decorate(kRefreshUrl, undefined)
  fastify.decorate('loginEvents', settings.events)
  const guards = createGuards(settings)
  fastify.decorate('loginRequired', guards.loginRequired)
  fastify.decorate('freshLoginRequired', guards.freshLoginRequired)
  fastify.decorate('verifyLogin', guards.verifyLogin)
  fastify.decorate('verifyFreshLogin', guards.verifyFreshLogin)
  fastify.decorate(kGuards, { ...guards, ...jwt.guards } satisfies GuardTable)
  if (options.jwt === undefined) refuseJwtGuardsOnRoutes(fastify, jwt.guards)
  // Per-scope pages (Flask-Login's blueprint_login_views): the value is an own
  // property of the encapsulated instance, so it shadows the parent's only there.
  fastify.decorate('setLoginUrl', function (this: FastifyInstance, url: string) {
    (this as unknown as Record<symbol, string>)[kLoginUrl] = redirectUrlOption(url, 'setLoginUrl()', settings.origin)
  })
  fastify.decorate('setRefreshUrl', function (this: FastifyInstance, url: string) {
    (this as unknown as Record<symbol, string>)[kRefreshUrl] = redirectUrlOption(url, 'setRefreshUrl()', settings.origin)
  })

  fastify.decorateRequest('currentUser', null)
  fastify.decorateRequest(kUserLoad, null)
  fastify.decorateRequest(kAuthenticated, false)
  fastify.decorateRequest(kRemember, null)
  fastify.decorateRequest('loadCurrentUser', function (this: FastifyRequest) {
    return loadCurrentUser(this, settings)
  })
  fastify.decorateRequest('isAuthenticated', function (this: FastifyRequest) {
    return isAuthenticated(this)
  })
  fastify.decorateRequest('loginFresh', function (this: FastifyRequest) {
    return loginFresh(this, settings)
  })
  fastify.decorateRequest('loginRemembered', function (this: FastifyRequest) {
    if (settings.remember === null) return false
    // Remembered: the request carries a valid cookie for the user who is logged in.
    const { token } = readRememberCookie(this, settings.remember)
    return token !== null && isAuthenticated(this) && token.userId === storedUserId(sessionOf(this, settings))
  })
  fastify.decorateRequest('nextUrl', function (this: FastifyRequest, fallback = '/') {
    return nextUrl(this, settings, fallback)
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

  if (autoLoadCanFindUsers(settings, options)) addAutoLoad(fastify, settings, jwt.guards)

  const remember = settings.remember
  if (remember !== null) {
    fastify.addHook('onSend', function rememberCookieWriter (request, reply, _payload, done) {
      writeRememberCookie(request, reply, remember)
      done()
    })
  }
  // Last of our onSend hooks, so that it sees every login cookie written before it.
  fastify.addHook('onSend', noStoreForCookies([
    ...(settings.sessionEnabled ? [settings.sessionCookieName] : []),
    ...(remember === null ? [] : [remember.cookieName]),
    ...jwt.cookieNames
  ], settings.sessionEnabled ? settings.sessionName : undefined))
}

type JwtGuards = Record<JwtGuardName, JwtGuard>

/*
 * Without `jwt`, the JWT guard decorators still exist: an undefined
 * preHandler would leave the route open. They refuse every request, and a
 * route declared with one (or with the exported JWT guards) stops
 * `app.ready()`.
 */
function withoutJwt (fastify: FastifyInstance): { guards: JwtGuards, cookieNames: string[] } {
  const guards = {
    jwtRequired: disabledJwtGuard('jwtRequired'),
    jwtOptional: disabledJwtGuard('jwtOptional'),
    freshJwtRequired: disabledJwtGuard('freshJwtRequired'),
    refreshJwtRequired: disabledJwtGuard('refreshJwtRequired')
  }
  for (const [name, guard] of Object.entries(guards)) fastify.decorate(name, guard)
  fastify.decorateRequest('jwtClaims', null)
  return { guards, cookieNames: [] }
}

const HOOK_NAMES = ['onRequest', 'preParsing', 'preValidation', 'preHandler'] as const

function hooksOf (route: RouteOptions): unknown[] {
  return HOOK_NAMES.flatMap((name) => {
    const hook: unknown = route[name]
    return Array.isArray(hook) ? hook : [hook]
  })
}

function refuseJwtGuardsOnRoutes (fastify: FastifyInstance, disabled: JwtGuards): void {
  const names = new Map<unknown, string>(exportedJwtGuards)
  for (const [name, guard] of Object.entries(disabled)) names.set(guard, name)
  fastify.addHook('onRoute', function jwtGuardsNeedJwt (route) {
    for (const hook of hooksOf(route)) {
      const name = names.get(hook)
      if (name !== undefined) throw new JwtDisabledError(`${name} (route ${String(route.method)} ${route.url})`)
    }
  })
}

async function registerSession (fastify: FastifyInstance, options: FastifyLoginOptions, settings: Settings): Promise<void> {
  if (options.session === false) return
  const present = fastify.hasPlugin('@fastify/secure-session')
  if (options.session === undefined) {
    if (!present) throw new InvalidOptionError('give `session` options, or register @fastify/secure-session before this plugin')
    return
  }
  if (present) throw new InvalidOptionError('`session` is given but @fastify/secure-session is already registered: drop `session` to use that one')
  await fastify.register(secureSession, secureSessionOptions(options.session, settings.sessionName) as never)
}

/**
 * The safe `next` target of a login request: from the session when
 * `useSessionForNext` is on (and then removed from it), else from the query
 * string or a form body. Unsafe or missing values give `fallback`.
 */
function nextUrl (request: FastifyRequest, settings: Settings, fallback: string): string {
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
  const host = settings.origin === undefined ? request.host : new URL(settings.origin).host
  return safeNextUrl(candidate, { host }) ?? fallback
}

type RouteConfig = { autoLoadUser?: boolean, [kAutoLoad]?: boolean }

/*
 * Whether a route loads `currentUser` before its handler: its own
 * `config.autoLoadUser`, else the plugin's option, except on routes whose
 * preHandler is a JWT guard that always sets the user itself (jwtRequired,
 * freshJwtRequired, refreshJwtRequired): loading the session user there
 * first would be thrown away.
 */
function autoLoadDecision (route: RouteOptions, settings: Settings, selfLoading: Set<unknown>): boolean {
  const own = (route.config as RouteConfig | undefined)?.autoLoadUser
  if (own !== undefined) return own
  if (!settings.autoLoadUser) return false
  const preHandlers: unknown[] = Array.isArray(route.preHandler) ? route.preHandler : [route.preHandler]
  return !preHandlers.some((hook) => selfLoading.has(hook))
}

/** The guards (decorators and exports) that always set the user themselves. */
function jwtGuardsThatSetTheUser (jwt: JwtGuards): unknown[] {
  const selfLoading = new Set<JwtGuardName>(['jwtRequired', 'freshJwtRequired', 'refreshJwtRequired'])
  return [
    ...[...selfLoading].map((name) => jwt[name]),
    ...[...exportedJwtGuards].filter(([, name]) => selfLoading.has(name)).map(([guard]) => guard)
  ]
}

/*
 * Without a way to find a user (no session loader, no request loader) and
 * without an anonymousUser option, the auto-load could only ever set the
 * `null` that `currentUser` already holds: a JWT-only API then pays for no
 * hook at all, and its guards set the user.
 */
function autoLoadCanFindUsers (settings: Settings, options: FastifyLoginOptions): boolean {
  return (settings.sessionEnabled && settings.loadUser !== undefined) ||
    settings.loadUserFromRequest !== undefined ||
    options.anonymousUser !== undefined
}

function addAutoLoad (fastify: FastifyInstance, settings: Settings, jwt: JwtGuards): void {
  // Decided once per route, not per request: see `autoLoadDecision`.
  const selfLoading = new Set<unknown>(jwtGuardsThatSetTheUser(jwt))
  fastify.addHook('onRoute', function decideAutoLoad (route) {
    route.config = { ...route.config, [kAutoLoad]: autoLoadDecision(route, settings, selfLoading) } as RouteOptions['config']
  })
  fastify.addHook('preHandler', function autoLoadUser (request, _reply, done) {
    const config = request.routeOptions.config as RouteConfig
    // Routes declared before the plugin was registered were not seen by onRoute.
    const wanted = config[kAutoLoad] ?? config.autoLoadUser ?? settings.autoLoadUser
    if (!wanted) return done()
    let loading: Promise<void> | undefined
    try {
      loading = ensureUserLoaded(request, settings)
    } catch (err) {
      // A missing session is a setup error, not a failing dependency: say so at once.
      if (err instanceof NoSessionError) return done(err)
      deferLoadFailure(request, settings, err)
      return done()
    }
    if (loading === undefined) return done()
    return loading.then(undefined, (err: unknown) => deferLoadFailure(request, settings, err))
  })
}
