import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

/*
 * RFC 7009 token revocation: `POST <revokePath>` with `token` and an
 * optional `token_type_hint`, as a form (the RFC's encoding) or as JSON.
 * No client authentication: the plugin's clients are public clients
 * (RFC 7009 §5 allows it), and holding the token is the proof. The answer
 * is 200 for any token, valid, invalid, expired or not ours (§2.2), so the
 * endpoint tells nobody whether a string is a live token.
 *
 * The body parsers live in an encapsulated child context for this route
 * alone: the app's own parsers (and any @fastify/formbody it registers) stay
 * as they are, and no new dependency is needed for forms.
 */

// A token is at most 8 KB (lib/jwt/engine.ts); the rest of a body is a hint and encoding overhead.
const BODY_LIMIT = 16 * 1024

/** A parsed body that is no object of parameters (bad JSON, an array, a form with a repeated name). */
const INVALID = Object.freeze({})

function parseJson (text: string): object {
  try {
    const value: unknown = JSON.parse(text)
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? value : INVALID
  } catch {
    return INVALID
  }
}

/** RFC 6749 §3.2: parameters sent more than once make the request invalid. */
function parseForm (text: string): object {
  const params = new URLSearchParams(text)
  const seen = new Set<string>()
  for (const name of params.keys()) {
    if (seen.has(name)) return INVALID
    seen.add(name)
  }
  return Object.fromEntries(params)
}

/** Registers the endpoint; `revoke` revokes a token of ours, and ignores anything else. */
export async function registerRevokeRoute (fastify: FastifyInstance, path: string, revoke: (token: string, request: FastifyRequest) => Promise<void>): Promise<void> {
  await fastify.register(async function fastifyLoginRevoke (child) {
    child.removeAllContentTypeParsers()
    child.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: BODY_LIMIT }, (_request, body, done) => {
      done(null, parseJson(body as string))
    })
    child.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: BODY_LIMIT }, (_request, body, done) => {
      done(null, parseForm(body as string))
    })
    child.post(path, { config: { autoLoadUser: false } }, async function revokeEndpoint (request, reply: FastifyReply) {
      reply.header('cache-control', 'no-store').header('pragma', 'no-cache')
      const token = (request.body as Record<string, unknown> | undefined)?.token
      // token_type_hint is only a hint (§2.1): a JWT says its own type, so any hint, known or not, is ignored.
      if (typeof token !== 'string' || token === '') return await reply.code(400).send({ error: 'invalid_request' })
      await revoke(token, request)
      return await reply.code(200).send()
    })
  })
}
