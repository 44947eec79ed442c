import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedis, type RedisProcess } from "@weft/test-support";
import { handler as api } from "../../api.js";
import { configureRuntime, resetRuntime } from "../../config.js";
import { apiEvent, reply } from "./apigw.js";
import { startTestGateway } from "./gateway.js";
import { KEY_A, KEY_B, uid } from "./harness.js";

/**
 * Listing shared state (what the dashboard's state view reads): a run's keys, a namespace's
 * keys, a tenant's namespaces; through the local gateway (real HTTP, the route table infra
 * deploys) and straight into the API Lambda, which must agree.
 */
let redis: RedisProcess;
let gateway: Awaited<ReturnType<typeof startTestGateway>>;

beforeAll(async () => {
  redis = await startRedis();
  await configureRuntime({ env: { REDIS_URL: redis.url, WEFT_API_KEYS: `${KEY_A}:acme,${KEY_B}:globex` } });
  gateway = await startTestGateway();
});
afterAll(async () => {
  await gateway?.close();
  await resetRuntime();
  await redis?.stop();
});

async function call(method: string, path: string, o: { body?: unknown; headers?: Record<string, string>; key?: string } = {}) {
  const headers: Record<string, string> = { authorization: `Bearer ${o.key ?? KEY_A}`, ...(o.body === undefined ? {} : { "content-type": "application/json" }), ...o.headers };
  const res = await fetch(`${gateway.baseUrl}${path}`, { method, headers, ...(o.body === undefined ? {} : { body: JSON.stringify(o.body) }) });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}
/** GET through the gateway and into the Lambda; both must answer the same. */
async function list(path: string, key = KEY_A) {
  const viaGateway = await call("GET", path, { key });
  const direct = reply(await api(apiEvent("GET", path, { key })));
  expect(direct.status, path).toBe(viaGateway.status);
  expect(direct.json, path).toEqual(viaGateway.json);
  return viaGateway;
}
const create = (path: string, value: unknown, key = KEY_A) => call("PUT", path, { body: value, headers: { "if-none-match": "*" }, key });

describe("listing shared state", () => {
  it("lists a namespace's keys with version and time, and the tenant's namespaces, not another tenant's", async () => {
    const ns = uid("ns");
    expect((await create(`/v1/state/${ns}/b`, { n: 1 })).status).toBe(201);
    expect((await create(`/v1/state/${ns}/a`, { n: 1 })).status).toBe(201);
    expect((await call("PUT", `/v1/state/${ns}/a`, { body: { n: 2 }, headers: { "if-match": '"1"' } })).status).toBe(200);
    await create(`/v1/state/${ns}/gone`, {});
    expect((await call("DELETE", `/v1/state/${ns}/gone`, { headers: { "if-match": '"1"' } })).status).toBe(200);
    const theirs = uid("ns-globex");
    await create(`/v1/state/${theirs}/x`, {}, KEY_B);

    const keys = await list(`/v1/state/${ns}`);
    expect(keys.status).toBe(200);
    expect(keys.json.keys.map((k: { key: string; version: number }) => [k.key, k.version])).toEqual([
      ["a", 2],
      ["b", 1],
    ]);
    expect(keys.json.keys[0].at).toBeGreaterThan(Date.now() - 60_000);
    const mine = (await list("/v1/state")).json.namespaces as string[];
    expect(mine).toContain(ns);
    expect(mine).not.toContain(theirs);
    expect((await list("/v1/state", KEY_B)).json.namespaces).toEqual([theirs]);
    // Another tenant's namespace of the same name is empty for you.
    expect((await list(`/v1/state/${theirs}`)).json).toEqual({ keys: [] });
  });

  it("pages through many keys with the cursor, each key once", async () => {
    const ns = uid("many");
    for (let i = 0; i < 30; i++) await create(`/v1/state/${ns}/k${i}`, i);
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const r = await list(`/v1/state/${ns}?limit=7${cursor ? `&cursor=${cursor}` : ""}`);
      seen.push(...r.json.keys.map((k: { key: string }) => k.key));
      cursor = r.json.cursor;
      pages++;
    } while (cursor && pages < 50);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.sort()).toEqual(Array.from({ length: 30 }, (_, i) => `k${i}`).sort());
    expect(pages).toBeGreaterThan(1);
  });

  it("lists a run's keys", async () => {
    const dagId = uid("run");
    expect((await call("POST", "/v1/dags", { body: { id: dagId, nodes: [{ id: "a", agent: `${dagId}-x` }] } })).status).toBe(201);
    await create(`/v1/dags/${dagId}/state/plan`, { steps: 3 });
    await create(`/v1/dags/${dagId}/state/notes`, []);
    const r = await list(`/v1/dags/${dagId}/state`);
    expect(r.json.keys.map((k: { key: string; version: number }) => `${k.key}@${k.version}`)).toEqual(["notes@1", "plan@1"]);
    expect((await list(`/v1/dags/${dagId}/state`, KEY_B)).json).toEqual({ keys: [] });
  });

  it("answers bad paging with 400 naming the field", async () => {
    for (const [q, field] of [
      ["limit=0", "limit"],
      ["limit=201", "limit"],
      ["limit=x", "limit"],
      ["cursor=abc", "cursor"],
    ] as const) {
      const r = await list(`/v1/state?${q}`);
      expect(r.status, q).toBe(400);
      expect(r.json.error.field, q).toContain(field);
    }
  });
});
