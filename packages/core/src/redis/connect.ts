import { ValidationError } from "../errors.js";
import type { RedisPort } from "./port.js";
import { TcpRedis, parseRedisUrl } from "./tcp.js";
import { UpstashRedis } from "./upstash.js";

/** Where Redis is. Exactly one of: Upstash (url + token), a cluster (seed nodes), a single node. */
export interface RedisConfig {
  /** `redis://` or `rediss://`; with `clusterNodes` it supplies only credentials and TLS. */
  url?: string;
  /** Cluster seed nodes, `"host:port,host:port"`. */
  clusterNodes?: string;
  upstashUrl?: string;
  upstashToken?: string;
}

/**
 * Picks the adapter for a config: Upstash REST when `upstashUrl` is set, ioredis Cluster
 * when `clusterNodes` is set, a single ioredis connection otherwise. Bad values throw a
 * ValidationError naming the config field.
 */
export function connectRedis(cfg: RedisConfig): RedisPort {
  const upstash = cfg.upstashUrl !== undefined || cfg.upstashToken !== undefined;
  if (upstash) {
    if (cfg.url !== undefined || cfg.clusterNodes !== undefined) {
      const field = cfg.url !== undefined ? "url" : "clusterNodes";
      throw new ValidationError("configure either Upstash (upstashUrl + upstashToken) or a TCP Redis (url / clusterNodes), not both", field);
    }
    if (!cfg.upstashUrl) throw new ValidationError("upstashUrl is required with upstashToken", "upstashUrl");
    if (!cfg.upstashToken) throw new ValidationError("upstashToken is required with upstashUrl", "upstashToken");
    return new UpstashRedis({ url: cfg.upstashUrl, token: cfg.upstashToken });
  }
  if (cfg.clusterNodes !== undefined) {
    return new TcpRedis({ url: cfg.url, clusterNodes: parseClusterNodes(cfg.clusterNodes) });
  }
  if (!cfg.url) {
    throw new ValidationError("no Redis configured: set url, clusterNodes, or upstashUrl + upstashToken", "url");
  }
  parseRedisUrl(cfg.url);
  return new TcpRedis({ url: cfg.url });
}

/** `"host:port,host:port"` (IPv6 as `[::1]:7000`) -> seed nodes. */
export function parseClusterNodes(text: string, field = "clusterNodes"): { host: string; port: number }[] {
  const parts = text.split(",").map((p) => p.trim()).filter(Boolean);
  if (parts.length === 0) throw new ValidationError(`${field} must list at least one host:port`, field);
  return parts.map((part, i) => {
    const m = /^(\[[^\]]+\]|[^:\s]+):(\d{1,5})$/.exec(part);
    const port = Number(m?.[2]);
    if (!m?.[1] || port < 1 || port > 65535) {
      throw new ValidationError(`${field} entry ${i + 1} "${part}" is not host:port`, field);
    }
    return { host: m[1].replace(/^\[(.*)\]$/, "$1"), port };
  });
}

const ENV = {
  url: "REDIS_URL",
  clusterNodes: "REDIS_CLUSTER_NODES",
  upstashUrl: "UPSTASH_REDIS_REST_URL",
  upstashToken: "UPSTASH_REDIS_REST_TOKEN",
} as const satisfies Record<keyof RedisConfig, string>;

/**
 * Reads REDIS_URL, REDIS_CLUSTER_NODES, UPSTASH_REDIS_REST_URL, UPSTASH_REDIS_REST_TOKEN.
 * Empty variables count as unset. Values are checked here so that a bad deployment fails
 * at start with a ValidationError naming the variable, not at the first request.
 */
export function redisConfigFromEnv(env: Record<string, string | undefined> = process.env): RedisConfig {
  const cfg: RedisConfig = {};
  for (const [field, name] of Object.entries(ENV) as [keyof RedisConfig, string][]) {
    const value = env[name]?.trim();
    if (value) cfg[field] = value;
  }
  if (cfg.url) parseRedisUrl(cfg.url, ENV.url);
  if (cfg.clusterNodes) parseClusterNodes(cfg.clusterNodes, ENV.clusterNodes);
  if (cfg.upstashUrl && !/^https?:\/\/\S+$/.test(cfg.upstashUrl)) {
    throw new ValidationError(`${ENV.upstashUrl} must be an https:// URL`, ENV.upstashUrl);
  }
  if ((cfg.upstashUrl === undefined) !== (cfg.upstashToken === undefined)) {
    const missing = cfg.upstashUrl === undefined ? ENV.upstashUrl : ENV.upstashToken;
    throw new ValidationError(`${missing} is required when ${missing === ENV.upstashUrl ? ENV.upstashToken : ENV.upstashUrl} is set`, missing);
  }
  if (cfg.upstashUrl && (cfg.url || cfg.clusterNodes)) {
    throw new ValidationError(`set either ${ENV.upstashUrl}/${ENV.upstashToken} or ${ENV.url}/${ENV.clusterNodes}, not both`, ENV.upstashUrl);
  }
  return cfg;
}
