import type { LoginStore, StoreSetOptions, StoreTtlOptions, StoreValue } from '../types/index.js'
import { canonicalJson, hashTagOf, userTag } from './keys.js'
import { LocalCache, watchInvalidations, type LocalCacheOptions } from './redis-cache.js'
import { ScriptRunner, type RedisLikeClient } from './redis-client.js'
import * as scripts from './redis-scripts.js'

/** Options of {@link RedisStore}. */
export interface RedisStoreOptions {
  /** A connected client: ioredis `Redis` or `Cluster`, iovalkey, `fastify.redis`. The store never closes it. */
  client: RedisLikeClient
  /** Put before every key. Default `'fastify-login:'`. A `{…}` in it would put every key in one Cluster slot. */
  prefix?: string
  /** Milliseconds since the epoch, read for every expiry decision. Default `Date.now`. */
  clock?: () => number
  /** Cache of `get` answers in this process, invalidated by pub/sub; `false` for none. Default `{ max: 10_000, ttlMs: 5_000 }`. */
  localCache?: LocalCacheOptions | false
  /** Milliseconds a command may take before it fails with FST_LOGIN_STORE_UNAVAILABLE. Default 1000. */
  commandTimeout?: number
}

function ttlOf (options: StoreTtlOptions | undefined): number {
  const ttlMs = options?.ttlMs
  if (typeof ttlMs !== 'number' || !Number.isSafeInteger(ttlMs) || ttlMs <= 0) {
    throw new RangeError(`ttlMs must be a positive integer of milliseconds, got ${String(ttlMs)}`)
  }
  return ttlMs
}

function wrongKind (key: string, holds: 'a counter (increment), not a value' | 'a value, not a counter'): never {
  throw new TypeError(`the key ${JSON.stringify(key)} holds ${holds}`)
}

/**
 * A {@link LoginStore} in Redis (or Valkey), shared by every process and
 * host, Redis Cluster included. Each write is one Lua script, so value,
 * expiry, index and the invalidation message change together. Expiry is
 * decided with `clock` (each record carries its expiry); Redis's own TTL only
 * frees memory. While Redis is unreachable every operation fails at once
 * with FST_LOGIN_STORE_UNAVAILABLE (503), and works again once the client
 * has reconnected by itself.
 *
 * Keys written with a `userId` should carry `userTag(userId)`, as the
 * plugin's do: the user's index then lives in the same Cluster slot, and a
 * write and its index change are one script.
 *
 * @example
 * import Redis from 'ioredis'
 * import { RedisStore } from 'fastify-login/redis'
 * const store = new RedisStore({ client: new Redis(process.env.REDIS_URL) })
 */
export class RedisStore implements LoginStore {
  readonly #prefix: string
  readonly #clock: () => number
  readonly #runner: ScriptRunner
  readonly #cluster: boolean
  readonly #channel: string
  readonly #cache: LocalCache | undefined
  #unwatch: (() => void) | undefined

  constructor (options: RedisStoreOptions) {
    const client = options.client
    if (typeof client?.evalsha !== 'function') throw new TypeError('RedisStore needs a Redis client (ioredis, iovalkey) as `client`')
    const timeout = options.commandTimeout ?? 1000
    if (!(timeout > 0 && timeout <= 2 ** 31 - 1)) throw new RangeError(`commandTimeout must be a positive number of milliseconds, got ${String(timeout)}`)
    this.#prefix = options.prefix ?? 'fastify-login:'
    this.#clock = options.clock ?? Date.now
    this.#runner = new ScriptRunner(client, timeout)
    this.#cluster = client.isCluster === true
    this.#channel = this.#prefix + 'invalidate'
    if (options.localCache !== false) {
      this.#cache = new LocalCache(options.localCache ?? {})
      this.#unwatch = watchInvalidations(client.duplicate(), this.#channel, this.#cache)
    }
  }

  async get (key: string): Promise<StoreValue | null> {
    // First, so nothing is served from the cache either while Redis is down.
    this.#runner.check()
    const now = this.#clock()
    const cache = this.#cache
    const hit = cache?.enabled === true ? cache.read(key, now) : undefined
    if (hit !== undefined) return JSON.parse(hit) as StoreValue
    // The ticket tells whether an invalidation of this key came in while we waited for Redis.
    const ticket = cache?.begin(key)
    let fields: Array<string | null>
    try {
      fields = await this.#run(scripts.READ, [this.#prefix + key], ['v', 'x', 'c']) as Array<string | null>
    } finally {
      if (ticket !== undefined) cache?.end(key, ticket)
    }
    const [json, x, counter] = fields
    if (x === null || x === undefined || Number(x) <= now) return null
    if (counter !== null) return wrongKind(key, 'a counter (increment), not a value')
    if (ticket?.stale === false) cache?.put(key, json as string, Number(x), now)
    return JSON.parse(json as string) as StoreValue
  }

  async set (key: string, value: StoreValue, options: StoreSetOptions): Promise<void> {
    const ttl = ttlOf(options)
    const json = canonicalJson(value)
    await this.#write(key, options.userId, ttl, (keys, now, user) =>
      this.#run(scripts.SET, keys, [json, now + ttl, ttl, user, key, now, this.#channel]))
  }

  async delete (key: string): Promise<boolean> {
    return await this.#mutate([key], async () =>
      await this.#run(scripts.DELETE, [this.#prefix + key], [this.#clock(), this.#channel, key]) === 1)
  }

  async compareAndSet (key: string, expected: StoreValue | null, next: StoreValue | null, options?: StoreSetOptions): Promise<boolean> {
    // Checked before comparing, so a call missing its options fails every time, not only when it matches.
    const ttl = next === null ? 0 : ttlOf(options)
    const want = expected === null ? '' : canonicalJson(expected)
    const json = next === null ? '' : canonicalJson(next)
    const userId = next === null ? undefined : options?.userId
    const answer = await this.#write(key, userId, ttl, (keys, now, user) =>
      this.#run(scripts.COMPARE_AND_SET, keys, [now, want, next === null ? '0' : '1', json, now + ttl, ttl, user, key, this.#channel]))
    if (answer === -1) return wrongKind(key, 'a counter (increment), not a value')
    return answer === 1
  }

  async increment (key: string, options: StoreTtlOptions): Promise<number> {
    const ttl = ttlOf(options)
    const now = this.#clock()
    const count = await this.#mutate([key], async () =>
      await this.#run(scripts.INCREMENT, [this.#prefix + key], [now, now + ttl, ttl, this.#channel, key]) as number)
    if (count === -1) return wrongKind(key, 'a value, not a counter')
    return count
  }

  async keysOfUser (userId: string): Promise<string[]> {
    const now = this.#clock()
    const index = this.#indexKey(userId)
    const members = await this.#run(scripts.INDEX_LIST, [index], [now]) as string[]
    // The index may list keys deleted or moved since: each record's own `u` and expiry decide.
    const checked = await Promise.all(members.filter((_, i) => i % 2 === 0).map(async (key, i) => {
      const [x, u] = await this.#run(scripts.READ, [this.#prefix + key], ['x', 'u']) as Array<string | null>
      return { key, score: members[2 * i + 1] as string, live: u === userId && Number(x) > now }
    }))
    const dead = checked.filter(({ live }) => !live).flatMap(({ key, score }) => [key, score])
    if (dead.length > 0) await this.#run(scripts.INDEX_PRUNE, [index], [now, ...dead])
    return checked.filter(({ live }) => live).map(({ key }) => key)
  }

  async deleteUser (userId: string): Promise<number> {
    const now = this.#clock()
    const index = this.#indexKey(userId)
    const members = await this.#run(scripts.INDEX_LIST, [index], [now]) as string[]
    const keys = members.filter((_, i) => i % 2 === 0)
    // One script per key: each may live in its own slot, and Cluster runs a script on one slot only.
    const removed = await this.#mutate(keys, async () => await Promise.all(keys.map(async (key) =>
      await this.#run(scripts.DELETE_OF_USER, [this.#prefix + key], [now, userId, this.#channel, key]))))
    if (keys.length > 0) await this.#run(scripts.INDEX_PRUNE, [index], [now, ...members])
    return removed.filter((n) => n === 1).length
  }

  /**
   * Whether `get` answers are served from the local cache now: false without
   * one, and while its subscription is not confirmed (starting, Redis down,
   * reconnecting, closed). For health checks and tests.
   */
  get localCacheActive (): boolean {
    return this.#cache?.enabled === true
  }

  /** Ends the invalidation subscriber (the store's own connection), never the app's client. The store works on, uncached. */
  close (): void {
    this.#unwatch?.()
    this.#unwatch = undefined
  }

  #indexKey (userId: string): string {
    return this.#prefix + 'idx:' + userTag(userId)
  }

  #run (script: scripts.Script, keys: string[], args: Array<string | number>): Promise<unknown> {
    return this.#runner.run(script, keys, args)
  }

  /** Runs a write of `keys`, dropping them from the local cache before and after (the write may have landed even if it failed). */
  async #mutate<T> (keys: string[], write: () => Promise<T>): Promise<T> {
    for (const key of keys) this.#cache?.invalidate(key)
    try {
      return await write()
    } finally {
      for (const key of keys) this.#cache?.invalidate(key)
    }
  }

  /**
   * A set or compareAndSet. Its index write is in the same script when the
   * record and the index share a slot (the plugin's keys carry the user's
   * tag), or on a single server; else the index is written first, by itself:
   * readers check each member's record, so the key shows in the index only
   * once its record names the user, and the write still looks atomic.
   */
  async #write (key: string, userId: string | undefined, ttl: number, script: (keys: string[], now: number, user: string) => Promise<unknown>): Promise<unknown> {
    const now = this.#clock()
    const record = this.#prefix + key
    if (userId === undefined) return await this.#mutate([key], () => script([record], now, ''))
    const index = this.#indexKey(userId)
    if (!this.#cluster || hashTagOf(record) === hashTagOf(index)) {
      return await this.#mutate([key], () => script([record, index], now, userId))
    }
    await this.#run(scripts.INDEX_ADD, [index], [key, now + ttl, ttl, now])
    return await this.#mutate([key], () => script([record], now, userId))
  }
}
