import type { FastifyRequest } from 'fastify'
import { graceKeys } from '../rotation/answer.js'
import { rotate } from '../rotation/rotate.js'
import { versionOf } from '../session/auth-version.js'
import { clientOf } from '../session/record.js'
import type { Settings } from '../settings.js'
import { familyKey } from '../store/keys.js'
import type { AccessTokenOptions, JwtClaims, JwtErrorCode, JwtTokenResponse, LoginUser, StoreValue } from '../types/index.js'
import { endReusedFamily, isFamilyOf, newFamily, newFamilyId, saveFamily, type FamilyRecord } from './families.js'
import type { IssuedToken, TokenIssuer } from './issue.js'
import type { JwtSettings } from './options.js'

/*
 * Tokens issued as families: a login starts one, a refresh rotates it (one
 * compare-and-set through lib/rotation/rotate.ts: of any number of
 * concurrent refreshes with one token, exactly one makes the successor, the
 * others get that same answer while the grace lasts). A spent refresh token
 * coming back after the grace means two parties hold the family, one of
 * them a thief (OAuth 2.0 Security BCP §4.14.2): the whole family ends.
 */

/** The token response as it is sealed for graced presenters: what the first refresh answered. */
export type TokenAnswer = JwtTokenResponse & StoreValue

/** A family's first tokens: the refresh token, and with `withAccess` a fresh access token. */
export interface StartedFamily {
  id: string
  refresh: IssuedToken
  access: IssuedToken | null
}

/** The OAuth 2.0 token response (RFC 6749 §5.1). */
export function tokenBody (jwt: JwtSettings, access: IssuedToken, refresh: IssuedToken): TokenAnswer {
  return { access_token: access.token, token_type: jwt.scheme, expires_in: access.claims.exp - access.claims.iat, refresh_token: refresh.token }
}

/** What a refresh gives: the answer to send (`rotated` is the one that made it), or the refusal. */
export type RefreshOutcome = { kind: 'rotated' | 'graced', answer: TokenAnswer } | { kind: 'refused', code: JwtErrorCode }

export function createFamilyTokens (issue: TokenIssuer, jwt: JwtSettings, core: Settings) {
  // The signing keys (an HMAC secret, a private key's PEM): what only this server has.
  const sealing = graceKeys(jwt.keys.flatMap((key) => key.signingKey === undefined ? [] : [key.signingKey]))
  /** How long the store keeps a family whose refresh tokens live `seconds`: as long as any of its tokens may be accepted. */
  function ttlMs (seconds: number): number {
    return (Math.max(seconds, jwt.accessSeconds) + jwt.leeway) * 1000
  }

  /** Starts a family for `user`: signs its first tokens and saves its record. */
  async function start (user: LoginUser, request: FastifyRequest | undefined, options: Omit<AccessTokenOptions, 'fresh'>, withAccess: boolean): Promise<StartedFamily> {
    const id = newFamilyId()
    const refresh = await issue(user, 'refresh', options, request, id)
    const access = withAccess ? await issue(user, 'access', { fresh: true }, request, id) : null
    const lifetime = refresh.claims.exp - refresh.claims.iat
    const now = core.lifetime.clock()
    const client = request === undefined ? { ip: '', userAgent: undefined } : clientOf(request)
    const record = newFamily(refresh.claims.sub, refresh.claims.jti, client, now + lifetime * 1000, versionOf(core.lifetime, user), now)
    await saveFamily(id, record, ttlMs(lifetime), core)
    return { id, refresh, access }
  }

  /**
   * Spends the request's refresh token (verified by refreshJwtRequired,
   * which also loaded the user). The successor keeps the presented token's
   * expiry and CSRF value, so a SPA's CSRF header stays valid.
   */
  async function refresh (request: FastifyRequest, claims: JwtClaims, user: LoginUser): Promise<RefreshOutcome> {
    const fam = claims.fam
    // A refresh token from before families cannot be rotated: its holder logs in again.
    if (typeof fam !== 'string') return { kind: 'refused', code: 'FST_LOGIN_JWT_REVOKED' }
    const userId = claims.sub
    // The successor expires when the presented one does: a family lives its first refresh token's lifetime
    // from the login however often it is refreshed, so a stolen one cannot be kept alive for ever.
    const lifetime = Math.max(1, claims.exp - Math.floor(Date.now() / 1000))
    const outcome = await rotate<FamilyRecord, TokenAnswer>({
      store: core.lifetime.stateStore,
      key: familyKey(userId, fam),
      secret: claims.jti,
      graceMs: jwt.reuseGraceMs,
      graceKeys: sealing,
      clock: core.lifetime.clock,
      isRecord: (value): value is FamilyRecord => isFamilyOf(value, userId),
      successor: async (record) => {
        // A refreshed access token is never fresh: no password was given for it.
        const access = await issue(user, 'access', { fresh: false, csrf: claims.csrf }, request, fam)
        // The remaining seconds, with their unit: a computed number such as 2592000 is no millisecond mistake.
        const next = await issue(user, 'refresh', { csrf: claims.csrf, expiresIn: `${lifetime}s` }, request, fam)
        const now = core.lifetime.clock()
        return {
          secret: next.claims.jti,
          answer: tokenBody(jwt, access, next),
          record: { c: record.c, s: now, e: now + lifetime * 1000, v: record.v, ip: record.ip, ua: record.ua }
        }
      },
      // The losing attempt's tokens were never sent, and its refresh token matches no record: nothing to undo.
      discard: async () => {},
      options: () => ({ ttlMs: ttlMs(lifetime), userId })
    })
    if (outcome.kind === 'rotated' || outcome.kind === 'graced') return { kind: outcome.kind, answer: outcome.answer }
    if (outcome.kind === 'reused') await endReusedFamily(request, userId, fam, core)
    return { kind: 'refused', code: 'FST_LOGIN_JWT_REVOKED' }
  }

  return { start, refresh }
}

export type FamilyTokens = ReturnType<typeof createFamilyTokens>
