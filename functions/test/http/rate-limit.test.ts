import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedis, type RedisProcess } from "@weft/test-support";
import { handler as api } from "../../api.js";
import { configFromEnv, configureRuntime, resetRuntime } from "../../config.js";
import { bucketsFor, parseRateLimits } from "../../http/limits.js";
import { apiEvent } from "./apigw.js";
import { startTestGateway } from "./gateway.js";
import { KEY_A, KEY_B, uid } from "./harness.js";

/**
 * Per-tenant rate limits (WEFT_RATE_LIMITS): over its bucket a tenant gets 429 with
 * Retry-After and the error body, through the local gateway and straight into the API
 * Lambda alike (one bucket in Redis for both); another tenant and another route class of
 * the same tenant are not touched, and a refused request writes nothing.
 */
let redis: RedisProcess;
let gateway: Awaited<ReturnType<typeof startTestGateway>>;

beforeAll(async () => {
  redis = await startRedis();
  // Per minute, so nothing refills while a test runs.
  const limits = "acme@submit=1/m:2, *@claim=1/m:3, globex=1/m:1000";
  await configureRuntime({ env: { REDIS_URL: redis.url, WEFT_API_KEYS: `${KEY_A}:acme,${KEY_B}:globex`, WEFT_RATE_LIMITS: limits } });
  gateway = await startTestGateway();
});
afterAll(async () => {
  await gateway?.close();
  await resetRuntime();
  await redis?.stop();
});

async function viaGateway(method: string, path: string, body?: unknown, key = KEY_A) {
  const res = await fetch(`${gateway.baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, retryAfter: res.headers.get("retry-after"), json: text ? JSON.parse(text) : undefined };
}
async function viaLambda(method: string, path: string, body?: unknown, key = KEY_A) {
  const r = (await api(apiEvent(method, path, { key, ...(body === undefined ? {} : { body }) }))) as { statusCode: number; headers?: Record<string, string>; body?: string };
  return { status: r.statusCode, retryAfter: r.headers?.["retry-after"] ?? null, json: r.body ? JSON.parse(r.body) : undefined };
}
const run = (id: string) => ({ id, nodes: [{ id: "a", agent: `${id}-ag` }] });

describe("per-tenant rate limits", () => {
  it("answers a tenant over its submit bucket 429 with Retry-After and the error body, gateway and Lambda alike, and creates nothing", async () => {
    const ids = [uid("rl"), uid("rl"), uid("rl"), uid("rl")];
    expect((await viaGateway("POST", "/v1/dags", run(ids[0]!))).status).toBe(201);
    expect((await viaLambda("POST", "/v1/dags", run(ids[1]!))).status).toBe(201);
    for (const [send, id] of [[viaGateway, ids[2]!], [viaLambda, ids[3]!]] as const) {
      const refused = await send("POST", "/v1/dags", run(id));
      expect(refused.status).toBe(429);
      expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
      expect(Number(refused.retryAfter)).toBeLessThanOrEqual(60);
      expect(refused.json.error).toMatchObject({ code: "rate_limited", message: expect.stringContaining("acme") });
      expect(refused.json.error.message).toContain("submit");
      expect(refused.json.error.details.retryAfterMs).toBeGreaterThan(0);
      expect((await viaGateway("GET", `/v1/dags/${id}`)).status).toBe(404);
    }
    // Another class of the same tenant, and another tenant's submits, still pass.
    expect((await viaGateway("GET", `/v1/dags/${ids[0]}`)).status).toBe(200);
    expect((await viaGateway("POST", "/v1/dags", run(uid("rl-globex")), KEY_B)).status).toBe(201);
  });

  it("limits claims per tenant by the * claim rule, each tenant with its own bucket", async () => {
    for (const key of [KEY_A, KEY_B]) {
      const agent = uid("rl-claim");
      const answers = [];
      for (let i = 0; i < 4; i++) answers.push((await (i % 2 ? viaLambda : viaGateway)("POST", `/v1/agents/${agent}/claim`, {}, key)).status);
      expect(answers).toEqual([200, 200, 200, 429]);
    }
  });

  it("reads WEFT_RATE_LIMITS once, refusing a malformed one at cold start with an error naming the variable", () => {
    const env = { WEFT_API_KEYS: `${KEY_A}:acme` };
    expect(configFromEnv(env).rateLimits).toBeUndefined();
    for (const bad of ["acme", "acme=10", "acme@stream=1/s", "*=0/s", "*=10/h", "*=1/s:0", "ac me=1/s", `${"t".repeat(129)}=1/s`, "**=1/s"]) {
      expect(() => configFromEnv({ ...env, WEFT_RATE_LIMITS: bad }), bad).toThrow(expect.objectContaining({ field: "WEFT_RATE_LIMITS" }));
    }
    const rules = parseRateLimits("*=100/s:200, acme=10/s, *@claim=500/s, acme@submit=30/m:5");
    expect(bucketsFor(rules, "acme", "submit")).toEqual([
      { scope: "all", rate: 10, burst: 10 },
      { scope: "submit", rate: 0.5, burst: 5 },
    ]);
    expect(bucketsFor(rules, "globex", "claim")).toEqual([
      { scope: "all", rate: 100, burst: 200 },
      { scope: "claim", rate: 500, burst: 500 },
    ]);
    expect(bucketsFor(rules, "globex", "read")).toEqual([{ scope: "all", rate: 100, burst: 200 }]);
  });
});
