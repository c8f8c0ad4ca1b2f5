/*
 * The app's data in `request.session` (@fastify/secure-session), typed from
 * here so that apps need not name @fastify/secure-session (not always
 * resolvable from the app: it is this package's dependency). Leaf.
 */

/**
 * Augment this interface to type what the app keeps in `request.session`:
 *
 * @example
 * declare module 'fastify-login' {
 *   interface SessionData {
 *     cart: string[]
 *   }
 * }
 * // request.session.get('cart') is string[] | undefined
 */
export interface SessionData {}
