/*
 * The leaf of the type graph: the user types both the session and the JWT
 * side use, which the app can augment. Imports nothing of ours.
 */

/**
 * Augment this interface to type `request.currentUser` with your own user:
 *
 * @example
 * declare module 'fastify-login' {
 *   interface FastifyLoginTypes {
 *     user: { id: number, name: string, isActive: boolean }
 *     anonymous: null           // optional: what `anonymousUser` returns
 *   }
 * }
 */
export interface FastifyLoginTypes {}

/** The app's user type (from {@link FastifyLoginTypes}), or a plain object. */
export type LoginUser = FastifyLoginTypes extends { user: infer U } ? U : object
/** What `request.currentUser` holds for an anonymous request (null unless augmented). */
export type AnonymousUser = FastifyLoginTypes extends { anonymous: infer A } ? A : null
/** The type of `request.currentUser`. */
export type CurrentUser = LoginUser | AnonymousUser

/** A value, or a promise of it: what loaders and stores may answer. */
export type MaybePromise<T> = T | PromiseLike<T>

/** Duration: seconds as a positive integer, or a string like `'15m'`, `'12h'`, `'30d'`. */
export type Duration = number | string
