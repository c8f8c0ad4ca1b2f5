import createError from '@fastify/error'

/*
 * Every error the plugin raises has a stable `code`. Request-time errors carry
 * a 4xx `statusCode`, so Fastify (or @fastify/auth) answers them in its usual
 * error format; registration-time errors have none and stop `fastify.ready()`.
 * Messages are `%s` templates so apps can replace the text (see `messages`).
 */

/** The route needs a logged-in user and the request has none. */
export const UnauthorizedError = createError('FST_LOGIN_UNAUTHORIZED', '%s', 401)

/** The route needs a fresh login and the current one was restored or went stale. */
export const FreshLoginRequiredError = createError('FST_LOGIN_FRESH_REQUIRED', '%s', 401)

/** A plugin option is missing or wrong; raised while the plugin registers. */
export const InvalidOptionError = createError('FST_LOGIN_INVALID_OPTION', 'fastify-login: %s')

/** `reply.login()` was given something the id rule cannot turn into an id. */
export const InvalidUserError = createError('FST_LOGIN_INVALID_USER', 'fastify-login: %s', 500)

/** A request reached the plugin's code without the session it relies on. */
export const NoSessionError = createError('FST_LOGIN_NO_SESSION', 'fastify-login: request.%s is missing; is @fastify/secure-session registered in this scope?', 500)

/** Session-only API (`reply.login()`, `logout()`, `confirmLogin()`) called in an app registered with `session: false`. */
export const SessionsDisabledError = createError('FST_LOGIN_SESSIONS_DISABLED', 'fastify-login: this needs a session, but the plugin was registered with `session: false`', 500)

/** A guard imported from 'fastify-login' ran on a route that does not see the plugin. */
export const NotRegisteredError = createError('FST_LOGIN_NOT_REGISTERED', 'fastify-login: %s guards a route in a scope where the plugin is not registered; register fastify-login in this scope or a parent of it', 500)

/** A JWT guard is used, but the plugin was registered without the `jwt` option. */
export const JwtDisabledError = createError('FST_LOGIN_JWT_DISABLED', 'fastify-login: %s needs the `jwt` option, and the plugin was registered without it', 500)
