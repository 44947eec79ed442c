import { Cluster, Redis, type ClusterNode, type RedisOptions } from "ioredis";
import { UnavailableError } from "../errors.js";
import type { LuaScript, RedisPort } from "./port.js";

export interface TcpRedisOptions {
  /** `redis://[:password@]host:port[/db]` or `rediss://` for TLS. */
  url?: string;
  /** Seed nodes of a Redis Cluster; when given, `url` supplies only credentials/TLS. */
  clusterNodes?: { host: string; port: number }[];
  /** Extra ioredis options (TLS CA, username...). */
  options?: RedisOptions;
}

type Client = Redis | Cluster;

/** TCP adapter (ioredis): local Redis, ElastiCache (TLS), Redis Cluster. */
export class TcpRedis implements RedisPort {
  readonly client: Client;
  readonly cluster: boolean;
  calls = 0;

  constructor(opts: TcpRedisOptions = {}) {
    const base: RedisOptions = { maxRetriesPerRequest: 3, enableAutoPipelining: true, ...opts.options };
    const url = opts.url ?? "redis://127.0.0.1:6379";
    const fromUrl = parseUrl(url);
    if (opts.clusterNodes?.length) {
      this.cluster = true;
      this.client = new Cluster(opts.clusterNodes as ClusterNode[], {
        enableAutoPipelining: true,
        redisOptions: { ...fromUrl, ...base },
        ...(fromUrl.tls ? { dnsLookup: (address, cb) => cb(null, address) } : {}),
      });
    } else {
      this.cluster = false;
      this.client = new Redis(url, base);
    }
  }

  async run(script: LuaScript, keys: string[], args: string[]): Promise<string> {
    this.calls++;
    try {
      return String(await this.client.evalsha(script.sha, keys.length, ...keys, ...args));
    } catch (err) {
      if (err instanceof Error && err.message.startsWith("NOSCRIPT")) {
        return String(await this.client.eval(script.source, keys.length, ...keys, ...args));
      }
      throw toPortError(err, script);
    }
  }

  async close(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect());
  }
}

function parseUrl(url: string): RedisOptions {
  const u = new URL(url);
  if (u.protocol !== "redis:" && u.protocol !== "rediss:") throw new Error(`REDIS_URL must be redis:// or rediss://, got ${u.protocol}`);
  return {
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.protocol === "rediss:" ? { tls: {} } : {}),
  };
}

export function toPortError(err: unknown, script: LuaScript): Error {
  const msg = err instanceof Error ? err.message : String(err);
  if (/ECONNREFUSED|ETIMEDOUT|Connection is closed|CLUSTERDOWN|max retries|LOADING/i.test(msg)) {
    return new UnavailableError(`Redis unavailable running ${script.name}: ${msg}`);
  }
  return err instanceof Error ? err : new Error(msg);
}
