import { Cluster, Redis, type ClusterNode, type ClusterOptions, type RedisOptions } from "ioredis";
import { UnavailableError, ValidationError } from "../errors.js";
import { engineLibrary } from "./lua.js";
import { ScriptCallError, UNAVAILABLE_REPLY, type LuaLibrary, type LuaScript, type RedisPort } from "./port.js";

export interface TcpRedisOptions {
  /** `redis://[[user]:password@]host:port[/db]`, or `rediss://` for TLS. */
  url?: string;
  /** Seed nodes of a Redis Cluster; when given, `url` supplies only credentials and TLS. */
  clusterNodes?: { host: string; port: number }[];
  /** Extra ioredis options (TLS CA, timeouts...), applied to every node. */
  options?: RedisOptions;
  /** Extra ioredis Cluster options (slot refresh, NAT map...). */
  clusterOptions?: ClusterOptions;
  /**
   * Run scripts as Redis Functions (FUNCTION LOAD once per master, FCALL per call). Default
   * true; without Functions on the server (Redis < 7, or FUNCTION denied) it uses EVALSHA.
   */
  functions?: boolean;
}

type Client = Redis | Cluster;

/**
 * TCP adapter (ioredis): local Redis, ElastiCache (TLS), Redis Cluster.
 *
 * Scripts run as functions of one library (redis/lua.ts): the first FCALL that finds no
 * function (first use, a restart without persistence, a failover, a new master) loads the
 * library on every master and is sent again. Each code version is its own library
 * `weft_<hash>`, so processes of two versions can share a Redis during a deploy; old
 * libraries stay until deleted (docs/architecture.md, "Script calls").
 */
export class TcpRedis implements RedisPort {
  readonly client: Client;
  readonly cluster: boolean;
  calls = 0;
  /** False once the server showed it has no Functions: EVALSHA from then on. */
  private functions: boolean;
  private loading = new Map<string, Promise<void>>();

  constructor(opts: TcpRedisOptions = {}) {
    const url = opts.url ?? "redis://127.0.0.1:6379";
    const fromUrl = parseRedisUrl(url);
    // Auto-pipelining batches the scripts of concurrent callers into one write per event
    // loop tick: many claims/completions in flight cost one round trip, not one each.
    const base: RedisOptions = { maxRetriesPerRequest: 3, enableAutoPipelining: true, ...opts.options };
    if (opts.clusterNodes?.length) {
      for (const [i, n] of opts.clusterNodes.entries()) checkNode(n, `clusterNodes[${i}]`);
      this.cluster = true;
      this.client = new Cluster(opts.clusterNodes as ClusterNode[], {
        enableAutoPipelining: true,
        redisOptions: { ...fromUrl.options, ...base },
        // TLS endpoints (ElastiCache) present certificates for their DNS names: resolving
        // them to IPs first would fail the hostname check.
        ...(fromUrl.options.tls ? { dnsLookup: (address, cb) => cb(null, address) } : {}),
        ...opts.clusterOptions,
      });
    } else {
      this.cluster = false;
      this.client = new Redis({ ...fromUrl.options, host: fromUrl.host, port: fromUrl.port, db: fromUrl.db, ...base });
    }
    // Without a listener ioredis prints every reconnect error; failures surface per call.
    this.client.on("error", () => {});
    this.functions = opts.functions ?? true;
  }

  async run(script: LuaScript, keys: string[], args: string[]): Promise<string> {
    this.calls++;
    if (this.functions) {
      const lib = script.library;
      const fn = lib.functions.get(script.name)!;
      for (let attempt = 0; ; attempt++) {
        try {
          return String(await this.client.fcall(fn, keys.length, ...keys, ...args));
        } catch (err) {
          if (isNoFunctions(err)) {
            this.functions = false;
            break;
          }
          if (!isFunctionNotFound(err) || attempt > 0) throw toPortError(err, script);
        }
        try {
          await this.load(lib);
        } catch (err) {
          if (!isNoFunctions(err)) throw toPortError(err, script);
          this.functions = false;
          break;
        }
      }
    }
    try {
      return String(await this.client.evalsha(script.sha, keys.length, ...keys, ...args));
    } catch (err) {
      // NOSCRIPT: the node restarted, failed over, or had SCRIPT FLUSH. EVAL loads the
      // script into that node's cache, so the next EVALSHA there succeeds.
      if (!isNoScript(err)) throw toPortError(err, script);
    }
    try {
      return String(await this.client.eval(script.source, keys.length, ...keys, ...args));
    } catch (err) {
      throw toPortError(err, script);
    }
  }

  /**
   * Loads the engine's script library now instead of on the first call (a Lambda's init, a
   * benchmark's setup). Optional: run() loads whatever it finds missing.
   */
  async prepare(): Promise<void> {
    if (!this.functions) return;
    try {
      await this.load(engineLibrary());
    } catch (err) {
      if (!isNoFunctions(err)) throw toPortError(err, { name: "FUNCTION LOAD" });
      this.functions = false;
    }
  }

  /** FUNCTION LOAD on every master; concurrent callers share one load. */
  private load(lib: LuaLibrary): Promise<void> {
    let p = this.loading.get(lib.name);
    if (!p) {
      const masters = this.client instanceof Cluster ? this.client.nodes("master") : [this.client];
      p = Promise.all(
        masters.map((node) =>
          node.call("FUNCTION", "LOAD", lib.source).catch((err: unknown) => {
            // Another process (or an earlier load on this node) got there first.
            if (!(err instanceof Error && /already exists/.test(err.message))) throw err;
          }),
        ),
      ).then(() => undefined);
      this.loading.set(lib.name, p);
      void p.finally(() => this.loading.delete(lib.name)).catch(() => {});
    }
    return p;
  }

  async close(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect());
  }
}

/** The server has no Redis Functions (Redis < 7) or this user may not load them. */
function isNoFunctions(err: unknown): boolean {
  return err instanceof Error && /unknown command .?(fcall|function)\b|NOPERM.*\b(fcall|function)\b/i.test(err.message);
}

function isFunctionNotFound(err: unknown): boolean {
  return err instanceof Error && /Function not found/i.test(err.message);
}

export function isNoScript(err: unknown): boolean {
  return err instanceof Error && /\bNOSCRIPT\b/.test(err.message);
}

export interface ParsedRedisUrl {
  host: string;
  port: number;
  db: number;
  /** username, password and tls, to apply to every node. */
  options: RedisOptions;
}

/** Parses a redis:// or rediss:// URL; a bad value is a ValidationError on `field`. */
export function parseRedisUrl(url: string, field = "url"): ParsedRedisUrl {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ValidationError(`${field} is not a valid URL (expected redis://host:port or rediss://host:port)`, field);
  }
  if (u.protocol !== "redis:" && u.protocol !== "rediss:") {
    throw new ValidationError(`${field} must start with redis:// or rediss://, got ${u.protocol}//`, field);
  }
  const port = u.port ? Number(u.port) : 6379;
  const dbText = u.pathname.replace(/^\//, "");
  const db = dbText ? Number(dbText) : 0;
  if (!Number.isInteger(db) || db < 0) throw new ValidationError(`${field} has a bad database number "${dbText}"`, field);
  return {
    host: u.hostname.replace(/^\[(.*)\]$/, "$1") || "127.0.0.1",
    port,
    db,
    options: {
      ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
      ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
      ...(u.protocol === "rediss:" ? { tls: {} } : {}),
    },
  };
}

function checkNode(n: { host: string; port: number }, field: string): void {
  if (!n.host || !Number.isInteger(n.port) || n.port < 1 || n.port > 65535) {
    throw new ValidationError(`${field} must be a host and a port in 1..65535`, field);
  }
}

/** Connection-level failures (the caller may retry later) become UnavailableError. */
const UNAVAILABLE =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|EAI_AGAIN|EPIPE|Connection is closed|Stream isn't writeable|CLUSTERDOWN|TRYAGAIN|LOADING|MASTERDOWN|max retries|Failed to refresh slots cache|None of startup nodes is available|Cluster isn't ready|Command timed out|WRONGPASS|NOAUTH/i;

/** A typed error without ioredis's `command.args` (see ScriptCallError). */
export function toPortError(err: unknown, script: Pick<LuaScript, "name">): Error {
  const msg = err instanceof Error ? err.message : String(err);
  if (UNAVAILABLE.test(msg) || UNAVAILABLE_REPLY.test(msg)) return new UnavailableError(`Redis unavailable running ${script.name}: ${msg}`);
  return new ScriptCallError(script.name, msg);
}
