import type { KeySchema } from "../redis/keys.js";
import type { StateRef } from "./types.js";

/**
 * Redis keys of shared state. A run's keys sit under the run's prefix, so they share its
 * hash slot and a node's completion can write them in the same script
 * (lua/includes/state_entry.lua names the same `state:` / `state-history:` suffixes). A
 * namespace gets its own shard, `shardOf(tenant, "ns:" + namespace)`, so namespaces spread
 * over a cluster. Ids are validated to [A-Za-z0-9_.-], which keeps `:` a safe separator.
 */
export interface StateKeys {
  value: string;
  history: string;
  /** Run-scoped keys only: the run's meta hash (writes need the run) and its state-keys set. */
  run?: { meta: string; index: string };
}

/** The keys a write script takes, in its KEYS order. */
export function writeKeys(k: StateKeys): string[] {
  return k.run ? [k.value, k.history, k.run.meta, k.run.index] : [k.value, k.history];
}

export function stateBase(schema: KeySchema, ref: StateRef): string {
  if ("dagId" in ref) return schema.runPrefix(ref.tenant, ref.dagId);
  return `${schema.shardPrefix(schema.shardOf(ref.tenant, `ns:${ref.namespace}`))}ns:${ref.tenant}:${ref.namespace}:`;
}

export function stateKeys(schema: KeySchema, ref: StateRef): StateKeys {
  const base = stateBase(schema, ref);
  const keys: StateKeys = { value: `${base}state:${ref.key}`, history: `${base}state-history:${ref.key}` };
  // `meta` is the engine's run hash (lua/includes/core.lua run_ctx); `state-keys` lists the
  // names of the run's state keys for whoever releases or archives the run.
  if ("dagId" in ref) keys.run = { meta: `${base}meta`, index: `${base}state-keys` };
  return keys;
}

/** A tenant's machine definition: one key on the shard of `machine:<name>`. */
export function machineKey(schema: KeySchema, tenant: string, name: string): string {
  return `${schema.shardPrefix(schema.shardOf(tenant, `machine:${name}`))}machine:${tenant}:${name}`;
}
