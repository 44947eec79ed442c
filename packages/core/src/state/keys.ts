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
  /** Run-scoped keys only: the run's meta hash (writes need the run) and its state-keys set. */
  run?: { dagId: string; meta: string; index: string };
}

export function stateKeys(schema: KeySchema, ref: StateRef): StateKeys {
  if ("dagId" in ref) {
    const run = schema.run(ref.tenant, ref.dagId);
    return {
      value: run.state(ref.key),
      history: run.stateHistory(ref.key),
      run: { dagId: ref.dagId, meta: run.meta, index: run.stateKeys },
    };
  }
  const ns = schema.namespace(ref.tenant, ref.namespace);
  return { value: ns.state(ref.key), history: ns.stateHistory(ref.key) };
}
