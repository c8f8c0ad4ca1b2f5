import { randomBytes } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import { userIdOf } from '../session/login.js'
import { DURATION_MAX, durationOption } from '../internal/duration.js'
import type { Settings } from '../settings.js'
import type { LoginUser } from '../types/index.js'
import type { TokenEngine } from './engine.js'
import type { JwtSettings } from './options.js'
import type { AccessTokenOptions, JwtClaims } from '../types/index.js'

/** A token and the claims it carries. */
export interface IssuedToken {
  token: string
  claims: JwtClaims
}

function randomId (): string {
  return randomBytes(16).toString('base64url')
}

/**
 * Makes access and refresh tokens. App claims go in first so that the
 * plugin's own claims (sub, type, fresh, exp, ...) always win over them;
 * `fam` is the plugin's too: only the family the token is issued for (the
 * `family` argument) may appear there.
 */
export function createTokenIssuer (engine: TokenEngine, jwt: JwtSettings, core: Settings) {
  return async function issue (
    user: LoginUser,
    type: 'access' | 'refresh',
    options: AccessTokenOptions,
    request: FastifyRequest | undefined,
    family?: string
  ): Promise<IssuedToken> {
    const sub = userIdOf(user, core)
    const extra = jwt.additionalClaims === undefined ? {} : await jwt.additionalClaims(user, request)
    const lifetime = options.expiresIn === undefined
      ? (type === 'access' ? jwt.accessSeconds : jwt.refreshSeconds)
      : durationOption(options.expiresIn, 'expiresIn', 1, type === 'access' ? DURATION_MAX.accessToken : DURATION_MAX.refreshToken)
    const now = Math.floor(Date.now() / 1000)
    const claims: JwtClaims = {
      ...extra,
      ...options.claims,
      sub,
      iat: now,
      nbf: now + jwt.notBefore,
      exp: now + lifetime,
      jti: randomId(),
      type,
      fresh: type === 'access' && options.fresh === true
    }
    if (family === undefined) delete claims.fam
    else claims.fam = family
    if (jwt.cookies !== null) claims.csrf = options.csrf ?? randomId()
    if (jwt.issuer !== undefined) claims.iss = jwt.issuer
    if (jwt.audience !== undefined) claims.aud = jwt.audience
    return { token: engine.sign(claims), claims }
  }
}

export type TokenIssuer = ReturnType<typeof createTokenIssuer>
