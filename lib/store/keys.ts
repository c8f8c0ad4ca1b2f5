/*
 * How a store's keys meet Redis Cluster hash tags. Tiny and dependency-free:
 * the plugin builds its keys with userTag(), and RedisStore builds its
 * per-user index key with the same tag, so one user's keys and index land in
 * one Cluster slot and a Lua script may touch them together.
 */

/**
 * The hash tag of a user: `{` + the user id's UTF-8 bytes in base64url + `}`.
 * base64url only holds `A-Z a-z 0-9 - _`, so any user id (spaces, quotes,
 * braces, emoji) becomes key-safe text, and no `}` inside an id can end the
 * tag early. Keys written with `userId` carry `userTag(userId)`.
 *
 * @example
 * userTag('alice') // '{YWxpY2U}'
 * const key = `s:${userTag('alice')}:${sessionId}`
 */
export function userTag (userId: string): string {
  return '{' + Buffer.from(userId, 'utf8').toString('base64url') + '}'
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
