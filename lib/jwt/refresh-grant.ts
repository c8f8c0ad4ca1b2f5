import type { FastifyReply, FastifyRequest, preHandlerHookHandler } from 'fastify'
import { isForm } from './bodies.js'
import { GrantRefusal, invalidGrant, refreshGrant, sendOAuthError } from './grants.js'
import type { Lookup } from './extract.js'
import type { JwtGuard } from '../types/index.js'

interface RefreshGrantDeps {
  refreshJwtRequired: JwtGuard
  findToken: (request: FastifyRequest, type: 'refresh') => Lookup
  presentedRefresh: (request: FastifyRequest, token: string) => Promise<void>
}

/*
 * The refresh endpoint's guard. Without a form it is refreshJwtRequired
 * (the header or cookie token). With one it is the OAuth 2.0 refresh grant
 * (RFC 6749 §6): the token of the body goes through the same verification
 * (signature, type, revocation, family, reuse detection, user), and the
 * handler rotates it the same way. A request that carries a different token
 * in the header or cookie too is refused: which one would be spent is not
 * for the server to guess, and an ambiguous request is a bad one.
 */
export function refreshGrantGuard (deps: RefreshGrantDeps): preHandlerHookHandler {
  /*
   * A refusal returns the reply: Fastify waits for a returned reply to finish
   * before it would run another hook. Resolving with nothing while an async
   * onSend still holds the response back would let the app's later
   * preHandlers and the endpoint itself run for a refused request.
   */
  async function formRefresh (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    // A grant: the route's preValidation refused bad forms, and its body schema (the same rules) whatever an app's preValidation changed after.
    const grant = refreshGrant(request.body) as { token: string }
    const other = deps.findToken(request, 'refresh')
    // A header of another scheme (Basic client authentication) carries no token of ours.
    if (other !== null && other !== 'FST_LOGIN_JWT_WRONG_SCHEME' && (typeof other === 'string' || other.token !== grant.token)) {
      return sendOAuthError(reply, new GrantRefusal('invalid_request', 'Send the refresh token once: in the body or in the Authorization header, not both'))
    }
    try {
      await deps.presentedRefresh(request, grant.token)
    } catch (err) {
      const refusal = invalidGrant(err)
      if (refusal === undefined) throw err
      return sendOAuthError(reply, refusal)
    }
    return undefined
  }

  return function refreshGuard (request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) {
    if (!isForm(request.headers['content-type'])) return deps.refreshJwtRequired(request, reply, done)
    return formRefresh(request, reply)
  } as preHandlerHookHandler
}
