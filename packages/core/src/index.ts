/**
 * @weft/core - the engine every Weft function calls. This index is the whole public
 * surface; anything not exported here is internal and free to change.
 */
export { createEngine, DEFAULT_RETRY, type EngineOptions } from "./engine/engine.js";
export type * from "./engine/types.js";
export { TERMINAL_NODE_STATUSES } from "./engine/types.js";
export { foldEvents } from "./engine/fold.js";
export { DEFAULT_LIMITS, RunSpecSchema, NodeSpecSchema, RetryPolicySchema, AdditionSchema, JoinSchema, WaitSpecSchema, Id } from "./dag/spec.js";
export { signalSealer, signalPath, type SignalSealer, type SignalAddress } from "./engine/signal-token.js";
export type { RunSpec, NodeSpec, RetryPolicy, OnFailure, DagLimits, Addition } from "./dag/spec.js";
export { validateRun } from "./dag/validate.js";
export * from "./errors.js";
export { keySchema, type KeySchema } from "./redis/keys.js";
export type { RedisPort, LuaScript } from "./redis/port.js";
export { luaScript } from "./redis/lua.js";
export { TcpRedis, type TcpRedisOptions } from "./redis/tcp.js";
export { UpstashRedis, type UpstashRedisOptions } from "./redis/upstash.js";
export { connectRedis, redisConfigFromEnv, parseClusterNodes, type RedisConfig } from "./redis/connect.js";
export {
  createStateStore,
  update,
  MachineDefinitionSchema,
  type StateStore,
  type StateStoreOptions,
  type StateRef,
  type StateEntry,
  type Writer,
  type WriteResult,
  type HistoryEntry,
  type Machine,
  type MachineDefinition,
  type TransitionResult,
  type UpdateOptions,
  type UpdateResult,
  type VersionedStore,
  RawJson,
} from "./state/index.js";
export { createArchiver, type Archiver, type ArchiverOptions, type FlushResult } from "./archive/archiver.js";
export { createReadThrough, type ReadThrough, type RunAt } from "./archive/read-through.js";
export {
  DynamoColdStore,
  TABLE,
  createTableInput,
  ensureTable,
  type ColdStore,
  type DynamoColdStoreOptions,
  type RunArchive,
  type RunList,
  type RunSummary,
  type ListRunsOptions,
} from "./archive/index.js";
export {
  EventBridgePublisher,
  InProcessPublisher,
  relayOutbox,
  type RelayOptions,
  type RelayResult,
  EVENT_SOURCE,
  type EventPublisher,
  type BusEvent,
  type EventDetail,
  type EventPattern,
} from "./events/index.js";
export { fieldOf, fromZodError } from "./validation.js";
