import { jwtRefusals } from '../errors.js'
import type { JwtErrorCode } from '../types/index.js'

/*
 * The WWW-Authenticate header of a JWT refusal, as RFC 6750 §3 describes: a
 * request without a token gets only the realm; a refused token gets the
 * `error` of its code (lib/errors.ts) and the message as its description.
 */

function quoted (value: string): string {
  return `"${value.replace(/["\\]/g, '')}"`
}

/** Builds the error for `code` (an instance of its exported class), with its WWW-Authenticate header. */
export function jwtError (code: JwtErrorCode, scheme: string, realm: string, messages: Record<JwtErrorCode, string>): Error {
  const message = messages[code]
  const { Class, challengeError } = jwtRefusals[code]
  const err = new Class(message) as Error & { headers?: Record<string, string> }
  let challenge = `${scheme} realm=${quoted(realm)}`
  if (challengeError !== undefined) challenge += `, error=${quoted(challengeError)}, error_description=${quoted(message)}`
  err.headers = { 'www-authenticate': challenge }
  return err
}
