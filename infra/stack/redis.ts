import type { RedisMode } from "../settings.js";

/**
 * How the engine functions reach Redis, per WEFT_REDIS: what to link, the environment
 * packages/core/src/redis/connect.ts reads, and the VPC the functions must join.
 */
export interface RedisAccess {
  mode: RedisMode;
  link: unknown[];
  environment: Record<string, $util.Input<string>>;
  vpc?: sst.aws.Vpc;
}

export function createRedisAccess(mode: RedisMode): RedisAccess {
  return mode === "elasticache" ? elastiCache() : upstash();
}

function elastiCache(): RedisAccess {
  // Functions in the VPC still call EventBridge and DynamoDB: a NAT instance ("ec2") is
  // the cheap way out; "managed" is the hands-off one.
  const vpc = new sst.aws.Vpc("Vpc", { nat: "ec2" });
  // Cluster mode: every key of a run shares its shard's hash tag, so each Lua script
  // touches one slot; add node groups (and raise WEFT_SHARDS) to spread runs over masters.
  const redis = new sst.aws.Redis("Redis", { vpc, cluster: { nodes: 1 } });
  // The generated auth token may hold URL-reserved characters.
  const password = $output(redis.password ?? "").apply((p) => encodeURIComponent(p ?? ""));
  return {
    mode: "elasticache",
    link: [redis],
    vpc,
    environment: {
      // In cluster mode the URL carries only TLS and credentials; the nodes list seeds discovery.
      REDIS_URL: $interpolate`rediss://${redis.username}:${password}@${redis.host}:${redis.port}`,
      REDIS_CLUSTER_NODES: $interpolate`${redis.host}:${redis.port}`,
    },
  };
}

function upstash(): RedisAccess {
  const url = new sst.Secret("UpstashRedisRestUrl");
  const token = new sst.Secret("UpstashRedisRestToken");
  return {
    mode: "upstash",
    link: [url, token],
    environment: {
      UPSTASH_REDIS_REST_URL: url.value,
      UPSTASH_REDIS_REST_TOKEN: token.value,
    },
  };
}
