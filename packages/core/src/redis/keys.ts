import { createHash } from "node:crypto";

/**
 * The key schema: every Redis key Weft uses is named here. docs/architecture.md ("Key
 * layout") draws the same picture; the scripts' KEYS test (packages/core/test/redis/
 * declared-keys.test.ts) checks that scripts touch nothing else.
 *
 * Each run lives on a shard `s` = hash(tenant, runId) mod shardCount. Every key of the
 * run and the shard's queues and indexes carry the hash tag `{prefix:s}`, so one script
 * touches a single Redis Cluster slot. Ids are restricted to [A-Za-z0-9_.-] by
 * validation, which makes `:` and `|` safe separators.
 *
 * Keys ending in ':' are prefixes a script derives keys from by appending ids: a run key
 * (its `meta`, `order`, `events`, node hashes `n:<id>`, shared state), `runs` (the shard's
 * runs, for runs a script reaches through an index), `queues` (ready queues) and `agents`
 * (the scaling indexes per tenant and agent).
 */
export interface ShardKeys {
  /** Sorted set of running attempts by lease expiry; members `tenant|dagId|node`. */
  readonly leases: string;
  /** Sorted set of retries by due time; members `tenant|dagId|node`. */
  readonly retries: string;
  /** Sorted set of finished runs not yet released, by finish time; members `tenant|dagId`. */
  readonly finished: string;
  /** The shard's number. */
  readonly index: number;
  /** Stream of events waiting to be relayed to the bus. */
  readonly outbox: string;
  /** Prefix of the ready queues: `<queues><tenant>:<agent>` is a list of `dagId|node`. */
  readonly queues: string;
  /** Prefix of the shard's run keys: `<runs><tenant>:<dagId>:`. */
  readonly runs: string;
  /** Sorted set of waits with a timeout, by deadline; members `tenant|dagId|node`. */
  readonly waits: string;
  /** Prefix of the wait-key sets: `<waitKeys><tenant>:<key>` holds the nodes waiting on that key. */
  readonly waitKeys: string;
  /** Sorted set of a tenant's runs not yet archived, by creation time. */
  tenantRuns(tenant: string): string;
  /** Hash tenant -> how many of its runs on this shard are in flight (running or paused). */
  readonly inflight: string;
  /**
   * Prefix of the scaling indexes (GET /v1/agents): `<agents><tenant>` is the set of the
   * tenant's agents with work on this shard; `<agents><tenant>:<agent>:ready.n` a hash
   * counting its claimable ready nodes by the time they became ready, `...:ready.at` a sorted
   * set of those times, `...:ready` the sorted set of ready nodes `dagId|node` written before
   * the counts (read and drained only), and `<agents><tenant>:<agent>:running` a sorted set
   * of its running attempts `dagId|node` by lease expiry (includes/agents.lua).
   */
  readonly agents: string;
}

export interface RunKeys {
  readonly shard: number;
  /** The run key: the prefix of every key of the run. */
  readonly key: string;
  readonly meta: string;
  /** The run's event log, a Stream (lua/includes/call.lua appends to it; live streams block on it). */
  readonly events: string;
  /** The tenant's run index on the run's shard (ShardKeys.tenantRuns). */
  readonly tenantRuns: string;
  /** Shared state of the run: value hash, history list, and the set of its key names. */
  state(name: string): string;
  stateHistory(name: string): string;
  readonly stateKeys: string;
}

export interface KeySchema {
  readonly prefix: string;
  readonly shardCount: number;
  shardOf(tenant: string, runId: string): number;
  shard(shard: number): ShardKeys;
  run(tenant: string, runId: string): RunKeys;
  /** Shared state of a tenant namespace: on the shard of `ns:<namespace>`, with the set of its key names. */
  namespace(tenant: string, namespace: string): { state(name: string): string; stateHistory(name: string): string; stateKeys: string };
  /** The set of a tenant's namespace names (for listing them): on the shard of `namespaces`. */
  namespaces(tenant: string): string;
  /** A tenant's state machine definition: on the shard of `machine:<name>`. */
  machine(tenant: string, name: string): string;
  /** A tenant's token bucket `scope` (`all` or a route class): all of a tenant's buckets share the slot `{prefix:rl:tenant}`. */
  rateLimit(tenant: string, scope: string): string;
}

export function keySchema(prefix = "weft", shardCount = 1): KeySchema {
  if (!Number.isInteger(shardCount) || shardCount < 1 || shardCount > 16384) {
    throw new Error(`shardCount must be an integer in 1..16384, got ${shardCount}`);
  }
  const base = (shard: number) => `${prefix}:{${prefix}:${shard}}:`;
  const shardOf = (tenant: string, runId: string) =>
    shardCount === 1 ? 0 : createHash("sha1").update(tenant).update("/").update(runId).digest().readUInt32BE(0) % shardCount;
  // A hot path builds these for every call: one object per shard, made once.
  const shards: ShardKeys[] = [];
  const shard = (s: number): ShardKeys => {
    let k = shards[s];
    if (!k) {
      const p = base(s);
      k = {
        index: s,
        leases: `${p}leases`,
        retries: `${p}retries`,
        finished: `${p}finished`,
        outbox: `${p}outbox`,
        queues: `${p}ready:`,
        runs: `${p}run:`,
        waits: `${p}waits`,
        waitKeys: `${p}wk:`,
        inflight: `${p}inflight`,
        agents: `${p}agent:`,
        tenantRuns: (tenant) => `${p}runs:${tenant}`,
      };
      shards[s] = k;
    }
    return k;
  };
  const stateOf = (p: string) => ({
    state: (name: string) => `${p}state:${name}`,
    stateHistory: (name: string) => `${p}state-history:${name}`,
  });
  return {
    prefix,
    shardCount,
    shardOf,
    shard,
    run(tenant, runId) {
      const s = shardOf(tenant, runId);
      const key = `${shard(s).runs}${tenant}:${runId}:`;
      return { shard: s, key, meta: `${key}meta`, events: `${key}events`, tenantRuns: shard(s).tenantRuns(tenant), stateKeys: `${key}state-keys`, ...stateOf(key) };
    },
    namespace(tenant, namespace) {
      const p = `${base(shardOf(tenant, `ns:${namespace}`))}ns:${tenant}:${namespace}:`;
      return { ...stateOf(p), stateKeys: `${p}state-keys` };
    },
    namespaces: (tenant) => `${base(shardOf(tenant, "namespaces"))}namespaces:${tenant}`,
    machine: (tenant, name) => `${base(shardOf(tenant, `machine:${name}`))}machine:${tenant}:${name}`,
    rateLimit: (tenant, scope) => `${prefix}:{${prefix}:rl:${tenant}}:rl:${scope}`,
  };
}
