/** @weft/core/redis - the Redis side: clients behind one port, the key schema, the Lua loader. */
export type { RedisPort, LuaScript } from "./port.js";
export { TcpRedis, type TcpRedisOptions } from "./tcp.js";
export { UpstashRedis, type UpstashRedisOptions } from "./upstash.js";
export { connectRedis, redisConfigFromEnv, parseClusterNodes, type RedisConfig } from "./connect.js";
export { keySchema, type KeySchema, type RunKeys, type ShardKeys } from "./keys.js";
export { luaScript } from "./lua.js";
