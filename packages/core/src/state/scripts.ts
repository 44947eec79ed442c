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

const writeKeys = (k: StateKeys) => ({ value: k.value, history: k.history, meta: k.run?.meta, state_keys: k.run?.index });

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

export const STATE_SCRIPTS = [get, put, del, transition, history, machinePut, machineGet];
