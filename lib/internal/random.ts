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

/** `bytes` (1 to 1024) fresh random bytes, as base64url text. */
export function randomToken (bytes: number): string {
  if (!Number.isSafeInteger(bytes) || bytes < 1 || bytes > POOL_BYTES) throw new RangeError(`randomToken takes 1 to ${POOL_BYTES} bytes, not ${bytes}`)
  if (offset + bytes > POOL_BYTES) {
    randomFillSync(pool)
    offset = 0
  }
  const token = pool.toString('base64url', offset, offset + bytes)
  // Used bytes are wiped, so a memory dump holds only what is not yet handed out.
  pool.fill(0, offset, offset + bytes)
  offset += bytes
  return token
}
