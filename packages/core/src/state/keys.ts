import type { KeySchema } from "../redis/keys.js";
import type { StateRef } from "./types.js";

/**
 * Redis keys of shared state, from the key schema (redis/keys.ts). A run's keys sit under
 * the run key, so they share its hash slot and a node's completion can write them in the
 * same script. A namespace gets its own shard, so namespaces spread over a cluster.
 */
export interface StateKeys {
  value: string;
  history: string;
  /** The set of the scope's key names (a run's `state-keys`, a namespace's own). */
  index: string;
  /** Run-scoped keys only: the run's meta hash (writes need the run). */
  run?: { dagId: string; meta: string };
}

export function stateKeys(schema: KeySchema, ref: StateRef): StateKeys {
  if ("dagId" in ref) {
    const run = schema.run(ref.tenant, ref.dagId);
    return {
      value: run.state(ref.key),
      history: run.stateHistory(ref.key),
      index: run.stateKeys,
      run: { dagId: ref.dagId, meta: run.meta },
    };
  }
  const ns = schema.namespace(ref.tenant, ref.namespace);
  return { value: ns.state(ref.key), history: ns.stateHistory(ref.key), index: ns.stateKeys };
}
