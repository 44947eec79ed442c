export { createStateStore } from "./store.js";
export type { RetryOptions, StateKeyInfo, StateScope, StateStore, StateStoreOptions, WriteOptions } from "./store.js";
export { update, backoffDelay } from "./update.js";
export type { UpdateOptions, UpdateResult, VersionedStore } from "./update.js";
export { RawJson } from "./types.js";
export type {
  CurrentState,
  HistoryEntry,
  Machine,
  MachineDefinition,
  StateEntry,
  StateRef,
  TransitionResult,
  WriteResult,
  Writer,
} from "./types.js";
export { stateKeys } from "./keys.js";
export type { StateKeys } from "./keys.js";
export { MachineDefinitionSchema } from "./validate.js";
