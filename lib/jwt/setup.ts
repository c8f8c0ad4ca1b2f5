import type { FastifyInstance, FastifyReply } from 'fastify'
import fastifyCookie from '@fastify/cookie'
import type { Settings } from '../settings.js'
import { emitLoginEvent } from '../internal/events.js'
import type { LoginUser } from '../types/index.js'
import { clearJwtCookies, setJwtCookies } from './cookies.js'
import { createTokenEngine } from './engine.js'
import { createJwtGuards } from './guards.js'
import { registerJwtRoutes } from './routes.js'
import { buildJwtSettings } from './options.js'
import { createTokenIssuer } from './issue.js'
import { endFamilies, endFamily } from './families.js'
import { createFamilyTokens } from './family-tokens.js'
import { revokeTokenId, setTokenCutoff } from './revocation.js'
import { registerRevokeRoute } from './revoke-route.js'
import { refreshGrantGuard } from './refresh-grant.js'
import { setupOpenapi } from '../openapi/setup.js'
import type { JwtGuardName } from '../guards/exports.js'
import type { AccessTokenOptions, JwtClaims, JwtGuard, JwtOptions, JwtTokens } from '../types/index.js'

/** Adds JWT authentication (decorators, guards, endpoints) to the plugin's scope. */
export async function setupJwt (fastify: FastifyInstance, core: Settings, options: JwtOptions): Promise<{ guards: Record<JwtGuardName, JwtGuard>, routes: () => Promise<void>, cookieNames: string[] }> {
  const jwt = buildJwtSettings(options, core.loadUser !== undefined)
  // Token cookies need @fastify/cookie; with a session it is already there.
  if (jwt.cookies !== null && !fastify.hasPlugin('@fastify/cookie')) await fastify.register(fastifyCookie)
  const engine = await createTokenEngine(fastify, jwt)
  const issue = createTokenIssuer(engine, jwt, core)
  const { guards, checkToken, fail, findToken, presentedRefresh } = createJwtGuards(engine, jwt, core)
  const families = createFamilyTokens(issue, jwt, core)

  /**
   * Revokes one token: a refresh token ends its family (a refresh token
   * alone would leave the family's access tokens alive), an access token
   * only itself (it is kept revoked until `exp` plus the leeway).
   */
  async function revokeToken (claims: JwtClaims): Promise<void> {
    if (claims.type === 'refresh' && typeof claims.fam === 'string') await endFamily(claims.sub, claims.fam, core)
    else await revokeTokenId(claims, jwt.leeway, core)
  }

  /** Ends the request's API session: its access token, its family, and the refresh token sent in the body or cookie. */
  async function logout (reply: FastifyReply): Promise<void> {
    const request = reply.request
    const claims = request.jwtClaims
    const body = request.body as Record<string, unknown> | null | undefined
    const fromBody = body !== null && typeof body === 'object' ? body.refresh_token : undefined
    const fromCookie = jwt.cookies === null ? undefined : request.cookies?.[jwt.cookies.refresh]
    const refreshToken = typeof fromBody === 'string' ? fromBody : fromCookie
    if (refreshToken !== undefined && refreshToken !== '') {
      const checked = await checkToken(refreshToken, 'refresh', request)
      // With an access token, only its own user's refresh token can be revoked this way; without one (it
      // expired), holding the refresh token is the proof, as at the RFC 7009 endpoint.
      if (typeof checked !== 'string' && (claims === null || checked.claims.sub === claims.sub)) await revokeToken(checked.claims)
    }
    if (claims !== null) {
      await revokeTokenId(claims, jwt.leeway, core)
      if (typeof claims.fam === 'string') await endFamily(claims.sub, claims.fam, core)
    }
    clearJwtCookies(reply, jwt)
    // The token's user; without a verified access token no login ended, whoever `currentUser` is.
    emitLoginEvent(core.events, 'userLoggedOut', request, claims === null ? core.anonymousUser(request) : request.currentUser, 'jwt')
  }

  /** RFC 7009: revokes `token` if it is one of ours; anything else is ignored (the endpoint answers 200 regardless). */
  async function revokePresented (token: string): Promise<void> {
    const claims = engine.verify(token)
    if (typeof claims !== 'string') await revokeToken(claims)
  }

  fastify.decorateRequest('jwtClaims', null)
  fastify.decorate('jwtRequired', guards.jwtRequired)
  fastify.decorate('jwtOptional', guards.jwtOptional)
  fastify.decorate('freshJwtRequired', guards.freshJwtRequired)
  fastify.decorate('refreshJwtRequired', guards.refreshJwtRequired)
  // No events for tokens the app mints itself: it may not be a login at all
  // (a test, a service account), and when it is, the app's route says so.
  fastify.decorate('createAccessToken', async (user: LoginUser, opts: AccessTokenOptions = {}) => (await issue(user, 'access', opts, undefined)).token)
  // A refresh token the app mints starts a family of its own, like a login at the token endpoint.
  fastify.decorate('createRefreshToken', async (user: LoginUser, opts: Omit<AccessTokenOptions, 'fresh'> = {}) => (await families.start(user, undefined, opts, false)).refresh.token)
  fastify.decorate('revokeToken', revokeToken)
  fastify.decorate('revokeAllTokens', async (userId: string) => {
    if (typeof userId !== 'string' || userId === '') throw new TypeError('revokeAllTokens: userId must be a non-empty string')
    // The cut-off outlives every token it covers: the longest lifetime and the leeway.
    await setTokenCutoff(userId, Math.max(jwt.accessSeconds, jwt.refreshSeconds) + jwt.leeway, core)
    await endFamilies(userId, core)
  })
  fastify.decorateReply('setJwtCookies', function (this: FastifyReply, tokens: JwtTokens) {
    setJwtCookies(this, jwt, tokens)
  })
  fastify.decorateReply('clearJwtCookies', function (this: FastifyReply) {
    clearJwtCookies(this, jwt)
  })
  fastify.decorateReply('jwtLogout', function (this: FastifyReply) {
    return logout(this)
  })

  // Before the endpoints are declared: they are documented too.
  setupOpenapi(fastify, core, jwt)
  /*
   * The endpoints are declared last (plugin.ts calls this once every request
   * decorator and hook of the plugin is in place): the token, refresh and
   * revoke endpoints live in child contexts, which see only what their parent
   * had when they were made.
   */
  async function routes (): Promise<void> {
    await registerJwtRoutes(fastify, {
      jwt,
      core,
      families,
      fail,
      refreshGuard: refreshGrantGuard({ refreshJwtRequired: guards.refreshJwtRequired, findToken, presentedRefresh }),
      jwtRequired: guards.jwtRequired,
      logout
    })
    if (jwt.revokePath !== false) await registerRevokeRoute(fastify, jwt.revokePath, revokePresented, jwt.routes.revoke)
  }
  const c = jwt.cookies
  return { guards, routes, cookieNames: c === null ? [] : [c.access, c.refresh, c.accessCsrf, c.refreshCsrf] }
}
