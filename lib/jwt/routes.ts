import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Settings } from '../settings.js'
import { JwtBadRequestError, JwtUnsupportedMediaTypeError } from '../errors.js'
import { emitLoginEvent } from '../internal/events.js'
import { checkThrottle, clearCheckedAccount, recordFailure } from '../throttle/counter.js'
import type { LoginUser } from '../types/index.js'
import { setJwtCookies } from './cookies.js'
import { forgetUser } from '../user/cache.js'
import { endFamily } from './families.js'
import { tokenBody, type FamilyTokens, type StartedFamily, type TokenAnswer } from './family-tokens.js'
import type { JwtSettings } from './options.js'
import type { IssuedToken } from './issue.js'
import type { JwtClaims, JwtErrorCode, JwtGuard } from '../types/index.js'

const MAX_FIELD_LENGTH = 1024

interface RouteDeps {
  jwt: JwtSettings
  core: Settings
  families: FamilyTokens
  fail: (code: JwtErrorCode) => Error
  refreshJwtRequired: JwtGuard
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

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i

/*
 * Runs before the schema: Fastify's default validator coerces types, so
 * `{"password": ["x"]}` or `1234` would reach authenticate() as strings.
 * Credentials must arrive as JSON strings, and nothing else is accepted.
 */
function credentialsError (request: FastifyRequest, jwt: JwtSettings): Error | undefined {
  if (!JSON_TYPE.test(request.headers['content-type'] ?? '')) return new JwtUnsupportedMediaTypeError()
  const body = request.body as Record<string, unknown> | null
  if (body === null || typeof body !== 'object' || Array.isArray(body) ||
    typeof body[jwt.usernameField] !== 'string' || typeof body[jwt.passwordField] !== 'string') {
    return new JwtBadRequestError(jwt.usernameField, jwt.passwordField)
  }
  return undefined
}

/** The token, refresh and logout endpoints, as configured. */
export function registerJwtRoutes (fastify: FastifyInstance, deps: RouteDeps): void {
  const { jwt, core, families } = deps
  const useCookies = jwt.cookies !== null

  if (jwt.authPath !== false) {
    const authenticate = jwt.authenticate as NonNullable<JwtSettings['authenticate']>
    // The schema turns malformed bodies into 400s before any handler code runs,
    // and documents the endpoint for @fastify/swagger.
    const field = { type: 'string', minLength: 1, maxLength: MAX_FIELD_LENGTH }
    fastify.post(jwt.authPath, {
      preValidation: function strictCredentials (request, _reply, done) {
        done(credentialsError(request, jwt))
      },
      schema: {
        body: {
          type: 'object',
          required: [jwt.usernameField, jwt.passwordField],
          properties: { [jwt.usernameField]: field, [jwt.passwordField]: field }
        }
      },
      config: { autoLoadUser: false }
    }, async function tokenEndpoint (request, reply) {
      const body = request.body as Record<string, string>
      const username = body[jwt.usernameField] as string
      // Before the password is tested: a throttled attempt learns nothing, not even whether it was right.
      await checkThrottle(request, username, core, 'jwt')
      const user = await authenticate(username, body[jwt.passwordField] as string, request)
      // One answer for unknown users, wrong passwords and inactive accounts.
      if (user === null || user === undefined || !core.isUserActive(user)) {
        await recordFailure(request, username, core, 'jwt')
        throw deps.fail('FST_LOGIN_JWT_BAD_CREDENTIALS')
      }
      await clearCheckedAccount(request, core)
      const family = await families.start(user, request, {}, true)
      // As at reply.login(): the user just authenticated is newer than any cached copy.
      forgetUser(core, family.refresh.claims.sub)
      if (useCookies) setJwtCookies(reply, jwt, { accessToken: family.access?.token, refreshToken: family.refresh.token })
      const answer = await respondToLogin(request, reply, deps, user, family)
      // After authResponse: when it throws, the client got no tokens and nobody logged in.
      emitLoginEvent(core.events, 'userLoggedIn', request, user, 'jwt')
      return answer
    })
  }

  if (jwt.refreshPath !== false) {
    fastify.post(jwt.refreshPath, {
      preHandler: deps.refreshJwtRequired,
      config: { autoLoadUser: false }
    }, async function refreshEndpoint (request, reply) {
      const user = request.currentUser as LoginUser
      const outcome = await families.refresh(request, request.jwtClaims as JwtClaims, user)
      if (outcome.kind === 'refused') throw deps.fail(outcome.code)
      const { answer } = outcome
      if (useCookies) setJwtCookies(reply, jwt, { accessToken: answer.access_token, refreshToken: answer.refresh_token })
      const body = await respond(request, reply, deps, user, answer)
      // Its own event: a refresh is no login (no password), and userLoggedIn listeners would count it as one.
      // A graced retry gave out nothing new: no second event.
      if (outcome.kind === 'rotated') emitLoginEvent(core.events, 'tokenRefreshed', request, user, 'jwt')
      return body
    })
  }

  if (jwt.logoutPath !== false) {
    fastify.post(jwt.logoutPath, {
      preHandler: deps.jwtRequired,
      config: { autoLoadUser: false }
    }, async function logoutEndpoint (_request, reply) {
      await deps.logout(reply)
      return reply.code(204).send()
    })
  }
}
