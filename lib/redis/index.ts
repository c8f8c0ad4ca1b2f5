/*
 * fastify-login/redis: the Redis store. Its own entry point, so that apps
 * without Redis never load it, and ioredis stays an optional peer dependency
 * (nothing here imports it: the client is typed structurally).
 */
export { RedisStore, type RedisStoreOptions } from '../store/redis.js'
export type { RedisLikeClient, RedisLikeSubscriber } from '../store/redis-client.js'
export type { LocalCacheOptions } from '../store/redis-cache.js'
export { userTag } from '../store/keys.js'
