import { randomFillSync } from 'node:crypto'

/*
 * Random tokens (session secrets, remember-me device ids) from the OS's
 * CSPRNG, drawn from a small pool filled in one call: each randomBytes() call
 * costs a few microseconds, and a login needs one or two. Node's own
 * randomUUID() keeps a batch the same way. Each byte is handed out once; the
 * pool is small (about forty tokens), so little future randomness sits in
 * memory at any time.
 */

const POOL_BYTES = 1024
const pool = Buffer.allocUnsafe(POOL_BYTES)
let offset = POOL_BYTES

/** Hands out the next `bytes` of the pool to `use`, then wipes them. */
function take<T> (bytes: number, use: (start: number, end: number) => T): T {
  if (!Number.isSafeInteger(bytes) || bytes < 1 || bytes > POOL_BYTES) throw new RangeError(`random: 1 to ${POOL_BYTES} bytes, not ${bytes}`)
  if (offset + bytes > POOL_BYTES) {
    randomFillSync(pool)
    offset = 0
  }
  const out = use(offset, offset + bytes)
  // Used bytes are wiped, so a memory dump holds only what is not yet handed out.
  pool.fill(0, offset, offset + bytes)
  offset += bytes
  return out
}

/** `bytes` (1 to 1024) fresh random bytes, as base64url text. */
export function randomToken (bytes: number): string {
  return take(bytes, (start, end) => pool.toString('base64url', start, end))
}

/**
 * Fills `target` (1 to 1024 bytes) with fresh random bytes: the nonces of the
 * sealed tokens. libsodium's randombytes_buf asks the kernel on every call,
 * which costs more than the encryption itself on a short message.
 */
export function fillRandom (target: Buffer): void {
  take(target.length, (start, end) => pool.copy(target, 0, start, end))
}
