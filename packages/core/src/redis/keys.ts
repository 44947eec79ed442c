import { createHash } from "node:crypto";

/**
 * The key schema: every Redis key Weft uses is named here (and mirrored, for keys a
 * script derives itself, in lua/includes/keys.lua; test/keys.test.ts keeps them equal).
 *
 * Each run lives on a shard `s` = hash(tenant, runId) mod shardCount. Every key of the
 * run and the shard's queues and indexes carry the hash tag `{prefix:s}`, so one script
 * touches a single Redis Cluster slot. Ids are restricted to [A-Za-z0-9_.-] by
 * validation, which makes `:` and `|` safe separators.
 */
export interface KeySchema {
  readonly prefix: string;
  readonly shardCount: number;
  shardOf(tenant: string, runId: string): number;
  /** `weft:{weft:3}:` - the prefix shared by every key of shard 3. Scripts derive the rest. */
  shardPrefix(shard: number): string;
  /** Run keys start with this: `weft:{weft:3}:run:<tenant>:<runId>:`. */
  runPrefix(tenant: string, runId: string): string;
  /** The run's event log, a Stream (lua/includes/core.lua appends to it; live streams block on it). */
  runEvents(tenant: string, runId: string): string;
}

export function keySchema(prefix = "weft", shardCount = 1): KeySchema {
  if (!Number.isInteger(shardCount) || shardCount < 1 || shardCount > 16384) {
    throw new Error(`shardCount must be an integer in 1..16384, got ${shardCount}`);
  }
  const shardPrefix = (shard: number) => `${prefix}:{${prefix}:${shard}}:`;
  const shardOf = (tenant: string, runId: string) =>
    shardCount === 1 ? 0 : createHash("sha1").update(tenant).update("/").update(runId).digest().readUInt32BE(0) % shardCount;
  return {
    prefix,
    shardCount,
    shardOf,
    shardPrefix,
    runPrefix: (tenant, runId) => `${shardPrefix(shardOf(tenant, runId))}run:${tenant}:${runId}:`,
    runEvents: (tenant, runId) => `${shardPrefix(shardOf(tenant, runId))}run:${tenant}:${runId}:events`,
  };
}
