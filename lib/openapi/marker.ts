import type { GuardName } from '../guards/exports.js'

/*
 * How a route says which of the plugin's guards protect it, for the
 * OpenAPI document: an expression of alternatives (any one is enough), each
 * a group of guards that must all pass (an empty group: no login needed).
 * It is kept in the route's schema under an `x-` key, which @fastify/swagger
 * copies into the operation as an extension; lib/openapi/document.ts turns
 * it into the operation's `security` once the security schemes are in the
 * document. A `security` naming schemes the document lacks would make
 * @fastify/swagger throw while it builds the document: the marker cannot.
 */

export const MARKER = 'x-fastify-login-guards'

/**
 * A route's own `security` when it names one of the plugin's schemes: kept
 * aside under this key until the schemes are in the document, for the same
 * reason (@fastify/swagger would throw on the unknown name).
 */
export const OWN_MARKER = 'x-fastify-login-security'

/** Alternatives of guard groups: `[['verifyLogin'], ['jwtRequired']]` is "a session or a token". */
export type GuardExpression = GuardName[][]

/** The schema entry that marks a route as protected by `expression`. */
export function securityMarker (expression: GuardExpression): { [MARKER]: GuardExpression } {
  return { [MARKER]: expression }
}

/** Both expressions must hold: every alternative of one with every alternative of the other. */
export function both (a: GuardExpression, b: GuardExpression): GuardExpression {
  return a.flatMap((left) => b.map((right) => [...new Set([...left, ...right])]))
}
