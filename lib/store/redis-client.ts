import { storeUnavailable } from './guarded.js'
import type { Script } from './redis-scripts.js'

/*
 * What RedisStore needs of a Redis client, declared structurally so that the
 * built declarations do not import ioredis (an optional peer): ioredis'
 * Redis and Cluster, iovalkey and the `fastify.redis` of @fastify/redis fit.
 */

/** The subscriber connection a client's `duplicate()` makes. */
export interface RedisLikeSubscriber {
  subscribe (channel: string): Promise<unknown>
  on (event: string, listener: (...args: unknown[]) => void): unknown
  /** Closes at once, without waiting for the server (so it never hangs). */
  disconnect (): void
}

/** The client methods RedisStore uses: ioredis' `Redis` and `Cluster` have them. */
export interface RedisLikeClient {
  /** `'ready'` while connected; anything else makes every operation fail at once. */
  readonly status: string
  /** True for a Cluster client: then keys of other slots are never put in one script. */
  readonly isCluster?: boolean
  evalsha (sha1: string, numKeys: number, ...args: Array<string | number>): Promise<unknown>
  eval (script: string, numKeys: number, ...args: Array<string | number>): Promise<unknown>
  /** A new connection with the same options, for the invalidation subscriber. */
  duplicate (): RedisLikeSubscriber
}

const noop = (): void => {}

/**
 * Runs the store's scripts, failing fast and closed: not connected → at
 * once; no answer within `timeoutMs` → a StoreUnavailableError; any Redis
 * error → a StoreUnavailableError with it as `cause`. We do not wait in the
 * client's offline queue: a login that takes seconds to fail is worse than a
 * quick 503 with Retry-After.
 */
export class ScriptRunner {
  readonly #client: RedisLikeClient
  readonly #timeoutMs: number

  constructor (client: RedisLikeClient, timeoutMs: number) {
    this.#client = client
    this.#timeoutMs = timeoutMs
  }

  /** Throws a StoreUnavailableError unless the client is connected. */
  check (): void {
    const status = this.#client.status
    if (status !== 'ready') throw storeUnavailable(new Error(`Redis client status is '${status}'`), 'Redis is not connected')
  }

  async run (script: Script, keys: string[], args: Array<string | number>): Promise<unknown> {
    this.check()
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(storeUnavailable(new Error(`no answer to ${script.name} in ${this.#timeoutMs} ms`), 'Redis did not answer in time')), this.#timeoutMs)
    })
    // The timer goes as soon as Redis answers, so none is left holding the event loop.
    const answer = this.#send(script, keys, args).finally(() => clearTimeout(timer))
    // The losing side of the race must not become an unhandled rejection.
    answer.catch(noop)
    return await Promise.race([answer, timeout]).catch((err: unknown) => {
      // A fixed text: the message may reach clients in the 503, the details stay in `cause`.
      throw storeUnavailable(err, 'Redis failed')
    })
  }

  async #send (script: Script, keys: string[], args: Array<string | number>): Promise<unknown> {
    try {
      return await this.#client.evalsha(script.sha, keys.length, ...keys, ...args)
    } catch (err) {
      // A server that has not seen the script yet (new, restarted, another Cluster node): send it whole once.
      if (!String((err as Error).message).startsWith('NOSCRIPT')) throw err
      return await this.#client.eval(script.lua, keys.length, ...keys, ...args)
    }
  }
}
