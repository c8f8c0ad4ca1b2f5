import type { JwtClaims } from '../types/index.js'

/** `cache: true`: as many tokens as fast-jwt's cache held by default. */
export const DEFAULT_CACHE_SIZE = 1000
/** A cached token is verified again at least this often (fast-jwt's cacheTTL). */
const RECHECK_MS = 600_000

interface Entry {
  claims: JwtClaims
  /** Usable from (ms): nbf minus the leeway, as the verifier counts it. */
  from: number
  /** Usable until (ms): exp plus the leeway, and RECHECK_MS after it was verified. */
  until: number
}

/**
 * The `jwt.cache` option: tokens that passed verification (signature, alg,
 * kid, iss, aud, required claims), with their claims, least recently used
 * dropped first. An entry is only used inside the time window the verifier
 * itself would accept, so an expired or not-yet-valid token is verified again
 * and refused exactly as without the cache. Refused tokens are never stored.
 * Revocation is not cached: the guards check it on every request.
 *
 * fast-jwt has such a cache, but it keys entries by a SHA-2 hash of the token,
 * which was most of the cost of a hit. Here the key is the token itself: an
 * exact match, so no other token can ever hit an entry.
 */
export class VerifiedTokenCache {
  readonly #entries = new Map<string, Entry>()
  readonly #size: number
  readonly #leewayMs: number

  constructor (size: number, leewayMs: number) {
    this.#size = size
    this.#leewayMs = leewayMs
  }

  /** The claims of `token` if it was verified and is usable at `now` (ms). */
  get (token: string, now: number): JwtClaims | undefined {
    const entry = this.#entries.get(token)
    if (entry === undefined || now < entry.from || now > entry.until) return undefined
    // Most recently used last: Map keeps insertion order.
    this.#entries.delete(token)
    this.#entries.set(token, entry)
    return entry.claims
  }

  /** Stores the claims of a token that just passed verification at `now` (ms). */
  set (token: string, claims: JwtClaims, now: number): void {
    const from = typeof claims.nbf === 'number' ? claims.nbf * 1000 - this.#leewayMs : 0
    const until = Math.min(now + this.#leewayMs + RECHECK_MS, claims.exp * 1000 + this.#leewayMs)
    this.#entries.delete(token)
    this.#entries.set(token, { claims, from, until })
    if (this.#entries.size > this.#size) this.#entries.delete(this.#entries.keys().next().value as string)
  }
}
