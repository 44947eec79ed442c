import { checkId, checkInt, LIMITS } from "../checks.js";
import { call, list } from "../redis/contract.js";
import { keySchema, type KeySchema } from "../redis/keys.js";
import type { RedisPort } from "../redis/port.js";
import { engineLibrary } from "../redis/lua.js";
import { VERSION } from "../version.js";
import { agentSignals, health, type AgentRow } from "./scripts.js";

export interface SignalsOptions {
  redis: RedisPort;
  /** The engine's key layout (Engine.keys); without it, one made of prefix and shardCount. */
  keys?: KeySchema;
  prefix?: string;
  shardCount?: number;
  /** A test clock (epoch ms) for the scripts; default Redis TIME. */
  clock?: () => number;
}

/**
 * What an autoscaler reads for one agent of a tenant (KEDA, HPA external metrics, ECS
 * target tracking), summed over every shard.
 */
export interface AgentSignal {
  agent: string;
  /** Nodes ready to be claimed now (a paused run's, or a node waiting for its retry, are not). */
  ready: number;
  /** When the oldest of them became ready (epoch ms), null when none is. */
  oldestReadyAt: number | null;
  /** How long the oldest ready node has waited, ms (0 when none is ready). */
  oldestReadyAgeMs: number;
  /** Attempts running (leased). */
  running: number;
  /** Running attempts whose lease expires within `withinMs` (or has expired and awaits the reconcile). */
  leasesExpiringSoon: number;
}

export interface AgentSignals {
  /** The shards' clock when read (epoch ms; the latest of them). */
  at: number;
  withinMs: number;
  agents: AgentSignal[];
}

/** The window of "leases expiring soon" when none is given, ms. */
export const DEFAULT_EXPIRING_WITHIN_MS = 30_000;

/** One shard's answer to a health probe: `outbox` is its backlog (entries not yet acked). */
export interface ShardHealth {
  shard: number;
  ok: boolean;
  /** Why not: `timeout` (no answer within the probe's time) or `error` (it answered with one). */
  reason?: "timeout" | "error";
  outbox?: number;
  /** The probe's round trip, ms. */
  ms: number;
}

export interface RedisHealth {
  ok: boolean;
  shards: ShardHealth[];
  /** Outbox entries waiting on the shards that answered. */
  outbox: number;
}

/**
 * Operational signals read from Redis (docs/architecture.md, "Scaling signals"): one read
 * script per shard, never a scan of runs.
 */
export interface Signals {
  /** Probes every shard (its master on a Cluster) at once, each bounded by `timeoutMs` (default 2000). */
  redisHealth(opts?: { timeoutMs?: number; onError?: (shard: number, err: unknown) => void }): Promise<RedisHealth>;
  /**
   * Scaling signals of a tenant's agents: every agent with ready or running work, or only
   * `agent` (reported with zeros when it has none). One script per shard, O(log n) per agent
   * (includes/agents.lua keeps the indexes it reads): never a scan of runs or nodes.
   */
  agents(tenant: string, opts?: { agent?: string; withinMs?: number }): Promise<AgentSignals>;
}

export const DEFAULT_HEALTH_TIMEOUT_MS = 2000;

/** What one bounded probe saw: its answer, or why not (`err` when it answered with an error), and its round trip. */
export type Probe<T> = { ok: true; value: T; ms: number } | { ok: false; reason: "timeout" | "error"; err?: unknown; ms: number };

/** Runs `fn` bounded by `timeoutMs`: a health probe of one dependency (a Redis shard, the cold store). */
export async function probe<T>(fn: () => Promise<T>, timeoutMs: number): Promise<Probe<T>> {
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<typeof LATE>((res) => (timer = setTimeout(() => res(LATE), timeoutMs)));
  try {
    const r = await Promise.race([fn(), late]);
    if (r === LATE) return { ok: false, reason: "timeout", ms: ms() };
    return { ok: true, value: r as T, ms: ms() };
  } catch (err) {
    return { ok: false, reason: "error", err, ms: ms() };
  } finally {
    clearTimeout(timer);
  }
}
const LATE = Symbol("late");

export function createSignals(o: SignalsOptions): Signals {
  const keys = o.keys ?? keySchema(o.prefix ?? "weft", o.shardCount ?? 1);
  const shards = Array.from({ length: keys.shardCount }, (_, s) => keys.shard(s));
  return {
    async redisHealth(opts = {}) {
      const timeoutMs = opts.timeoutMs ?? DEFAULT_HEALTH_TIMEOUT_MS;
      const probes = await Promise.all(
        shards.map(async (shard): Promise<ShardHealth> => {
          const p = await probe(() => call(o.redis, health, { shard }, {}), timeoutMs);
          if (p.ok) return { shard: shard.index, ok: true, outbox: p.value.outbox, ms: p.ms };
          if (p.reason === "error") opts.onError?.(shard.index, p.err);
          return { shard: shard.index, ok: false, reason: p.reason, ms: p.ms };
        }),
      );
      return { ok: probes.every((p) => p.ok), shards: probes, outbox: probes.reduce((n, p) => n + (p.outbox ?? 0), 0) };
    },
    async agents(tenant, opts = {}) {
      checkId(tenant, "tenant");
      const agent = opts.agent === undefined ? undefined : checkId(opts.agent, "agent");
      const withinMs = opts.withinMs === undefined ? DEFAULT_EXPIRING_WITHIN_MS : checkInt(opts.withinMs, "within", 0, LIMITS.maxDurationMs);
      const now = o.clock?.();
      const args = { tenant, withinMs, ...(agent ? { agents: [agent] } : {}), ...(now === undefined ? {} : { now }) };
      const replies = await Promise.all(shards.map((shard) => call(o.redis, agentSignals, { shard }, args)));
      return mergeAgents(replies, withinMs, agent);
    },
  };
}

/** Sums the shards' rows per agent: counts add up, the oldest ready node is the oldest of all. */
function mergeAgents(replies: { now: number; agents: AgentRow[] }[], withinMs: number, only?: string): AgentSignals {
  const by = new Map<string, AgentSignal>();
  let at = 0;
  for (const r of replies) {
    at = Math.max(at, r.now);
    for (const [agent, ready, oldest, running, expiring] of list<AgentRow>(r.agents)) {
      let a = by.get(agent);
      if (!a) by.set(agent, (a = { agent, ready: 0, oldestReadyAt: null, oldestReadyAgeMs: 0, running: 0, leasesExpiringSoon: 0 }));
      a.ready += ready;
      a.running += running;
      a.leasesExpiringSoon += expiring;
      if (oldest !== false && (a.oldestReadyAt === null || oldest < a.oldestReadyAt)) a.oldestReadyAt = oldest;
    }
  }
  if (only && !by.has(only)) by.set(only, { agent: only, ready: 0, oldestReadyAt: null, oldestReadyAgeMs: 0, running: 0, leasesExpiringSoon: 0 });
  const agents = [...by.values()].sort((x, y) => (x.agent < y.agent ? -1 : x.agent > y.agent ? 1 : 0));
  for (const a of agents) if (a.oldestReadyAt !== null) a.oldestReadyAgeMs = Math.max(0, at - a.oldestReadyAt);
  return { at, withinMs, agents };
}

/** What is deployed: the engine's package version and the Redis Functions library of its scripts (`weft_<hash of the code>`). */
export function codeVersion(): { version: string; scripts: string } {
  return { version: VERSION, scripts: engineLibrary().name };
}
