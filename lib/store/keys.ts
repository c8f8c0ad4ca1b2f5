import { hash } from 'node:crypto'

/*
 * How a store's keys meet Redis Cluster hash tags. Tiny and dependency-free:
 * the plugin builds its keys with userTag(), and RedisStore builds its
 * per-user index key with the same tag, so one user's keys and index land in
 * one Cluster slot and a Lua script may touch them together.
 */
const LONG_ID = 96
const TAG_CACHE = 4096
const TAGS = new Map<string, string>()

/**
 * The hash tag of a user: `{` + the user id's UTF-8 bytes in base64url + `}`.
 * base64url only holds `A-Z a-z 0-9 - _`, so any user id (spaces, quotes,
 * braces, emoji) becomes key-safe text, and no `}` inside an id can end the
 * tag early. A long id (over 96 characters encoded) is hashed instead
 * (`{.` + SHA-256 + `}`; `.` is not base64url, so it cannot clash), so that keys stay under the port's 250 characters.
 * Keys written with `userId` carry `userTag(userId)`.
 *
 * @example
 * userTag('alice') // '{YWxpY2U}'
 * const key = `s:${userTag('alice')}:${sessionId}`
 */
export function userTag (userId: string): string {
  let tag = TAGS.get(userId)
  if (tag === undefined) {
    const encoded = Buffer.from(userId, 'utf8').toString('base64url')
    tag = encoded.length <= LONG_ID ? `{${encoded}}` : `{.${hash('sha256', userId, 'base64url')}}`
    // Every request of a session builds its key: recent tags are kept (bounded, dropped whole when full).
    if (TAGS.size >= TAG_CACHE) TAGS.clear()
    if (userId.length <= LONG_ID) TAGS.set(userId, tag)
  }
  return tag
}

/** The prefix of every session record key of `userId`. */
export function sessionKeyPrefix (userId: string): string {
  return `sess:${userTag(userId)}:`
}

/** The key of the session record with public id `id`. */
export function sessionKey (userId: string, id: string): string {
  return sessionKeyPrefix(userId) + id
}

/**
 * The hash tag Redis Cluster reads in `key`: the text between the first `{`
 * and the first `}` after it when not empty, else the whole key.
 */
export function hashTagOf (key: string): string {
  const open = key.indexOf('{')
  if (open !== -1) {
    const close = key.indexOf('}', open + 1)
    if (close > open + 1) return key.slice(open + 1, close)
  }
  return key
}

/**
 * JSON text with every object's keys sorted: two values deeply equal as JSON
 * (keys in any order) give the same text, so a Lua script can test the
 * contract's deep equality by comparing strings.
 */
export function canonicalJson (value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) => {
    if (inner === null || typeof inner !== 'object' || Array.isArray(inner)) return inner
    // No prototype: a key named `__proto__` stays an own property instead of setting one.
    const sorted: Record<string, unknown> = Object.create(null)
    for (const name of Object.keys(inner).sort()) sorted[name] = (inner as Record<string, unknown>)[name]
    return sorted
  })
}

/** The prefix of every remember-me series key of `userId`. */
export function rememberSeriesPrefix (userId: string): string {
  return `rmser:${userTag(userId)}:`
}

/** The key of remember-me series `id` of `userId`. */
export function rememberSeriesKey (userId: string, id: string): string {
  return rememberSeriesPrefix(userId) + id
}

/**
 * The login-throttle keys of one account or one client address: `count`, the
 * failure counter of the window, and `lock`, the time until which attempts
 * are refused. `subject` is already normalised (see lib/throttle/counter.ts);
 * its SHA-256 makes any text key-safe and of fixed length. The keys carry no
 * user tag and join no user index: a logout everywhere (`deleteUser`) must
 * not reset an attacker's count.
 *
 * @example
 * throttleKeys('a', 'alice') // { count: 'thr:a:<hash>', lock: 'thr:a:<hash>:lock' }
 * throttleKeys('ip', '203.0.113.7')
 */
export function throttleKeys (kind: 'a' | 'ip', subject: string): { count: string, lock: string } {
  const base = `thr:${kind}:${hash('sha256', subject, 'base64url')}`
  return { count: base, lock: `${base}:lock` }
}

/** The prefix of every refresh-token family key of `userId`. */
export function familyPrefix (userId: string): string {
  return `jwtfam:${userTag(userId)}:`
}

/** The key of refresh-token family `id` of `userId`. */
export function familyKey (userId: string, id: string): string {
  return familyPrefix(userId) + id
}

/**
 * The key of a revoked token id. Token ids are base64url (the plugin makes
 * them), and any other one is hashed so that a key stays short and key-safe.
 */
export function revokedTokenKey (jti: string): string {
  return /^[A-Za-z0-9_-]{1,64}$/.test(jti) ? `jwtrev:${jti}` : `jwtrev:.${hash('sha256', jti, 'base64url')}`
}

/** The key of `userId`'s token cut-off (`revokeAllTokens`): in no user index, so that it outlives a deleteUser. */
export function tokenCutoffKey (userId: string): string {
  return `jwtcut:${userTag(userId)}`
}
