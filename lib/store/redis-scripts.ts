import { createHash } from 'node:crypto'

/*
 * The Lua scripts of RedisStore. Each runs atomically on one Redis node and
 * touches only the keys it is given (KEYS), all of one Cluster slot.
 *
 * A record is a hash: `v` its value (canonical JSON, see canonicalJson), or
 * `c` a counter; `x` when it expires on the store's clock (ms since the
 * epoch, passed in as ARGV: Redis's own clock is never read, so a test clock
 * works and client/server skew does not matter); `u` the user whose index
 * lists it. The Redis key also gets a PX TTL of ttlMs so Redis frees it.
 *
 * A user's index is a sorted set of keys scored by their expiry. It may hold
 * stale members (deleted or moved keys): readers check each member's record
 * (`u` is the truth), so no script has to touch another user's index or a
 * key's old index, which may live in another slot.
 */

/** A script and its SHA1, for EVALSHA. */
export interface Script {
  readonly name: string
  readonly lua: string
  readonly sha: string
}

function script (name: string, lua: string): Script {
  return { name, lua, sha: createHash('sha1').update(lua).digest('hex') }
}

// ZADD the member, drop members expired by the store clock, and keep the
// index alive as long as its longest member (PTTL is -1 for a new key).
const INDEX = `
local function index(idx, member, at, ttl, now)
  redis.call('ZADD', idx, at, member)
  redis.call('ZREMRANGEBYSCORE', idx, '-inf', now)
  if redis.call('PTTL', idx) < tonumber(ttl) then redis.call('PEXPIRE', idx, ttl) end
end
`

// Replaces the record under KEYS[1]; with KEYS[2], also indexes it there
// (else the caller has indexed it already: see RedisStore#indexFirst).
// Answers 1 when a key was there before: only then can another process hold
// a cached copy to forget (absent keys are never cached), so a new session's
// record costs no invalidation message.
const WRITE = INDEX + `
local function write(json, at, ttl, user, member, now)
  local existed = redis.call('DEL', KEYS[1])
  if user == '' then
    redis.call('HSET', KEYS[1], 'v', json, 'x', at)
  else
    redis.call('HSET', KEYS[1], 'v', json, 'x', at, 'u', user)
    if KEYS[2] then index(KEYS[2], member, at, ttl, now) end
  end
  redis.call('PEXPIRE', KEYS[1], ttl)
  return existed
end
`

/** HMGET of the fields in ARGV (a script so the client needs nothing but EVAL). */
export const READ = script('read', "return redis.call('HMGET', KEYS[1], unpack(ARGV))")

/** ARGV: json, at, ttl, user ('' for none), member, now, channel. */
export const SET = script('set', WRITE + `
if write(ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]) == 1 then redis.call('PUBLISH', ARGV[7], ARGV[5]) end
return 1
`)

/** ARGV: now, channel, member. 1 when a live record was removed. */
export const DELETE = script('delete', `
local x = redis.call('HGET', KEYS[1], 'x')
if not x then return 0 end
redis.call('DEL', KEYS[1])
redis.call('PUBLISH', ARGV[2], ARGV[3])
if tonumber(x) > tonumber(ARGV[1]) then return 1 end
return 0
`)

/**
 * ARGV: now, expected ('' for null), has next ('1'/'0'), next json, at, ttl,
 * user, member, channel. 1 swapped, 0 no match, -1 the key holds a counter.
 * An empty string is never canonical JSON of an object, so '' can stand for null.
 */
export const COMPARE_AND_SET = script('compareAndSet', WRITE + `
local now = ARGV[1]
local cur = redis.call('HMGET', KEYS[1], 'v', 'x', 'c')
local live = cur[2] and tonumber(cur[2]) > tonumber(now)
if live and cur[3] then return -1 end
local value = live and cur[1] or ''
if value ~= ARGV[2] then return 0 end
if ARGV[3] == '1' then
  write(ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], now)
elseif cur[2] then
  redis.call('DEL', KEYS[1])
end
if cur[2] then redis.call('PUBLISH', ARGV[9], ARGV[8]) end
return 1
`)

/**
 * ARGV: now, at, ttl, channel, member. The new count, or -1 when the key
 * holds a value. The window is fixed: only a new counter gets `x` and a TTL.
 */
export const INCREMENT = script('increment', `
local cur = redis.call('HMGET', KEYS[1], 'v', 'x', 'c')
if cur[2] and tonumber(cur[2]) > tonumber(ARGV[1]) then
  if cur[1] then return -1 end
  return redis.call('HINCRBY', KEYS[1], 'c', 1)
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'c', 1, 'x', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
if cur[1] then redis.call('PUBLISH', ARGV[4], ARGV[5]) end
return 1
`)

/** KEYS[1] an index; ARGV: member, at, ttl, now. For writes whose record is in another slot. */
export const INDEX_ADD = script('indexAdd', INDEX + `
index(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4])
return 1
`)

/** KEYS[1] an index; ARGV: now. Members not expired by score, with their scores. */
export const INDEX_LIST = script('indexList', `
return redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], '+inf', 'WITHSCORES')
`)

/**
 * KEYS[1] an index; ARGV: now, then member, score pairs seen dead. Removes
 * expired members and each given member whose score is still the one seen:
 * a member written again meanwhile has a new score and stays.
 */
export const INDEX_PRUNE = script('indexPrune', `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
for i = 2, #ARGV, 2 do
  if redis.call('ZSCORE', KEYS[1], ARGV[i]) == ARGV[i + 1] then redis.call('ZREM', KEYS[1], ARGV[i]) end
end
return 1
`)

/** ARGV: now, user, channel, member. Deletes the record if it is `user`'s; 1 when it was live. */
export const DELETE_OF_USER = script('deleteOfUser', `
local cur = redis.call('HMGET', KEYS[1], 'x', 'u')
if not cur[1] or cur[2] ~= ARGV[2] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('PUBLISH', ARGV[3], ARGV[4])
if tonumber(cur[1]) > tonumber(ARGV[1]) then return 1 end
return 0
`)
