import type { FastifyInstance } from 'fastify'

/*
 * The body parsers of the plugin's own endpoints (token, refresh, RFC 7009
 * revoke). They are added in an encapsulated child context that holds only
 * those endpoints: the app keeps its own parsers, gets no form parser it did
 * not ask for, and an app that registered @fastify/formbody keeps it for its
 * routes (inside the child, ours replaces it, so the rules below always hold).
 */

// A token is at most 8 KB (lib/jwt/engine.ts); credentials are at most 2 x 1024 characters; the rest is encoding overhead.
export const BODY_LIMIT = 16 * 1024

/** A parsed body that is no object of parameters (bad JSON, an array, a form with a repeated name). */
export const INVALID: Readonly<Record<string, unknown>> = Object.freeze({})

export const FORM_TYPE = 'application/x-www-form-urlencoded'

/** JSON text as an object of parameters, or INVALID. */
export function parseJson (text: string): object {
  try {
    const value: unknown = JSON.parse(text)
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? value : INVALID
  } catch {
    return INVALID
  }
}

/**
 * A form as an object of string parameters, or INVALID when a name comes
 * twice: RFC 6749 §3.1 (and §3.2 for the token endpoint) says a parameter
 * must not be included more than once, and taking the first or the last
 * would let a proxy and the server read two different requests.
 */
export function parseForm (text: string): object {
  const params = new URLSearchParams(text)
  const seen = new Set<string>()
  for (const name of params.keys()) {
    if (seen.has(name)) return INVALID
    seen.add(name)
  }
  return Object.fromEntries(params)
}

/** Whether the request was sent as a form (the OAuth 2.0 encoding). */
export function isForm (contentType: string | undefined): boolean {
  return contentType !== undefined && contentType.split(';', 1)[0]?.trim().toLowerCase() === FORM_TYPE
}

/** Adds our form parser to `child` (an encapsulated context of the plugin's endpoints), replacing any it inherited. */
export function addFormParser (child: FastifyInstance): void {
  if (child.hasContentTypeParser(FORM_TYPE)) child.removeContentTypeParser(FORM_TYPE)
  child.addContentTypeParser(FORM_TYPE, { parseAs: 'string', bodyLimit: BODY_LIMIT }, (_request, body, done) => {
    done(null, parseForm(body as string))
  })
}

/** Replaces every parser of `child` with ours: JSON and forms only (the revoke endpoint). */
export function onlyOurParsers (child: FastifyInstance): void {
  child.removeAllContentTypeParsers()
  child.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: BODY_LIMIT }, (_request, body, done) => {
    done(null, parseJson(body as string))
  })
  addFormParser(child)
}
