import type { FastifyInstance, FastifyReply, FastifyRequest, FastifySchema, preHandlerHookHandler } from 'fastify'
import type { Settings } from '../settings.js'
import { JwtBadRequestError, JwtUnsupportedMediaTypeError } from '../errors.js'
import { emitLoginEvent } from '../internal/events.js'
import { checkThrottle, clearCheckedAccount, recordFailure } from '../throttle/counter.js'
import type { LoginUser } from '../types/index.js'
import { addFormParser, isForm } from './bodies.js'
import { setJwtCookies } from './cookies.js'
import { forgetUser } from '../user/cache.js'
import { endFamily } from './families.js'
import { tokenBody, type FamilyTokens, type StartedFamily, type TokenAnswer } from './family-tokens.js'
import { GrantRefusal, MAX_FIELD_LENGTH, passwordGrant, refreshGrant, sendOAuthError } from './grants.js'
import type { JwtSettings } from './options.js'
import type { IssuedToken } from './issue.js'
import { mergeRouteOptions } from './route-options.js'
import { authBody, logoutResponses, refreshBody, tokenResponses } from './schemas.js'
import { securityMarker } from '../openapi/marker.js'
import type { JwtClaims, JwtErrorCode, JwtGuard } from '../types/index.js'

export interface RouteDeps {
  jwt: JwtSettings
  core: Settings
  families: FamilyTokens
  fail: (code: JwtErrorCode) => Error
  /** The refresh endpoint's guard: refreshJwtRequired, or the refresh grant for a form (lib/jwt/refresh-grant.ts). */
  refreshGuard: preHandlerHookHandler
  jwtRequired: JwtGuard
  logout: (reply: FastifyReply) => Promise<void>
}

// RFC 6749 §5.1: token responses must not be cached.
function noStore (reply: FastifyReply): void {
  reply.header('cache-control', 'no-store').header('pragma', 'no-cache')
}

async function respond (request: FastifyRequest, reply: FastifyReply, deps: RouteDeps, user: LoginUser, body: TokenAnswer): Promise<unknown> {
  noStore(reply)
  return deps.jwt.authResponse === undefined ? body : await deps.jwt.authResponse(body, user, request)
}

/** The login's answer; when authResponse throws, the family it started ends: nobody holds its tokens. */
async function respondToLogin (request: FastifyRequest, reply: FastifyReply, deps: RouteDeps, user: LoginUser, family: StartedFamily): Promise<unknown> {
  try {
    return await respond(request, reply, deps, user, tokenBody(deps.jwt, family.access as IssuedToken, family.refresh))
  } catch (err) {
    await endFamily(family.refresh.claims.sub, family.id, deps.core)
    throw err
  }
}

/*
 * Login CSRF: a page of another site can post a form to the token endpoints
 * (a form needs no CORS preflight), and the browser keeps the cookies of the
 * answer, so the attacker's tokens would log the victim in to the
 * attacker's account. A form grant therefore answers in the body only, as
 * RFC 6749 does; JSON, which a cross-site page cannot send, still sets the
 * cookies. The one exception is a refresh grant that also carried the same
 * token in the refresh cookie (the guard refused a different one): that
 * login is the browser's already, and its cookies must follow the rotation,
 * or they would hold a spent refresh token.
 */
function setsCookies (request: FastifyRequest, jwt: JwtSettings, form: boolean, presented?: string): jwt is JwtSettings & { cookies: NonNullable<JwtSettings['cookies']> } {
  if (jwt.cookies === null) return false
  return !form || (presented !== undefined && request.cookies?.[jwt.cookies.refresh] === presented)
}

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i

function credential (value: unknown): boolean {
  return typeof value === 'string' && value !== '' && value.length <= MAX_FIELD_LENGTH
}

/*
 * Runs before the schema: Fastify's default validator coerces types, so
 * `{"password": ["x"]}` or `1234` would reach authenticate() as strings.
 * Credentials must arrive as JSON strings, and nothing else is accepted.
 */
function credentialsError (request: FastifyRequest, jwt: JwtSettings): Error | undefined {
  if (!JSON_TYPE.test(request.headers['content-type'] ?? '')) return new JwtUnsupportedMediaTypeError()
  const body = request.body as Record<string, unknown> | null
  if (body === null || typeof body !== 'object' || Array.isArray(body) ||
    !credential(body[jwt.usernameField]) || !credential(body[jwt.passwordField])) {
    return new JwtBadRequestError(jwt.usernameField, jwt.passwordField)
  }
  return undefined
}

/** The token endpoint: JSON credentials (`usernameField`, `passwordField`) or the OAuth 2.0 password grant as a form. */
function addTokenRoute (child: FastifyInstance, deps: RouteDeps, path: string): void {
  const { jwt, core, families } = deps
  const authenticate = jwt.authenticate as NonNullable<JwtSettings['authenticate']>
  child.post(path, mergeRouteOptions({
    preValidation: function strictCredentials (request, reply, done) {
      if (!isForm(request.headers['content-type'])) return done(credentialsError(request, jwt))
      const grant = passwordGrant(request.body, jwt.refreshPath)
      // The refusal is the answer: the schema and handler do not run.
      if (grant instanceof GrantRefusal) sendOAuthError(reply, grant)
      else done()
    },
    // The schema documents the endpoint for @fastify/swagger; the checks above already refused what it would.
    schema: { body: authBody(jwt.usernameField, jwt.passwordField), response: tokenResponses, security: [] } as FastifySchema,
    config: { autoLoadUser: false }
  }, jwt.routes.auth), async function tokenEndpoint (request, reply) {
    const form = isForm(request.headers['content-type'])
    const body = request.body as Record<string, string>
    const username = form ? body.username as string : body[jwt.usernameField] as string
    const password = form ? body.password as string : body[jwt.passwordField] as string
    // Before the password is tested: a throttled attempt learns nothing, not even whether it was right.
    await checkThrottle(request, username, core, 'jwt')
    const user = await authenticate(username, password, request)
    // As at reply.login(): authenticate() answered the user as it is now (maybe with a new password, maybe
    // deactivated), so any cached copy goes at once, before the refusal or the writes below: meanwhile the user's
    // other token families are judged on a fresh load, not let through on an older copy.
    if (user !== null && user !== undefined) forgetUser(core, core.getUserId(user))
    // One answer for unknown users, wrong passwords and inactive accounts.
    if (user === null || user === undefined || !core.isUserActive(user)) {
      await recordFailure(request, username, core, 'jwt')
      const err = deps.fail('FST_LOGIN_JWT_BAD_CREDENTIALS')
      // RFC 6749 §5.2: wrong resource owner credentials are an invalid grant.
      if (form) return sendOAuthError(reply, new GrantRefusal('invalid_grant', err.message))
      throw err
    }
    await clearCheckedAccount(request, core)
    const family = await families.start(user, request, {}, true)
    // And again: a load made during those writes may have kept an older copy.
    forgetUser(core, family.refresh.claims.sub)
    if (setsCookies(request, jwt, form)) setJwtCookies(reply, jwt, { accessToken: family.access?.token, refreshToken: family.refresh.token })
    const answer = await respondToLogin(request, reply, deps, user, family)
    // After authResponse: when it throws, the client got no tokens and nobody logged in.
    emitLoginEvent(core.events, 'userLoggedIn', request, user, 'jwt')
    return answer
  })
}

/** The refresh endpoint: the refresh token of the header or cookie, or of the OAuth 2.0 refresh grant (a form). */
function addRefreshRoute (child: FastifyInstance, deps: RouteDeps, path: string): void {
  const { jwt, core, families } = deps
  child.post(path, mergeRouteOptions({
    // Before the schema, as at the token endpoint: a bad form gets its OAuth error, not a validation error.
    preValidation: function refreshForm (request, reply, done) {
      const grant = isForm(request.headers['content-type']) ? refreshGrant(request.body) : undefined
      if (grant instanceof GrantRefusal) sendOAuthError(reply, grant)
      else done()
    },
    preHandler: deps.refreshGuard,
    // A refresh token in the header or a cookie, or none (the refresh grant's form carries it).
    schema: { body: refreshBody, response: tokenResponses, ...securityMarker([['refreshJwtRequired'], []]) } as FastifySchema,
    config: { autoLoadUser: false }
  }, jwt.routes.refresh), async function refreshEndpoint (request, reply) {
    const user = request.currentUser as LoginUser
    const form = isForm(request.headers['content-type'])
    const outcome = await families.refresh(request, request.jwtClaims as JwtClaims, user)
    if (outcome.kind === 'refused') {
      const err = deps.fail(outcome.code)
      if (form) return sendOAuthError(reply, new GrantRefusal('invalid_grant', err.message))
      throw err
    }
    const { answer } = outcome
    const presented = form ? (request.body as Record<string, string>).refresh_token : undefined
    if (setsCookies(request, jwt, form, presented)) setJwtCookies(reply, jwt, { accessToken: answer.access_token, refreshToken: answer.refresh_token })
    const body = await respond(request, reply, deps, user, answer)
    // Its own event: a refresh is no login (no password), and userLoggedIn listeners would count it as one.
    // A graced retry gave out nothing new: no second event.
    if (outcome.kind === 'rotated') emitLoginEvent(core.events, 'tokenRefreshed', request, user, 'jwt')
    return body
  })
}

/**
 * The token, refresh and logout endpoints, as configured. The token and
 * refresh endpoints live in a child context of their own, with the form
 * parser of lib/jwt/bodies.ts; JSON is parsed by the app's parser, as before.
 */
export async function registerJwtRoutes (fastify: FastifyInstance, deps: RouteDeps): Promise<void> {
  const { jwt } = deps
  const { authPath, refreshPath } = jwt
  if (authPath !== false || refreshPath !== false) {
    await fastify.register(async function fastifyLoginTokens (child) {
      addFormParser(child)
      if (authPath !== false) addTokenRoute(child, deps, authPath)
      if (refreshPath !== false) addRefreshRoute(child, deps, refreshPath)
    })
  }

  if (jwt.logoutPath !== false) {
    fastify.post(jwt.logoutPath, mergeRouteOptions({
      preHandler: deps.jwtRequired,
      schema: { response: logoutResponses },
      config: { autoLoadUser: false }
    }, jwt.routes.logout), async function logoutEndpoint (_request, reply) {
      await deps.logout(reply)
      return reply.code(204).send()
    })
  }
}
