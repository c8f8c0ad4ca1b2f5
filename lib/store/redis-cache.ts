import type { RedisLikeSubscriber } from './redis-client.js'

/*
 * RedisStore's local cache of `get` answers, kept honest by Redis pub/sub:
 * every write script PUBLISHes the key it changed, and each store's own
 * subscriber drops that key here.
 *
 * The cache is used only while the subscription is confirmed. Pub/sub does
 * not replay messages missed while disconnected, so on any sign of trouble
 * (error, close, reconnecting, end) it is emptied and turned off, and turned
 * on again only once SUBSCRIBE has been answered on a new connection.
 */

/** Options of the local cache. */
export interface LocalCacheOptions {
  /** Entries at most; the least recently used goes first. Default 10 000. */
  max?: number
  /** Milliseconds (the store's clock) an answer is kept at most. Default 5 000. */
  ttlMs?: number
}

interface Entry { json: string, until: number }

/** A `get` in flight: an invalidation of its key, or a disconnect, makes its answer unfit to cache. */
export interface Ticket { stale: boolean }

export class LocalCache {
  readonly #entries = new Map<string, Entry>()
  readonly #pending = new Map<string, Set<Ticket>>()
  readonly #max: number
  readonly #ttlMs: number
  #on = false

  constructor (options: LocalCacheOptions) {
    this.#max = positiveInteger(options.max ?? 10_000, 'localCache.max')
    this.#ttlMs = positiveInteger(options.ttlMs ?? 5_000, 'localCache.ttlMs')
  }

  /** Whether answers are served and kept (the subscription is confirmed). */
  get enabled (): boolean {
    return this.#on
  }

  /** The cached JSON of `key`, or undefined. */
  read (key: string, now: number): string | undefined {
    const entry = this.#entries.get(key)
    if (entry === undefined) return undefined
    this.#entries.delete(key)
    if (entry.until <= now) return undefined
    // Back in at the newest end: a Map iterates in insertion order, so its first key is the least recently used.
    this.#entries.set(key, entry)
    return entry.json
  }

  /** Call before reading `key` from Redis; hand the ticket to {@link end} when the read is over. */
  begin (key: string): Ticket {
    const ticket = { stale: !this.#on }
    const tickets = this.#pending.get(key)
    if (tickets === undefined) this.#pending.set(key, new Set([ticket]))
    else tickets.add(ticket)
    return ticket
  }

  /** The read of `key` is over (answered or failed). True when its answer may be cached: nothing spoilt it. */
  end (key: string, ticket: Ticket): boolean {
    const tickets = this.#pending.get(key) as Set<Ticket>
    tickets.delete(ticket)
    if (tickets.size === 0) this.#pending.delete(key)
    return !ticket.stale
  }

  /** Keeps `json`, a live value expiring at `expiresAt`, for ttlMs at most and never past its expiry. */
  put (key: string, json: string, expiresAt: number, now: number): void {
    this.#entries.delete(key)
    if (this.#entries.size >= this.#max) this.#entries.delete(this.#entries.keys().next().value as string)
    this.#entries.set(key, { json, until: Math.min(now + this.#ttlMs, expiresAt) })
  }

  /** `key` changed (here or in another process): forget it, and spoil reads of it in flight. */
  invalidate (key: string): void {
    this.#entries.delete(key)
    const tickets = this.#pending.get(key)
    if (tickets !== undefined) for (const ticket of tickets) ticket.stale = true
  }

  enable (): void {
    this.#on = true
  }

  /** Off and empty; reads in flight are spoilt too, since messages for them may be lost. */
  disable (): void {
    this.#on = false
    this.#entries.clear()
    for (const tickets of this.#pending.values()) for (const ticket of tickets) ticket.stale = true
  }
}

function positiveInteger (value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`${name} must be a positive integer, got ${String(value)}`)
  return value
}

/**
 * Subscribes `subscriber` to `channel` and keeps `cache` on only while the
 * subscription stands. Answers a function that ends it all.
 */
export function watchInvalidations (subscriber: RedisLikeSubscriber, channel: string, cache: LocalCache): () => void {
  // Bumped on every drop: a SUBSCRIBE answered for an older connection must not turn the cache on.
  let connection = 0
  let closed = false
  const down = (): void => {
    connection++
    cache.disable()
  }
  const subscribe = (): void => {
    const mine = connection
    subscriber.subscribe(channel).then(() => {
      if (!closed && mine === connection) cache.enable()
    }, down)
  }
  subscriber.on('message', (from: unknown, key: unknown) => {
    // A 'message' event's arguments are the channel and the message, both strings.
    if (from === channel) cache.invalidate(String(key))
  })
  // The 'error' listener also keeps an error event from crashing the process; the client reconnects by itself.
  for (const event of ['error', 'close', 'reconnecting', 'end']) subscriber.on(event, down)
  subscriber.on('ready', subscribe)
  subscribe()
  return () => {
    closed = true
    down()
    subscriber.disconnect()
  }
}
