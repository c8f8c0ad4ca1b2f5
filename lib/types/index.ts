/*
 * Every public type, in one place that both the session and the JWT side
 * import. `types/` imports nothing else of ours: it is the leaf of the graph.
 */
export type * from './user.js'
export type * from './options.js'
export type * from './jwt.js'
export type * from './guards.js'
export type * from './events.js'
export type * from './store.js'
export type * from './session.js'
export type * from './throttle.js'
export type * from './session-data.js'
export type * from './user-cache.js'
