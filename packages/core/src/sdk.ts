/**
 * @weft/core/sdk - what a client of Weft's HTTP API shares with the engine: the typed
 * errors, update() (read -> compute -> compare-and-set, retried on conflict) and the
 * types. No Redis client, AWS SDK or Lua scripts behind it, so an agent's bundle stays
 * small and needs no files next to it.
 */
export * from "./errors.js";
export { update } from "./state/update.js";
export type * from "./engine/types.js";
export type { Addition, NodeSpec, RunSpec } from "./dag/spec.js";
export type { StateEntry, StateRef, Writer, WriteResult, HistoryEntry, Machine, MachineDefinition, TransitionResult } from "./state/types.js";
export type { UpdateOptions, UpdateResult, VersionedStore } from "./state/update.js";
export type { RunAt } from "./archive/read-through.js";
export type { RunList, RunSummary } from "./archive/index.js";
