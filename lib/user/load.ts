import type { FastifyRequest } from 'fastify'
import { isThenable, type MaybePromise } from '../internal/hook-adapter.js'
import { requestState } from '../internal/request-state.js'
import type { Settings } from '../settings.js'
import type { CurrentUser, LoginUser } from '../types/index.js'
import { userSources, type UserSource } from './sources.js'

/*
 * `request.currentUser`, loaded at most once per request by walking the
 * sources (sources.ts) until one finds a user. While the sources answer
 * synchronously no promise is made; from the first one that returns a
 * promise, the rest of the walk follows it, and every caller (guards, the
 * automatic load, app code) shares that one promise.
 */

const sourcesOf = new WeakMap<Settings, UserSource[]>()

function sourcesFor (settings: Settings): UserSource[] {
  let sources = sourcesOf.get(settings)
  if (sources === undefined) {
    sources = userSources(settings)
    sourcesOf.set(settings, sources)
  }
  return sources
}

/** The first user a source finds, starting at source `from`; null when none does. */
function walk (request: FastifyRequest, sources: UserSource[], from: number): MaybePromise<LoginUser | null> {
  for (let i = from; i < sources.length; i++) {
    const found = (sources[i] as UserSource)(request)
    if (isThenable(found)) return Promise.resolve(found).then((user) => user ?? walk(request, sources, i + 1))
    if (found !== null) return found
  }
  return null
}

/**
 * Makes sure `request.currentUser` is loaded. Returns undefined when it is
 * settled (the usual case with a synchronous loader), else the promise of
 * the load in flight. A failed automatic load is thrown again here, so no
 * guard can pass over it.
 */
export function ensureUserLoaded (request: FastifyRequest, settings: Settings): Promise<void> | undefined {
  const state = requestState(request)
  const load = state.userLoad
  if (load === 'loaded') return undefined
  if (load !== null) {
    if ('failed' in load) throw load.cause
    return load
  }
  const found = walk(request, sourcesFor(settings), 0)
  if (!isThenable(found)) {
    settleUser(request, settings, found)
    return undefined
  }
  const pending: Promise<void> = Promise.resolve(found).then((user) => {
    // A login or logout during the load has the last word.
    if (state.userLoad === pending) settleUser(request, settings, user)
  })
  state.userLoad = pending
  return pending
}

function settleUser (request: FastifyRequest, settings: Settings, user: LoginUser | null): void {
  if (user === null) setCurrentUser(request, settings.anonymousUser(request), false)
  else setCurrentUser(request, user, true)
}

/** `request.loadCurrentUser()`: the user, loaded on first use. */
export function loadCurrentUser (request: FastifyRequest, settings: Settings): Promise<CurrentUser> {
  let pending: Promise<void> | undefined
  try {
    pending = ensureUserLoaded(request, settings)
  } catch (err) {
    return Promise.reject(err)
  }
  return pending === undefined ? Promise.resolve(request.currentUser) : pending.then(() => request.currentUser)
}

/**
 * Sets the request's user and settles later loads to it: the one way to set
 * `currentUser`, used by the load itself, by login and logout, and by the JWT
 * guards, whose token is the user's source on their routes.
 */
export function setCurrentUser (request: FastifyRequest, user: CurrentUser, authenticated: boolean): void {
  const state = requestState(request)
  request.currentUser = user
  state.authenticated = authenticated
  state.userLoad = 'loaded'
}

/**
 * The automatic load (before the handler) failed: the user loader threw (a
 * missing session is a setup error and fails at once instead). The request
 * goes on as anonymous, so pages that do not need a user still answer and
 * `reply.logout()` can still end a login whose stored id breaks the loader;
 * every guard and `loadCurrentUser()` then fail with the same error (a 500
 * through the error handler), so nothing that needs the user is let through.
 */
export function deferLoadFailure (request: FastifyRequest, settings: Settings, cause: unknown): void {
  request.log.error({ err: cause }, 'fastify-login: loading the user failed; the request goes on as anonymous and guards refuse it')
  request.currentUser = settings.anonymousUser(request)
  const state = requestState(request)
  state.authenticated = false
  state.userLoad = { failed: true, cause }
}

/** True once a user was loaded or logged in on this request. */
export function isAuthenticated (request: FastifyRequest): boolean {
  return requestState(request).authenticated
}
