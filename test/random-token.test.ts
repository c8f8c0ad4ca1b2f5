import t from 'tap'
import { randomToken } from '../lib/internal/random.js'

/* Session secrets and remember-me device ids come from a pooled CSPRNG buffer: each byte is handed out once. */

t.test('random tokens are base64url of fresh bytes, never repeated across pool refills', async (t) => {
  t.match(randomToken(24), /^[A-Za-z0-9_-]{32}$/, '24 bytes: 32 characters')
  t.not(randomToken(24), randomToken(24), 'each draw is new')
  // 1024-byte pool: 200 draws of 16 bytes refill it three times.
  const many = new Set(Array.from({ length: 200 }, () => randomToken(16)))
  t.equal(many.size, 200, 'no token repeats')
  t.equal(randomToken(1024).length, 1366, 'a whole pool at once')
})

t.test('sizes outside 1 to 1024 bytes are refused', async (t) => {
  for (const bad of [0, -1, 1025, 1.5, Number.NaN]) t.throws(() => randomToken(bad), RangeError, `${bad}`)
})
