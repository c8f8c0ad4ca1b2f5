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
import type { JwtGuardName } from '../guards/exports.js'
import type { AccessTokenOptions, JwtClaims, JwtGuard, JwtOptions, JwtTokens } from '../types/index.js'

/** Adds JWT authentication (decorators, guards, endpoints) to the plugin's scope. */
export async function setupJwt (fastify: FastifyInstance, core: Settings, options: JwtOptions): Promise<{ guards: Record<JwtGuardName, JwtGuard>, cookieNames: string[] }> {
  const jwt = buildJwtSettings(options, core.loadUser !== undefined)
  // Token cookies need @fastify/cookie; with a session it is already there.
  if (jwt.cookies !== null && !fastify.hasPlugin('@fastify/cookie')) await fastify.register(fastifyCookie)
  const engine = await createTokenEngine(fastify, jwt)
  const issue = createTokenIssuer(engine, jwt, core)
  const { guards, checkToken, fail } = createJwtGuards(engine, jwt, core)

  // Kept revoked until the verifier would refuse the token anyway: exp plus the leeway.
  async function revokeToken (claims: JwtClaims): Promise<void> {
    await jwt.store.revoke(claims.jti, claims.exp + jwt.leeway)
  }

  /** Revokes the request's access token, and its refresh token when the client sent it. */
  async function logout (reply: FastifyReply): Promise<void> {
    const request = reply.request
    if (request.jwtClaims !== null) await revokeToken(request.jwtClaims)
    const body = request.body as Record<string, unknown> | null | undefined
    const fromBody = body !== null && typeof body === 'object' ? body.refresh_token : undefined
    const fromCookie = jwt.cookies === null ? undefined : request.cookies?.[jwt.cookies.refresh]
    const refreshToken = typeof fromBody === 'string' ? fromBody : fromCookie
    if (refreshToken !== undefined && refreshToken !== '') {
      const claims = await checkToken(refreshToken, 'refresh', request)
      // Only the caller's own refresh token can be revoked this way.
      if (typeof claims !== 'string' && claims.sub === request.jwtClaims?.sub) await revokeToken(claims)
    }
    clearJwtCookies(reply, jwt)
    // The token's user; without a verified access token no login ended, whoever `currentUser` is.
    emitLoginEvent(core.events, 'userLoggedOut', request, request.jwtClaims === null ? core.anonymousUser(request) : request.currentUser, 'jwt')
  }

  fastify.decorateRequest('jwtClaims', null)
  fastify.decorate('jwtRequired', guards.jwtRequired)
  fastify.decorate('jwtOptional', guards.jwtOptional)
  fastify.decorate('freshJwtRequired', guards.freshJwtRequired)
  fastify.decorate('refreshJwtRequired', guards.refreshJwtRequired)
  fastify.decorate('jwtRevocationStore', jwt.store)
  // No events for tokens the app mints itself: it may not be a login at all
  // (a test, a service account), and when it is, the app's route says so.
  fastify.decorate('createAccessToken', async (user: LoginUser, opts: AccessTokenOptions = {}) => (await issue(user, 'access', opts, undefined)).token)
  fastify.decorate('createRefreshToken', async (user: LoginUser, opts: Omit<AccessTokenOptions, 'fresh'> = {}) => (await issue(user, 'refresh', opts, undefined)).token)
  fastify.decorate('revokeToken', revokeToken)
  fastify.decorate('revokeAllTokens', async (userId: string) => {
    await jwt.store.setUserCutoff(userId, Math.floor(Date.now() / 1000))
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

  registerJwtRoutes(fastify, {
    jwt,
    core,
    issue,
    fail,
    refreshJwtRequired: guards.refreshJwtRequired,
    jwtRequired: guards.jwtRequired,
    logout
  })
  const c = jwt.cookies
  return { guards, cookieNames: c === null ? [] : [c.access, c.refresh, c.accessCsrf, c.refreshCsrf] }
}
