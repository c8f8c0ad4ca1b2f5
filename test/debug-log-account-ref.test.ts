import t from 'tap'
import { createHash } from 'node:crypto'
import { Writable } from 'node:stream'
import { buildApp, PASSWORD, authenticate } from './helpers.js'

/*
 * The security log's `accountRef` names the account of a failed or throttled
 * login. People type their password into the username field: a plain hash of
 * what was typed would let anyone who reads the log test password guesses
 * against it offline, so the reference must not be computable from a guess.
 */

const SECRET = 'debug-log-account-ref-secret-0123456789ab'

async function refsOf (typed: string[]): Promise<string[]> {
  const raw: string[] = []
  const stream = new Writable({ write (chunk: Buffer, _encoding, done) { raw.push(chunk.toString('utf8')); done() } })
  const { app } = await buildApp({ jwt: { secret: SECRET, authenticate } }, undefined, { logger: { level: 'debug', stream } })
  try {
    for (const username of typed) {
      const res = await app.inject({ method: 'POST', url: '/auth', payload: { username, password: 'not the password' } })
      if (res.statusCode !== 401) throw new Error(`expected a 401, got ${res.statusCode}`)
    }
  } finally {
    await app.close()
  }
  return raw.join('').split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as { msg: string, accountRef?: string })
    .filter((line) => line.msg === 'fastify-login: login failed').map((line) => line.accountRef as string)
}

t.test('a password typed as the username cannot be guessed from its accountRef', async (t) => {
  const typed = PASSWORD
  const [ref, again, other] = await refsOf([typed, ` ${typed.toUpperCase()} `, 'bob'])
  t.match(ref, /^[0-9a-f]{12}$/)
  const guess = (value: string): string => createHash('sha256').update(value).digest('hex')
  for (const candidate of [typed, typed.normalize('NFKC').toLowerCase().trim()]) {
    t.notOk(guess(candidate).startsWith(ref as string), 'not a plain SHA-256 of what was typed')
  }
  t.equal(again, ref, 'the same account (as the throttle counts it) keeps one reference, so its lines can be grouped')
  t.not(other, ref, 'another account has another reference')
})
