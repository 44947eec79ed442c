import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureTable } from "@weft/core/dynamodb";
import { admin, startCluster, startDynalite, startPersistentRedis, type DynamoServer, type PersistentRedis, type RedisClusterProcess } from "@weft/test-support";
import { keySchema } from "@weft/core/redis";
import { handler as api } from "../../api.js";
import { configureRuntime, resetRuntime } from "../../config.js";
import { apiEvent, reply, type Reply } from "./apigw.js";
import { startTestGateway } from "./gateway.js";
import { invoke, KEY_A, uid } from "./harness.js";

/**
 * GET /health through the local API Gateway and the API Lambda, with no key: real
 * redis-server processes (one stopped and started again, one cluster master paused) and
 * dynalite as the cold store (stopped too).
 */
const VERSION = (JSON.parse(readFileSync(join(import.meta.dirname, "../../../packages/core/package.json"), "utf8")) as { version: string }).version;

let gateway: Awaited<ReturnType<typeof startTestGateway>>;

/** The same keyless GET through the local gateway (real HTTP) and straight into the Lambda handler. */
async function health(): Promise<[Reply, Reply]> {
  const res = await fetch(`${gateway.baseUrl}/health`);
  const viaGateway: Reply = { status: res.status, headers: Object.fromEntries(res.headers), json: await res.json() };
  const direct = reply(await api(apiEvent("GET", "/health", {})));
  return [viaGateway, direct];
}

beforeAll(async () => {
  gateway = await startTestGateway();
});
afterAll(async () => {
  await gateway?.close();
  await resetRuntime();
});

describe("GET /health on one Redis and dynalite", () => {
  let redis: PersistentRedis;
  let dynamo: DynamoServer;
  beforeAll(async () => {
    [redis, dynamo] = await Promise.all([startPersistentRedis(), startDynalite()]);
    await ensureTable(dynamo.client(), "weft-health");
    await configureRuntime({
      env: { REDIS_URL: redis.url, WEFT_API_KEYS: `${KEY_A}:acme`, WEFT_SHARDS: "3", WEFT_TABLE: "weft-health", DYNAMODB_ENDPOINT: dynamo.endpoint },
    });
  });
  afterAll(async () => {
    await resetRuntime();
    await redis?.stop();
    await dynamo?.stop();
  });

  it("answers 200 without a key: every shard, the cold store, the version and the outbox backlog", async () => {
    const [before] = await health();
    expect(before.status).toBe(200);
    // Without a bus the outbox keeps what a submit wrote: the backlog grows by that run's entry.
    const id = uid("health");
    expect((await invoke(api, "POST", "/v1/dags", { body: { id, nodes: [{ id: "a", agent: `${id}-ag` }] } })).status).toBe(201);
    const shard = keySchema("weft", 3).shardOf("acme", id);
    for (const r of await health()) {
      expect(r.status).toBe(200);
      expect(r.headers["retry-after"]).toBeUndefined();
      expect(r.json).toMatchObject({ status: "ok", version: VERSION, failed: [], coldStore: { status: "ok" }, redis: { status: "ok" } });
      expect(r.json.scripts).toMatch(/^weft_[0-9a-f]{40}$/);
      expect(r.json.redis.shards.map((s: { shard: number; status: string }) => [s.shard, s.status])).toEqual([
        [0, "ok"],
        [1, "ok"],
        [2, "ok"],
      ]);
      expect(r.json.redis.outbox).toBe(before.json.redis.outbox + 1);
      expect(r.json.redis.shards[shard].outbox).toBe(before.json.redis.shards[shard].outbox + 1);
    }
  });

  it("answers 503 with Retry-After naming redis while redis-server is stopped, and 200 once it is back", async () => {
    await redis.halt();
    const started = Date.now();
    for (const r of await health()) {
      expect(r.status).toBe(503);
      expect(r.headers["retry-after"]).toBe("1");
      expect(r.json).toMatchObject({ status: "unavailable", failed: ["redis"], coldStore: { status: "ok" }, redis: { status: "unavailable" } });
      expect(r.json.redis.shards.every((s: { status: string; reason?: string }) => s.status === "unavailable" && s.reason)).toBe(true);
      // The body says what failed, not how: no host, port or client message on an open route.
      expect(JSON.stringify(r.json)).not.toContain(String(redis.port));
    }
    // Each probe is bounded (2 s), both requests ran one after the other.
    expect(Date.now() - started).toBeLessThan(10_000);
    await redis.restart();
    let last: Reply | undefined;
    for (let i = 0; i < 50 && last?.status !== 200; i++) {
      [last] = await health();
      if (last.status !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    expect(last?.status).toBe(200);
  });

  it("answers 503 naming the cold store while DynamoDB does not answer", async () => {
    await dynamo.stop();
    for (const r of await health()) {
      expect(r.status).toBe(503);
      expect(r.headers["retry-after"]).toBe("1");
      expect(r.json).toMatchObject({ status: "unavailable", failed: ["coldStore"], coldStore: { status: "unavailable" }, redis: { status: "ok" } });
    }
  });
});

describe("GET /health on a Redis Cluster", () => {
  let cluster: RedisClusterProcess;
  beforeAll(async () => {
    cluster = await startCluster();
    await configureRuntime({ env: { REDIS_CLUSTER_NODES: cluster.seeds, WEFT_API_KEYS: `${KEY_A}:acme`, WEFT_SHARDS: "6" } });
  });
  afterAll(async () => {
    await resetRuntime();
    await cluster?.stop();
  });

  it("probes every shard on its own master: a paused master fails its shards only, by timeout", async () => {
    const [ok] = await health();
    expect(ok.status).toBe(200);
    expect(ok.json.coldStore).toEqual({ status: "none" });
    const keys = keySchema("weft", 6);
    const masterOf = (s: number) => cluster.masterOf(keys.shard(s).outbox);
    const paused = masterOf(0);
    const down = [0, 1, 2, 3, 4, 5].filter((s) => masterOf(s) === paused);
    expect(down.length).toBeLessThan(6);
    await admin({ host: "127.0.0.1", port: paused }, (c) => c.call("CLIENT", "PAUSE", "4000", "ALL"));
    try {
      const [r] = await health();
      expect(r.status).toBe(503);
      expect(r.json.failed).toEqual(["redis"]);
      const byShard = Object.fromEntries(r.json.redis.shards.map((s: { shard: number; status: string; reason?: string }) => [s.shard, s.reason ?? s.status]));
      expect(byShard).toEqual(Object.fromEntries([0, 1, 2, 3, 4, 5].map((s) => [s, down.includes(s) ? "timeout" : "ok"])));
    } finally {
      await admin({ host: "127.0.0.1", port: paused }, (c) => c.call("CLIENT", "UNPAUSE"));
    }
  });
});
