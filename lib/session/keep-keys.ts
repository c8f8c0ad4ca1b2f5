import { fail } from '../internal/option-checks.js'
import { RECORD_KEY, SECRET_KEY, USER_ID_KEY } from './state.js'

/*
 * `keepSessionKeys`: the session keys that survive the rotation at login
 * (rotateSession). By default the CSRF secret of @fastify/csrf-protection
 * (`_csrf`, its default `sessionKey`), so that a form rendered before the
 * login, in this tab or another, still posts after it instead of failing with
 * 403 FST_CSRF_MISSING_SECRET.
 *
 * Why keeping it is safe: the secret only proves that a request comes from a
 * page of this site; it is not a credential, it grants no login, and a
 * cross-site attacker cannot read it in any session, before login or after.
 * The rotation exists against session fixation: an attacker who planted a
 * session cookie must not end up inside the victim's login. That still holds,
 * since every login key is dropped and the login gets a new session secret.
 * What a planted session can carry over is its CSRF secret, and that needs an
 * attacker able to set the victim's cookies (a sibling subdomain, plain
 * HTTP), which the default `__Host-` cookie rules out and which defeats
 * cookie-based CSRF defences anyway. OWASP's CSRF cheat sheet asks for a
 * token per session, and leaves regenerating it at login optional. Apps that
 * want a new secret at login list their keys without `_csrf` (`[]`).
 *
 * The plugin's own login keys are refused: keeping them would carry the old
 * login, or the old session's secret, through the rotation meant to drop them.
 */
export const DEFAULT_KEEP_SESSION_KEYS: readonly string[] = ['_csrf']

const LOGIN_KEYS = [USER_ID_KEY, SECRET_KEY, RECORD_KEY]

/** Validates `keepSessionKeys`: an array of non-empty strings, none of the plugin's login keys; the default when absent. */
export function keepSessionKeysOption (value: unknown): string[] {
  if (value === undefined) return [...DEFAULT_KEEP_SESSION_KEYS]
  if (!Array.isArray(value) || !value.every((key) => typeof key === 'string' && key !== '')) {
    fail("keepSessionKeys must be an array of strings (non-empty session key names, like ['_csrf', 'cart'])")
  }
  const login = value.find((key) => LOGIN_KEYS.includes(key))
  if (login !== undefined) fail(`keepSessionKeys must not hold ${login}: it is one of the plugin's login keys, which every login replaces`)
  return [...new Set(value as string[])]
}
