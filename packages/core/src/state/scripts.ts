import { script } from "../redis/contract.js";
import type { StateKeys } from "./keys.js";

/**
 * The shared-state scripts' contract (redis/contract.ts): per script its file under
 * redis/lua/, its keys, its argument and its reply. A failed precondition comes back as a
 * ConflictError whose details carry `reason` and `current` (lua/includes/state_entry.lua).
 */
type Now = { now?: number };
export interface Written {
  version: number;
  at: number;
  from?: string;
}
export interface Read {
  found: boolean;
  json?: string;
  version: number;
  writer?: string;
  at?: number;
  machine?: string;
  state?: string;
}

const writeKeys = (k: StateKeys) => ({ value: k.value, history: k.history, meta: k.run?.meta, state_keys: k.index });

export const get = script<StateKeys, Now, Read>({ name: "state_get", keys: (k) => ({ value: k.value }) });

export const put = script<StateKeys, Record<string, unknown> & Now, Written>({ name: "state_put", keys: writeKeys });

export const del = script<StateKeys, Record<string, unknown> & Now, Written>({ name: "state_delete", keys: writeKeys });

export const transition = script<StateKeys, Record<string, unknown> & Now, Written>({ name: "state_transition", keys: writeKeys });

export const history = script<StateKeys, { limit: number } & Now, { entries: unknown[] }>({
  name: "state_history",
  keys: (k) => ({ history: k.history }),
});

export const machinePut = script<{ machine: string }, { json: string } & Now, Written>({
  name: "state_machine_put",
  keys: (k) => ({ machine: k.machine }),
});

export const machineGet = script<{ machine: string }, Now, { found: boolean; json?: string; version?: number }>({
  name: "state_machine_get",
  keys: (k) => ({ machine: k.machine }),
});

/** A page of a set of names (a scope's key names, a tenant's namespaces): SSCAN. */
export const names = script<{ index: string }, { cursor: string; count: number }, { cursor: string; names: string[] }>({
  name: "state_names",
  keys: (k) => ({ index: k.index }),
});

/** Adds a name to a set of names (a namespace to its tenant's, on another slot than its keys). */
export const nameAdd = script<{ index: string }, { name: string }, { added: boolean }>({
  name: "state_name_add",
  keys: (k) => ({ index: k.index }),
});

export const STATE_SCRIPTS = [get, put, del, transition, history, machinePut, machineGet, names, nameAdd];
