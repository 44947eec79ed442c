import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedis, type RedisProcess } from "@weft/test-support";
import { handler as api } from "../../api.js";
import { configureRuntime, resetRuntime } from "../../config.js";
import { apiEvent } from "./apigw.js";
import { startTestGateway } from "./gateway.js";
import { KEY_A, uid } from "./harness.js";

/**
 * WEFT_MAX_RUNS_IN_FLIGHT: concurrent submits through the local gateway and the Lambda never
 * start more runs than the limit; the others get 429 naming the limit, and a cancelled run
 * frees its place.
 */
let redis: RedisProcess;
let gateway: Awaited<ReturnType<typeof startTestGateway>>;
beforeAll(async () => {
  redis = await startRedis();
  await configureRuntime({ env: { REDIS_URL: redis.url, WEFT_API_KEYS: `${KEY_A}:acme`, WEFT_MAX_RUNS_IN_FLIGHT: "3" } });
  gateway = await startTestGateway();
});
afterAll(async () => {
  await gateway?.close();
  await resetRuntime();
  await redis?.stop();
});

async function submit(i: number) {
  const body = { id: uid("inflight"), nodes: [{ id: "a", agent: "ag" }] };
  if (i % 2) {
    const r = (await api(apiEvent("POST", "/v1/dags", { key: KEY_A, body }))) as { statusCode: number; headers?: Record<string, string>; body?: string };
    return { status: r.statusCode, retryAfter: r.headers?.["retry-after"], json: JSON.parse(r.body ?? "{}"), id: body.id };
  }
  const res = await fetch(`${gateway.baseUrl}/v1/dags`, { method: "POST", headers: { authorization: `Bearer ${KEY_A}`, "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: res.status, retryAfter: res.headers.get("retry-after") ?? undefined, json: await res.json(), id: body.id };
}

describe("runs in flight per tenant", () => {
  it("20 concurrent submits start exactly 3 runs; the rest are 429 naming the limit, and a cancel frees a place", async () => {
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => submit(i)));
    const created = answers.filter((a) => a.status === 201);
    expect(created).toHaveLength(3);
    const refused = answers.filter((a) => a.status !== 201);
    expect(refused.every((a) => a.status === 429 && a.retryAfter === "1")).toBe(true);
    expect(refused[0]!.json.error).toMatchObject({ code: "rate_limited", details: { limit: "maxRunsInFlight", max: 3, inFlight: 3 } });
    expect(refused[0]!.json.error.message).toContain("maxRunsInFlight");
    expect((await submit(0)).status).toBe(429);
    const cancel = await fetch(`${gateway.baseUrl}/v1/dags/${created[0]!.id}/cancel`, { method: "POST", headers: { authorization: `Bearer ${KEY_A}` } });
    expect(cancel.status).toBe(200);
    expect((await submit(1)).status).toBe(201);
    expect((await submit(0)).status).toBe(429);
  });
});
