import { Cluster, Redis, type ClusterNode, type ClusterOptions, type RedisOptions } from "ioredis";
import { UnavailableError, ValidationError } from "../errors.js";
import { ScriptCallError, UNAVAILABLE_REPLY, type LuaScript, type RedisPort } from "./port.js";

export interface TcpRedisOptions {
  /** `redis://[[user]:password@]host:port[/db]`, or `rediss://` for TLS. */
  url?: string;
  /** Seed nodes of a Redis Cluster; when given, `url` supplies only credentials and TLS. */
  clusterNodes?: { host: string; port: number }[];
  /** Extra ioredis options (TLS CA, timeouts...), applied to every node. */
  options?: RedisOptions;
  /** Extra ioredis Cluster options (slot refresh, NAT map...). */
  clusterOptions?: ClusterOptions;
}

type Client = Redis | Cluster;

/** TCP adapter (ioredis): local Redis, ElastiCache (TLS), Redis Cluster. */
export class TcpRedis implements RedisPort {
  readonly client: Client;
  readonly cluster: boolean;
  calls = 0;

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
  }

  async run(script: LuaScript, keys: string[], args: string[]): Promise<string> {
    this.calls++;
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

  async close(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect());
  }
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
export function toPortError(err: unknown, script: LuaScript): Error {
  const msg = err instanceof Error ? err.message : String(err);
  if (UNAVAILABLE.test(msg) || UNAVAILABLE_REPLY.test(msg)) return new UnavailableError(`Redis unavailable running ${script.name}: ${msg}`);
  return new ScriptCallError(script.name, msg);
}
