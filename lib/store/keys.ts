import { hash } from 'node:crypto'

/*
 * The names of the plugin's keys in a store. Each key of one user carries
 * the same `{…}` group, the user's tag, so that Redis Cluster keeps a user's
 * keys and their index in one slot (a script may then touch them together).
 * The tag encodes the user id, which the app chooses and may hold any text:
 * base64url keeps keys to the port's character set, and a long id is hashed
 * so that keys stay under the port's 250 characters.
 */

const LONG_ID = 96

/** The hash-tag group of `userId`'s keys: `{` + base64url(id) + `}`, or a SHA-256 of a long id. */
export function userTag (userId: string): string {
  const encoded = Buffer.from(userId, 'utf8').toString('base64url')
  return encoded.length <= LONG_ID ? `{${encoded}}` : `{#${hash('sha256', userId, 'base64url')}}`
}

/** The prefix of every session record key of `userId`. */
export function sessionKeyPrefix (userId: string): string {
  return `sess:${userTag(userId)}:`
}

/** The key of the session record with public id `id`. */
export function sessionKey (userId: string, id: string): string {
  return sessionKeyPrefix(userId) + id
}
