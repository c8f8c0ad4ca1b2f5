import cluster from 'node:cluster'
import type { LoginStore, StoreSetOptions, StoreTtlOptions, StoreValue } from '../types/index.js'
import { jsonEqual } from './json-equal.js'

/** The code of the warning a MemoryStore gives in a `node:cluster` worker. */
export const MEMORY_STORE_CLUSTER_WARNING = 'FST_LOGIN_MEMORY_STORE_CLUSTER'

const SWEEP_EVERY_MS = 60_000
// A sweep looks at this many entries per turn of the event loop, so a large map never blocks it for long.
const SWEEP_BATCH = 1000

/** Options of {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /** Milliseconds since the epoch, read for every expiry decision. Default `Date.now`. */
  clock?: () => number
  /**
   * Called once, at construction, when the store is made in a `node:cluster`
   * worker. Default: `process.emitWarning(message, { code: 'FST_LOGIN_MEMORY_STORE_CLUSTER' })`.
   */
  warn?: (message: string) => void
  /**
   * Milliseconds between sweeps that free the memory of expired keys nobody
   * reads again, or `false` for none (expiry itself never depends on it).
   * Default 60 000. The timer does not keep the process alive; `close()` stops it.
   */
  sweepInterval?: number | false
  /** Whether this process is one of several cluster workers. Default `cluster.isWorker` (for tests). */
  clusterWorker?: boolean
}

type Entry =
  | { kind: 'value', value: StoreValue, flat: boolean, expiresAt: number, userId: string | undefined }
  | { kind: 'counter', count: number, expiresAt: number }

function expiryOf (options: StoreTtlOptions | undefined, now: number): number {
  const ttlMs = options?.ttlMs
  if (typeof ttlMs !== 'number' || !Number.isSafeInteger(ttlMs) || ttlMs <= 0) {
    throw new RangeError(`ttlMs must be a positive integer of milliseconds, got ${String(ttlMs)}`)
  }
  return now + ttlMs
}

/**
 * Whether every field of `value` is a string, number, boolean or null: a
 * shallow copy is then a full copy, at a fraction of structuredClone's cost
 * (session records are flat, and one is read per request).
 */
function isFlat (value: StoreValue): boolean {
  for (const key in value) {
    const field = value[key]
    if (field !== null && typeof field === 'object') return false
    if (field === undefined) return false
  }
  return true
}

function copyOf (value: StoreValue, flat: boolean): StoreValue {
  return flat ? { ...value } : structuredClone(value)
}

function counterKey (key: string): never {
  throw new TypeError(`the key ${JSON.stringify(key)} holds a counter (increment), not a value`)
}

/**
 * The default {@link LoginStore}: a map in this process's memory, nothing to
 * install. Expiry is checked on every read against `clock`; a periodic,
 * bounded sweep only gives back the memory of keys nobody reads again.
 * Values are copied in and out (a shallow copy for flat values, else
 * `structuredClone`), so callers cannot change
 * stored state by mutating an object. Everything runs synchronously, so each
 * operation is atomic.
 *
 * One process only: with several processes (cluster workers, several hosts)
 * each has its own map, and a login made in one is unknown to the others.
 *
 * @example
 * const store = new MemoryStore()
 * store.set('s:{u1}:abc', { createdAt: Date.now() }, { ttlMs: 60_000, userId: 'u1' })
 */
export class MemoryStore implements LoginStore {
  readonly #entries = new Map<string, Entry>()
  readonly #users = new Map<string, Set<string>>()
  readonly #clock: () => number
  #cursor: MapIterator<[string, Entry]>
  #timer: NodeJS.Timeout | undefined
  #sweeping = false

  constructor (options: MemoryStoreOptions = {}) {
    this.#clock = options.clock ?? Date.now
    this.#cursor = this.#entries.entries()
    if (options.clusterWorker ?? cluster.isWorker) {
      const warn = options.warn ?? ((message: string) => process.emitWarning(message, { code: MEMORY_STORE_CLUSTER_WARNING }))
      warn('fastify-login: MemoryStore keeps sessions in this process only, and this is a cluster worker: ' +
        'the other workers will not see its sessions. Use a shared store (such as Redis) for more than one process.')
    }
    const every = options.sweepInterval ?? SWEEP_EVERY_MS
    if (every !== false) {
      this.#timer = setInterval(() => this.#sweep(), every)
      this.#timer.unref()
    }
  }

  get (key: string): StoreValue | null {
    const entry = this.#live(key)
    if (entry === undefined) return null
    if (entry.kind === 'counter') return counterKey(key)
    return copyOf(entry.value, entry.flat)
  }

  set (key: string, value: StoreValue, options: StoreSetOptions): void {
    this.#write(key, value, options)
  }

  delete (key: string): boolean {
    const entry = this.#live(key)
    if (entry === undefined) return false
    this.#remove(key, entry)
    return true
  }

  compareAndSet (key: string, expected: StoreValue | null, next: StoreValue | null, options?: StoreSetOptions): boolean {
    // Checked before comparing, so a call missing its options fails every time, not only when it matches.
    if (next !== null) expiryOf(options, 0)
    const entry = this.#live(key)
    if (entry?.kind === 'counter') return counterKey(key)
    const current = entry?.value ?? null
    const matches = expected === null || current === null ? expected === current : jsonEqual(current, expected)
    if (!matches) return false
    if (next === null) {
      if (entry !== undefined) this.#remove(key, entry)
    } else {
      this.#write(key, next, options as StoreSetOptions)
    }
    return true
  }

  increment (key: string, options: StoreTtlOptions): number {
    const entry = this.#live(key)
    if (entry === undefined) {
      this.#entries.set(key, { kind: 'counter', count: 1, expiresAt: expiryOf(options, this.#clock()) })
      return 1
    }
    if (entry.kind === 'value') throw new TypeError(`the key ${JSON.stringify(key)} holds a value, not a counter`)
    return ++entry.count
  }

  keysOfUser (userId: string): string[] {
    const keys = this.#users.get(userId)
    if (keys === undefined) return []
    // A copy: #live() takes expired keys out of the set while we walk it.
    return [...keys].filter((key) => this.#live(key) !== undefined)
  }

  deleteUser (userId: string): number {
    const keys = this.keysOfUser(userId)
    for (const key of keys) this.#remove(key, this.#entries.get(key) as Entry)
    return keys.length
  }

  /** Stops the sweep. The store still works afterwards (expiry is checked on read). */
  close (): void {
    clearInterval(this.#timer)
    this.#timer = undefined
  }

  /** How many keys are held, expired ones not yet reclaimed included (for tests and metrics). */
  get size (): number {
    return this.#entries.size
  }

  #live (key: string): Entry | undefined {
    const entry = this.#entries.get(key)
    if (entry === undefined || entry.expiresAt > this.#clock()) return entry
    this.#remove(key, entry)
    return undefined
  }

  #write (key: string, value: StoreValue, options: StoreSetOptions): void {
    const expiresAt = expiryOf(options, this.#clock())
    const flat = isFlat(value)
    const copy = copyOf(value, flat)
    // The old entry, live or not, leaves its user's index: the index follows the latest write.
    const old = this.#entries.get(key)
    if (old !== undefined) this.#remove(key, old)
    const userId = options.userId
    this.#entries.set(key, { kind: 'value', value: copy, flat, expiresAt, userId })
    if (userId === undefined) return
    const keys = this.#users.get(userId)
    if (keys === undefined) this.#users.set(userId, new Set([key]))
    else keys.add(key)
  }

  #remove (key: string, entry: Entry): void {
    this.#entries.delete(key)
    if (entry.kind === 'counter' || entry.userId === undefined) return
    const keys = this.#users.get(entry.userId) as Set<string>
    keys.delete(key)
    if (keys.size === 0) this.#users.delete(entry.userId)
  }

  /*
   * A sweep walks the whole map, one batch per turn of the event loop
   * (setImmediate between batches), so a large map never blocks the loop
   * for long and yet every expired key is freed once per interval, however
   * many keys expire per second.
   */
  #sweep (): void {
    if (this.#sweeping) return
    this.#sweeping = true
    this.#sweepBatch()
  }

  #sweepBatch (): void {
    if (this.#timer === undefined) {
      this.#sweeping = false // closed meanwhile
      return
    }
    const now = this.#clock()
    for (let seen = 0; seen < SWEEP_BATCH; seen++) {
      const next = this.#cursor.next()
      if (next.done === true) {
        // Map iterators see later insertions, but once done they stay done: start over next time.
        this.#cursor = this.#entries.entries()
        this.#sweeping = false
        return
      }
      const [key, entry] = next.value
      if (entry.expiresAt <= now) this.#remove(key, entry)
    }
    setImmediate(() => this.#sweepBatch())
  }
}
