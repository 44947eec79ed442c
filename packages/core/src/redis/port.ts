/**
 * The one port through which core talks to Redis. Everything core does to Redis is a
 * Lua script (reads included), so the port is a single call plus lifecycle. Adapters:
 * TCP (ioredis: single node, TLS, Cluster) and REST (@upstash/redis).
 *
 * Every script returns one JSON string (cjson.encode) so that results look the same
 * whatever the transport does to nested replies and nils.
 */
export interface LuaScript {
  /** Name, for errors and metrics. */
  readonly name: string;
  /** Full source, includes already inlined. */
  readonly source: string;
  /** SHA1 of `source`, for EVALSHA. */
  readonly sha: string;
}

export interface RedisPort {
  /** EVALSHA, falling back to EVAL on NOSCRIPT. All `keys` must share one hash slot. */
  run(script: LuaScript, keys: string[], args: string[]): Promise<string>;
  /** Number of script calls sent so far (for benchmarks: round trips per node). */
  readonly calls: number;
  /** True when the target is a Redis Cluster (reads per shard go to different masters). */
  readonly cluster: boolean;
  close(): Promise<void>;
}
