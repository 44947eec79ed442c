import { call } from "../redis/contract.js";
import { keySchema } from "../redis/keys.js";
import type { RedisPort } from "../redis/port.js";
import { engineLibrary } from "../redis/lua.js";
import { VERSION } from "../version.js";
import { health } from "./scripts.js";

export interface SignalsOptions {
  redis: RedisPort;
  prefix?: string;
  shardCount?: number;
}

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
  const keys = keySchema(o.prefix ?? "weft", o.shardCount ?? 1);
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
  };
}

/** What is deployed: the engine's package version and the Redis Functions library of its scripts (`weft_<hash of the code>`). */
export function codeVersion(): { version: string; scripts: string } {
  return { version: VERSION, scripts: engineLibrary().name };
}
