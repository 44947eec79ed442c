/**
 * @weft/core - the engine every Weft function calls: what a user of the engine needs
 * (createEngine, the shared state store, archiving finished runs through a cold store,
 * the typed errors and the types). Adapters and edge helpers sit behind subpaths:
 *
 * - `@weft/core/redis`: Redis clients (TcpRedis, UpstashRedis, connectRedis), the key schema, the Lua loader;
 * - `@weft/core/dynamodb`: the DynamoDB cold store and its table;
 * - `@weft/core/events`: the EventBridge and in-process publishers, the outbox relay;
 * - `@weft/core/validation`: the zod schemas of run specs and additions, validateRun, zod error wording;
 * - `@weft/core/checks`: limits and id/token checks; `@weft/core/sdk`: what an HTTP client shares (pure),
 *   also the API's error codes and statuses (API_ERROR_STATUS, codeOfStatus, errorOfApi).
 *
 * Anything exported nowhere is internal and free to change.
 */
export { createEngine, type EngineOptions } from "./engine/engine.js";
export type * from "./engine/types.js";
export type { RunSpec, NodeSpec, RetryPolicy, OnFailure, DagLimits, Addition } from "./dag/spec.js";
// The typed errors; the API's error table (API_ERROR_STATUS, codeOfStatus, errorOfApi) is an HTTP matter: @weft/core/sdk.
export {
  ConflictError,
  NotFoundError,
  PayloadTooLargeError,
  RateLimitedError,
  SchemaError,
  UnavailableError,
  ValidationError,
  WeftError,
  type ErrorCode,
} from "./errors.js";
export {
  createStateStore,
  update,
  RawJson,
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
} from "./state/index.js";
export { createArchiver, type Archiver, type ArchiverOptions, type FlushResult } from "./archive/archiver.js";
export { createReadThrough, type ReadThrough, type RunAt } from "./archive/read-through.js";
export type { ColdStore } from "./archive/port.js";
