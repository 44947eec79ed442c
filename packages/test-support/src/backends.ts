import { afterAll, beforeAll } from "vitest";
import { Redis } from "ioredis";
import { connectRedis, type RedisConfig, type RedisPort } from "@weft/core/redis";
import { startCluster } from "./cluster.js";
import { startRedis } from "./redis.js";
import { startUpstashBridge } from "./upstash-bridge.js";

/**
 * The Redis deployments every Redis-touching suite runs against:
 *   single  - one redis-server over TCP
 *   cluster - a local 3-master Redis Cluster over TCP (ioredis Cluster)
 *   upstash - the real @upstash/redis client through the REST bridge
 */
export type BackendName = "single" | "cluster" | "upstash";
export const backends: BackendName[] = ["single", "cluster", "upstash"];

export interface Backend {
  name: BackendName;
  /** What connectRedis() takes for this backend (also what REDIS_* env vars would say). */
  config: RedisConfig;
  /** A new connected port; the backend closes every port it handed out on stop(). */
  redis(): RedisPort;
  /** The shard count to give createEngine: 6 on the cluster spreads shards over all 3 masters. */
  shardCount: number;
  /** The redis-server processes behind it (cluster: every master), for admin commands. */
  nodes: { host: string; port: number }[];
  /** FLUSHALL + SCRIPT FLUSH + FUNCTION FLUSH on every node, so tests can start from empty Redis. */
  flush(): Promise<void>;
  stop(): Promise<void>;
}

export async function startBackend(name: BackendName): Promise<Backend> {
  switch (name) {
    case "single": {
      const node = await startRedis();
      return backend(name, { url: node.url }, 1, [{ host: "127.0.0.1", port: node.port }], node.stop);
    }
    case "cluster": {
      const cluster = await startCluster();
      return backend(name, { clusterNodes: cluster.seeds }, 6, cluster.nodes, cluster.stop);
    }
    case "upstash": {
      const bridge = await startUpstashBridge();
      return backend(name, { upstashUrl: bridge.url, upstashToken: bridge.token }, 1, [bridge.redis], bridge.stop);
    }
  }
}

/**
 * Starts the backend once for the enclosing describe block (beforeAll) and stops it after
 * (afterAll). Returns a getter, valid inside tests:
 *
 *   describe.each(backends)("engine on %s", (name) => {
 *     const backend = useBackend(name);
 *     it("...", async () => { const redis = backend().redis(); ... });
 *   });
 */
export function useBackend(name: BackendName): () => Backend {
  let current: Backend | undefined;
  beforeAll(async () => {
    current = await startBackend(name);
  });
  afterAll(async () => {
    await current?.stop();
    current = undefined;
  });
  return () => {
    if (!current) throw new Error(`backend ${name} is not started: call useBackend() in a describe block, use it inside tests`);
    return current;
  };
}

function backend(
  name: BackendName,
  config: RedisConfig,
  shardCount: number,
  nodes: { host: string; port: number }[],
  stopServers: () => Promise<void>,
): Backend {
  const ports: RedisPort[] = [];
  return {
    name,
    config,
    shardCount,
    nodes,
    redis() {
      const port = connectRedis(config);
      ports.push(port);
      return port;
    },
    async flush() {
      await Promise.all(nodes.map((n) => admin(n, async (c) => { await c.flushall(); await c.script("FLUSH"); await c.call("FUNCTION", "FLUSH"); })));
    },
    async stop() {
      await Promise.all(ports.splice(0).map((p) => p.close().catch(() => {})));
      await stopServers();
    },
  };
}

/** Runs `fn` on a short-lived plain connection to one node (not through the port under test). */
export async function admin<T>(node: { host: string; port: number }, fn: (c: Redis) => Promise<T>): Promise<T> {
  const c = new Redis({ host: node.host, port: node.port, lazyConnect: true, maxRetriesPerRequest: 1 });
  c.on("error", () => {});
  try {
    await c.connect();
    return await fn(c);
  } finally {
    c.disconnect();
  }
}
