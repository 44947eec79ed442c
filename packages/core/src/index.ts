/**
 * @weft/core - the engine every Weft function calls. This index is the whole public
 * surface; anything not exported here is internal and free to change.
 */
export { createEngine, DEFAULT_RETRY, type EngineOptions } from "./engine/engine.js";
export type * from "./engine/types.js";
export { TERMINAL_NODE_STATUSES } from "./engine/types.js";
export { foldEvents } from "./engine/fold.js";
export { DEFAULT_LIMITS, RunSpecSchema, NodeSpecSchema, RetryPolicySchema, Id } from "./dag/spec.js";
export type { RunSpec, NodeSpec, RetryPolicy, OnFailure, DagLimits } from "./dag/spec.js";
export { validateRun } from "./dag/validate.js";
export * from "./errors.js";
export { keySchema, type KeySchema } from "./redis/keys.js";
export type { RedisPort, LuaScript } from "./redis/port.js";
export { loadScript } from "./redis/scripts.js";
export { TcpRedis, type TcpRedisOptions } from "./redis/tcp.js";
export { UpstashRedis, type UpstashRedisOptions } from "./redis/upstash.js";
export { connectRedis, redisConfigFromEnv, parseClusterNodes, type RedisConfig } from "./redis/connect.js";
