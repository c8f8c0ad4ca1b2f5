/*
 * Private state lives behind symbols so that it cannot clash with, or be read
 * by accident through, the public decorators.
 */

/**
 * The normalized plugin settings, on the fastify instance. A registered symbol,
 * read by the test helpers: `import` and `require` share one implementation,
 * but two installed copies of the package (a nested node_modules) do not, and
 * a helper from one must find the settings of an app that registered the other.
 */
export const kSettings: unique symbol = Symbol.for('fastify-login.settings')
/** Per-scope login URL set by `fastify.setLoginUrl()`. */
export const kLoginUrl = Symbol('fastify-login.loginUrl')
/** Per-scope refresh URL set by `fastify.setRefreshUrl()`. */
export const kRefreshUrl = Symbol('fastify-login.refreshUrl')
/** A route's own decision, made once in onRoute, to load `currentUser` before its handler. */
export const kAutoLoad = Symbol('fastify-login.autoLoad')
/** The guards of this plugin instance, for the guards exported by name. */
export const kGuards = Symbol('fastify-login.guards')
/** The request's private state (internal/request-state.ts). */
export const kRequestState = Symbol('fastify-login.request')
