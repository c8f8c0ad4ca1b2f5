import type { FastifyRequest } from 'fastify'
import { DURATION_MAX, durationOption } from '../internal/duration.js'
import { isThenable, type MaybePromise } from '../internal/hook-adapter.js'
import { fail, objectOption, onlyKnownKeys } from '../internal/option-checks.js'
import type { LoginUser, LoginUserCache } from '../types/index.js'

/*
 * The `userCache` option: `loadUser(id)` results kept for a few seconds in
 * this process, so that the requests of one page view (the page, its assets,
 * its XHRs) cost one load instead of one each. It saves the loader call and
 * nothing else: the session record, its timeouts, protection and revocation,
 * and the token checks are read from the store on every request as without
 * it. What it can make late is a change to the user the plugin is not told
 * of (a deactivation, a new password hash written by another process): that
 * is seen within `ttl`. So `ttl` is short and bounded, and a cached user
 * that a check would refuse (inactive, another auth version) is loaded again
 * before anything is refused or ended: a stale entry can delay a refusal,
 * never cause one.
 */

/** `userCache: true`: 1000 users for 5 seconds. */
export const DEFAULT_USER_CACHE = { max: 1000, ttlSeconds: 5 }
// ttl: a minute at most (DURATION_MAX.userCache): past that, a deactivated
// account would stay usable for minutes on the processes that cached it.
const MAX_ENTRIES = 1_000_000

type Found = LoginUser | null | undefined
type Loader = (id: string, request: FastifyRequest) => unknown

interface Entry {
  /** The loaded user, or the load in flight that every request for this id shares. */
  value: LoginUser | Promise<Found>
  /** Usable until (ms of the plugin's clock), counted from the start of the load. */
  until: number
  /** A load made because a joined one answered a user the check refused. */
  fresh?: boolean
}

/**
 * Users by id, least recently used dropped first once `max` are held.
 * Only users are kept: a null answer, a rejection or a throw is not, so an
 * id that finds nobody is asked again on its next request.
 */
export class UserCache {
  readonly #entries = new Map<string, Entry>()
  readonly #max: number
  readonly #ttlMs: number
  readonly #clock: () => number

  constructor (max: number, ttlMs: number, clock: () => number) {
    this.#max = max
    this.#ttlMs = ttlMs
    this.#clock = clock
  }

  /**
   * The user `id`, from the cache while its entry is young enough, else from
   * `loader`. A cached user that `acceptable` refuses may be a stale copy (the
   * user was reactivated, or has a new password since): it is loaded again,
   * once, and the fresh answer is the one returned.
   */
  load (id: string, request: FastifyRequest, loader: Loader, acceptable: (user: Found) => boolean): MaybePromise<Found> {
    const now = this.#clock()
    const entry = this.#entries.get(id)
    if (entry !== undefined && now < entry.until) {
      const { value } = entry
      if (value instanceof Promise) {
        this.#bump(id, entry)
        return value.then((user) => acceptable(user) ? user : this.#again(id, request, loader))
      }
      if (acceptable(value)) {
        this.#bump(id, entry)
        return value
      }
    }
    return this.#fetch(id, request, loader, now)
  }

  /** A joined load answered a user the check refuses: one more load, not checked again. */
  #again (id: string, request: FastifyRequest, loader: Loader): MaybePromise<Found> {
    const entry = this.#entries.get(id)
    // The first request to get here starts it; the others join that one.
    if (entry !== undefined && entry.value instanceof Promise && entry.fresh === true) return entry.value
    return this.#fetch(id, request, loader, this.#clock(), true)
  }

  #fetch (id: string, request: FastifyRequest, loader: Loader, now: number, fresh = false): MaybePromise<Found> {
    this.#entries.delete(id)
    const found = loader(id, request) as MaybePromise<Found>
    if (!isThenable(found)) {
      if (found !== null && found !== undefined) this.#keep(id, { value: found, until: now + this.#ttlMs })
      return found
    }
    const pending = Promise.resolve(found)
    const own: Entry = { value: pending, until: now + this.#ttlMs, fresh }
    this.#keep(id, own)
    // Only while the entry is still this load's: a delete() meanwhile (a logout) must not be undone by it.
    pending.then((user) => {
      if (this.#entries.get(id) !== own) return
      if (user === null || user === undefined) this.#entries.delete(id)
      else own.value = user
    }, () => {
      if (this.#entries.get(id) === own) this.#entries.delete(id)
    })
    return pending
  }

  /** Most recently used last: Map keeps insertion order. */
  #bump (id: string, entry: Entry): void {
    this.#entries.delete(id)
    this.#entries.set(id, entry)
  }

  /** Forgets user `id`: its next load calls the loader. */
  delete (id: string): void {
    this.#entries.delete(id)
  }

  /** Forgets every user. */
  clear (): void {
    this.#entries.clear()
  }

  #keep (id: string, entry: Entry): void {
    this.#entries.set(id, entry)
    if (this.#entries.size > this.#max) this.#entries.delete(this.#entries.keys().next().value as string)
  }
}

/** Validates `userCache`: null when off (the default). */
export function userCacheOption (value: unknown, clock: () => number): UserCache | null {
  if (value === undefined || value === false) return null
  if (value === true) return new UserCache(DEFAULT_USER_CACHE.max, DEFAULT_USER_CACHE.ttlSeconds * 1000, clock)
  const options = objectOption(value, 'userCache', ', true or false')
  onlyKnownKeys(options, ['max', 'ttl'], 'userCache')
  const max = options.max ?? DEFAULT_USER_CACHE.max
  if (typeof max !== 'number' || !Number.isSafeInteger(max) || max < 1 || max > MAX_ENTRIES) {
    fail(`userCache.max must be a whole number from 1 to ${MAX_ENTRIES}`)
  }
  const ttl = durationOption(options.ttl, 'userCache.ttl', DEFAULT_USER_CACHE.ttlSeconds, DURATION_MAX.userCache)
  return new UserCache(max, ttl * 1000, clock)
}

/** What the plugin needs of the settings here (a structural type: settings.ts imports this file). */
interface CacheHolder {
  userCache: UserCache | null
}

/** A session, token family or token cut-off of `userId` ended: its next load is a fresh one. */
export function forgetUser (settings: CacheHolder, userId: string): void {
  settings.userCache?.delete(userId)
}

/** `fastify.loginUserCache`: does nothing when the cache is off. */
export function loginUserCache (settings: CacheHolder): LoginUserCache {
  return {
    delete (userId: string): void {
      if (typeof userId !== 'string' || userId === '') throw new TypeError('loginUserCache.delete: userId must be a non-empty string')
      forgetUser(settings, userId)
    },
    clear (): void {
      settings.userCache?.clear()
    }
  }
}
