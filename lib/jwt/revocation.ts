import type { RevocationStore } from '../types/index.js'

const SWEEP_EVERY_MS = 60_000

/**
 * The default revocation store: revoked token ids and per-user cut-offs in
 * this process's memory. Entries go away when the token they cover would
 * have expired anyway, so the map holds at most the tokens revoked within one
 * refresh-token lifetime. Several processes need a shared store (Redis, SQL).
 *
 * @example
 * const store = new MemoryRevocationStore()
 * await app.register(fastifyLogin, { ..., jwt: { secret, revocationStore: store } })
 */
export class MemoryRevocationStore implements RevocationStore {
  readonly #revoked = new Map<string, number>()
  readonly #cutoffs = new Map<string, number>()
  readonly #cutoffLifetime: number
  #lastSweep = Date.now()

  /** @param cutoffLifetime seconds a user cut-off is kept: the longest token lifetime. */
  constructor (cutoffLifetime = 30 * 86400) {
    this.#cutoffLifetime = cutoffLifetime
  }

  revoke (jti: string, expiresAt: number): void {
    this.#revoked.set(jti, expiresAt)
    this.#sweep()
  }

  isRevoked (jti: string): boolean {
    const until = this.#revoked.get(jti)
    return until !== undefined && until * 1000 > Date.now()
  }

  setUserCutoff (userId: string, cutoff: number): void {
    this.#cutoffs.set(userId, cutoff)
    this.#sweep()
  }

  getUserCutoff (userId: string): number | undefined {
    return this.#cutoffs.get(userId)
  }

  /** How many revoked tokens are held (for tests and metrics). */
  get size (): number {
    return this.#revoked.size
  }

  #sweep (): void {
    const now = Date.now()
    if (now - this.#lastSweep < SWEEP_EVERY_MS) return
    this.#lastSweep = now
    for (const [jti, until] of this.#revoked) if (until * 1000 <= now) this.#revoked.delete(jti)
    for (const [userId, cutoff] of this.#cutoffs) if ((cutoff + this.#cutoffLifetime) * 1000 <= now) this.#cutoffs.delete(userId)
  }
}
