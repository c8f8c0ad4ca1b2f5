import type { FastifyInstance, FastifyReply, FastifyRequest, FastifySchema } from 'fastify'
import { onlyOurParsers } from './bodies.js'
import { mergeRouteOptions, type EndpointSettings } from './route-options.js'
import { revokeResponses } from './schemas.js'

/*
 * RFC 7009 token revocation: `POST <revokePath>` with `token` and an
 * optional `token_type_hint`, as a form (the RFC's encoding) or as JSON.
 * No client authentication: the plugin's clients are public clients
 * (RFC 7009 §5 allows it), and holding the token is the proof. The answer
 * is 200 for any token, valid, invalid, expired or not ours (§2.2), so the
 * endpoint tells nobody whether a string is a live token.
 *
 * The body parsers (lib/jwt/bodies.ts) live in an encapsulated child
 * context for this route alone: the app's own parsers (and any
 * @fastify/formbody it registers) stay as they are.
 */

/** Registers the endpoint; `revoke` revokes a token of ours, and ignores anything else. */
export async function registerRevokeRoute (
  fastify: FastifyInstance,
  path: string,
  revoke: (token: string, request: FastifyRequest) => Promise<void>,
  options: EndpointSettings | undefined
): Promise<void> {
  await fastify.register(async function fastifyLoginRevoke (child) {
    onlyOurParsers(child)
    child.post(path, mergeRouteOptions({
      schema: { response: revokeResponses, security: [] } as FastifySchema,
      config: { autoLoadUser: false }
    }, options), async function revokeEndpoint (request, reply: FastifyReply) {
      reply.header('cache-control', 'no-store').header('pragma', 'no-cache')
      const token = (request.body as Record<string, unknown> | undefined)?.token
      // token_type_hint is only a hint (§2.1): a JWT says its own type, so any hint, known or not, is ignored.
      if (typeof token !== 'string' || token === '') return await reply.code(400).send({ error: 'invalid_request' })
      await revoke(token, request)
      return await reply.code(200).send()
    })
  })
}
