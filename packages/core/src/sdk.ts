/**
 * @weft/core/sdk - what a client of Weft's HTTP API shares with the engine: the typed
 * errors, update() (read -> compute -> compare-and-set, retried on conflict), the event
 * fold, the status lists and the event-to-status tables, and the types. No Redis client, AWS SDK, zod or
 * Lua scripts behind it, so an agent's bundle stays small and needs no files next to it,
 * and the CLI starts without loading them.
 */
export * from "./errors.js";
export { update } from "./state/update.js";
export { foldEvents, NODE_STATUS_OF, RUN_STATUS_OF, type FoldedNode, type FoldedRun } from "./engine/fold.js";
export { FINISHED_RUN_STATUSES, NODE_STATUSES, RUN_STATUSES } from "./engine/status.js";
export type * from "./engine/types.js";
export type { Addition, NodeSpec, RunSpec } from "./dag/spec.js";
export type { StateEntry, StateRef, Writer, WriteResult, HistoryEntry, Machine, MachineDefinition, TransitionResult } from "./state/types.js";
export type { UpdateOptions, UpdateResult, VersionedStore } from "./state/update.js";
export type { RunAt } from "./archive/read-through.js";
export type { RunList, RunSummary } from "./archive/index.js";
export type { AgentSignal, AgentSignals } from "./signals/signals.js";
export { DIRECT_UPLOAD_BYTES, isValueRef, MAX_VALUE_BYTES, resolveRecordRefs, resolveRefs, VALUE_REF_FIELD, type ValueRef, type ValueRefBody } from "./values/ref.js";
export { formatTraceparent, parseTraceparent, type TraceParent } from "./trace-context.js";
