import { script } from "../redis/contract.js";
import type { ShardKeys } from "../redis/keys.js";

/** The scaling and health scripts (redis/contract.ts): per script its file under redis/lua/, its keys, its argument and its reply. */
export interface OnShard {
  shard: ShardKeys;
}

export const health = script<OnShard, Record<string, never>, { outbox: number }>({
  name: "health",
  keys: (k) => ({ outbox: k.shard.outbox }),
});

export const SIGNAL_SCRIPTS = [health];
