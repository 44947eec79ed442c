/**
 * Shared agent state: JSON values that agents read and write with compare-and-set on a
 * version, per run or per tenant namespace, optionally guarded by a state machine.
 */

/** Where a key lives: in one run (shares the run's shard) or in a tenant-wide namespace. */
export type StateRef =
  | { tenant: string; dagId: string; key: string }
  | { tenant: string; namespace: string; key: string };

/** Who wrote: recorded with every write and in the key's history. */
export interface Writer {
  agent?: string;
  run?: string;
  node?: string;
  attempt?: number;
}

export interface StateEntry {
  /** The value, parsed. */
  value: unknown;
  /** The value exactly as it was written (byte-exact, big numbers included). */
  json: string;
  /** Grows by one with every write, delete included; the ETag is `"<version>"`. */
  version: number;
  writer: Writer;
  /** Epoch ms of the write. */
  at: number;
  /** Set when the key is bound to a state machine by a transition. */
  machine?: string;
  state?: string;
}

export interface WriteResult {
  version: number;
  at: number;
}

export interface HistoryEntry {
  version: number;
  op: "create" | "put" | "patch" | "delete" | "transition";
  at: number;
  writer: Writer;
  /** Transitions only: the state before and after. */
  from?: string;
  to?: string;
}

/** What a conflict reports in `ConflictError.details.current`. */
export interface CurrentState {
  /** null when the key does not exist (never written, or deleted). */
  value: unknown;
  /** 0 when never written; a deleted key keeps its last version. */
  version: number;
  machine?: string;
  state?: string;
}

/**
 * A state machine: a value under it is a JSON object `{ "state": "<one of states>", ... }`.
 * The other fields are free; `state` changes only through a transition the machine allows.
 */
export interface MachineDefinition {
  states: string[];
  initial: string;
  /** FROM -> the states it may move to. A state without an entry is final. */
  transitions: Record<string, string[]>;
}

export interface Machine extends MachineDefinition {
  name: string;
  version: number;
}

export interface TransitionResult extends WriteResult {
  /** The state before (undefined when the transition created the key in `initial`). */
  from?: string;
  to: string;
  value: unknown;
}

/**
 * JSON text to store byte for byte instead of a value that would be serialized (the HTTP
 * layer passes request bodies this way, so big numbers and formatting survive).
 */
export class RawJson {
  constructor(readonly text: string) {}
}
