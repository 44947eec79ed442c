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

/** One agent on one shard: [agent, ready, oldestReadyAt | false, running, leases expiring within the window]. */
export type AgentRow = [string, number, number | false, number, number];

export const agentSignals = script<OnShard, { tenant: string; agents?: string[]; withinMs: number; now?: number }, { now: number; agents: AgentRow[] }>({
  name: "agent_signals",
  keys: (k) => ({ agents: k.shard.agents, inflight: k.shard.inflight }),
});

export const SIGNAL_SCRIPTS = [health, agentSignals];
