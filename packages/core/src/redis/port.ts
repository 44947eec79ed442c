/**
 * The one port through which core talks to Redis. Everything core does to Redis is a
 * Lua script (reads included), so the port is a single call plus lifecycle. Adapters:
 * TCP (ioredis: single node, TLS, Cluster; Redis Functions where the server has them)
 * and REST (@upstash/redis; EVALSHA).
 *
 * Every script returns one JSON string (cjson.encode) so that results look the same
 * whatever the transport does to nested replies and nils.
 */
export interface LuaScript {
  /** Name, for errors and metrics. */
  readonly name: string;
  /** EVAL form: includes inlined. */
  readonly source: string;
  /** SHA1 of `source`, for EVALSHA. */
  readonly sha: string;
  /** The Redis Functions library that holds this script as a function. */
  readonly library: LuaLibrary;
}

export interface LuaLibrary {
  /** `weft_<sha1 of the code>`: a changed script is a new library, loaded beside the old. */
  readonly name: string;
  /** FUNCTION LOAD source (`#!lua name=...`). */
  readonly source: string;
  /** Script name -> function name. */
  readonly functions: ReadonlyMap<string, string>;
}

export interface RedisPort {
  /** Runs the script (FCALL or EVALSHA, loading it when Redis lacks it). All `keys` must share one hash slot. */
  run(script: LuaScript, keys: string[], args: string[]): Promise<string>;
  /** Number of script calls sent so far (for benchmarks: round trips per node). */
  readonly calls: number;
  /** True when the target is a Redis Cluster (reads per shard go to different masters). */
  readonly cluster: boolean;
  close(): Promise<void>;
}

/**
 * Replies that mean "Redis cannot take writes (or any command) right now", not "the
 * script is wrong": out of memory under maxmemory, a read-only replica, a script or
 * module keeping it busy, failed persistence, too few replicas, a failover, a load.
 * Adapters turn them into UnavailableError (HTTP 503 with Retry-After).
 */
export const UNAVAILABLE_REPLY = /\b(OOM|READONLY|BUSY|MISCONF|NOREPLICAS|MASTERDOWN|LOADING|CLUSTERDOWN|TRYAGAIN)\b/;

/**
 * Any other failure of a script call, carrying the script's name and Redis's message only:
 * never the command's arguments (the script's JSON argument holds node inputs, outputs and
 * lease tokens), which the clients' own errors carry and loggers would print.
 */
export class ScriptCallError extends Error {
  constructor(
    readonly script: string,
    message: string,
  ) {
    super(`${script}: ${message}`);
    this.name = "ScriptCallError";
  }
}
