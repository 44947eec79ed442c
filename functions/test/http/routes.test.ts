import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEngine } from "@weft/core";
import { TcpRedis } from "@weft/core/redis";
import { API_HANDLER, routeKey, routes, streamRoutes } from "../../../infra/routes.js";
import { handler as api } from "../../api.js";
import { configureRuntime, resetRuntime } from "../../config.js";
import { createApp, servedRoutes } from "../../http/app.js";
import { startRedis, type RedisProcess } from "@weft/test-support";
import { apiEvent, reply, type Reply } from "./apigw.js";
import { startTestGateway } from "./gateway.js";
import { KEY_A, KEY_B, servedByApi } from "./harness.js";

let redis: RedisProcess;
let gateway: Awaited<ReturnType<typeof startTestGateway>>;
let doc: { paths: Record<string, Record<string, unknown>> };

beforeAll(async () => {
  redis = await startRedis();
  await configureRuntime({ env: { REDIS_URL: redis.url, WEFT_API_KEYS: `${KEY_A}:acme,${KEY_B}:globex` } });
  gateway = await startTestGateway();
  doc = (await (await fetch(`${gateway.baseUrl}/openapi.json`)).json()) as typeof doc;
});
afterAll(async () => {
  await gateway?.close();
  await resetRuntime();
  await redis?.stop();
});

const key = (r: { method: string; path: string }) => `${r.method.toUpperCase()} ${r.path}`;
const apiPaths = () => Object.entries(doc.paths).filter(([path]) => servedByApi(path));

/** The same request through the local gateway (real HTTP) and straight into the Lambda handler. */
async function both(method: string, path: string, body?: string): Promise<[Reply, Reply]> {
  const headers: Record<string, string> = { authorization: `Bearer ${KEY_A}`, ...(body === undefined ? {} : { "content-type": "application/json" }) };
  const res = await fetch(`${gateway.baseUrl}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
  const text = await res.text();
  const viaGateway: Reply = { status: res.status, headers: Object.fromEntries(res.headers), json: text ? JSON.parse(text) : undefined };
  const direct = reply(await api(apiEvent(method, path, { key: KEY_A, ...(body === undefined ? {} : { rawBody: body }) })));
  return [viaGateway, direct];
}

describe("the deployed route table and the app", () => {
  it("deploy exactly the routes the app serves, route by route, and send everything else to the app", async () => {
    const engine = createEngine({ redis: new TcpRedis({ url: redis.url }) });
    const { createStateStore } = await import("@weft/core");
    const { createSignals } = await import("@weft/core/signals");
    const port = new TcpRedis({ url: redis.url });
    const app = createApp({ engine, auth: { devTenant: "t" }, state: createStateStore({ redis: port }), signals: createSignals({ redis: port }) });
    const served = servedRoutes(app).map(key).sort();
    const deployed = routes.filter((r) => r.handler === API_HANDLER && r.path !== "$default").map(routeKey).sort();
    expect(deployed).toEqual(served);
    expect(routes.filter((r) => r.path === "$default")).toEqual([{ method: "ANY", path: "$default", handler: API_HANDLER }]);
    await engine.close();
    await port.close();
  });

  it("documents every route it serves, except the document itself, and the Stream function's routes", () => {
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => key({ method: m, path })));
    const deployed = routes.filter((r) => r.handler === API_HANDLER && r.path !== "$default" && r.path !== "/openapi.json").map(routeKey);
    expect(documented.sort()).toEqual([...deployed, ...streamRoutes.map(routeKey)].sort());
  });

  it("answers every documented route through the local gateway as it does in Lambda, never with 'no route'", async () => {
    for (const [path, ops] of apiPaths()) {
      const concrete = path.replace(/\{(\w+)\}/g, (_m, name: string) => `route-${name}`);
      for (const method of Object.keys(ops)) {
        const body = ["post", "put", "patch"].includes(method) ? "{}" : undefined;
        const [viaGateway, direct] = await both(method.toUpperCase(), concrete, body);
        const label = `${method.toUpperCase()} ${path}`;
        expect(viaGateway.status, label).toBe(direct.status);
        expect(viaGateway.status, label).toBeLessThan(500);
        expect([404, 405].includes(viaGateway.status) && /^no route|is not served/.test(viaGateway.json?.error?.message ?? ""), label).toBe(false);
        expect(viaGateway.json?.error?.code, label).toBe(direct.json?.error?.code);
      }
    }
  });

  it("marks keyless in the document exactly the routes that answer without the tenant's key (security: [], no 401 listed)", async () => {
    const keyless: string[] = [];
    for (const [path, ops] of apiPaths()) {
      const concrete = path.replace(/\{(\w+)\}/g, (_m, name: string) => `route-${name}`);
      for (const [method, op] of Object.entries(ops) as [string, { security?: unknown[]; responses: Record<string, unknown> }][]) {
        const label = `${method.toUpperCase()} ${path}`;
        const body = ["post", "put", "patch"].includes(method) ? "{}" : undefined;
        const headers = body === undefined ? undefined : { "content-type": "application/json" };
        const viaGateway = await fetch(`${gateway.baseUrl}${concrete}`, { method: method.toUpperCase(), ...(headers ? { headers } : {}), ...(body === undefined ? {} : { body }) });
        await viaGateway.text();
        const direct = reply(await api(apiEvent(method.toUpperCase(), concrete, body === undefined ? {} : { rawBody: body })));
        const open = Array.isArray(op.security) && op.security.length === 0;
        if (open) keyless.push(label);
        expect(open ? "keyless" : "keyed", label).toBe(viaGateway.status === 401 ? "keyed" : "keyless");
        expect(direct.status === 401, label).toBe(viaGateway.status === 401);
        expect("401" in op.responses, label).toBe(!open);
      }
    }
    expect(keyless.sort()).toEqual(["GET /health", "POST /v1/signals/{token}"]);
  });

  it("answers a method a path does not serve with 405, Allow and the error envelope, through both", async () => {
    for (const [method, path, allow] of [
      ["DELETE", "/v1/dags", "POST, GET"],
      ["GET", "/v1/agents/a/claim", "POST"],
      ["PATCH", "/v1/machines/m", "PUT, GET"],
    ] as const) {
      for (const r of await both(method, path)) {
        expect(r.status, `${method} ${path}`).toBe(405);
        expect(r.headers.allow).toBe(allow);
        expect(r.json.error).toMatchObject({ code: "method_not_allowed", message: expect.stringContaining(method) });
      }
    }
    // fetch refuses to send TRACE; node:http does not.
    const trace = await new Promise<{ status: number; allow: string | undefined; body: string }>((res, rej) => {
      const req = request(`${gateway.baseUrl}/v1/dags`, { method: "TRACE", headers: { authorization: `Bearer ${KEY_A}` } }, (r) => {
        let body = "";
        r.on("data", (d) => (body += d)).on("end", () => res({ status: r.statusCode ?? 0, allow: r.headers.allow, body }));
      });
      req.on("error", rej).end();
    });
    expect(trace).toMatchObject({ status: 405, allow: "POST, GET" });
    expect(JSON.parse(trace.body).error.code).toBe("method_not_allowed");
    const direct = reply(await api(apiEvent("TRACE", "/v1/dags", { key: KEY_A })));
    expect(direct).toMatchObject({ status: 405, headers: { allow: "POST, GET" }, json: { error: { code: "method_not_allowed" } } });
  });

  it("answers an unknown path with 404 in the error envelope, through both", async () => {
    for (const r of await both("GET", "/v1/nothing-here")) expect(r).toMatchObject({ status: 404, json: { error: { code: "not_found" } } });
  });

  it("answers a malformed percent-escape in the path with 400, not 500", async () => {
    const [viaGateway, direct] = await both("GET", "/v1/dags/%E0%A4%A");
    expect(viaGateway).toMatchObject({ status: 400, json: { error: { code: "validation" } } });
    expect(direct).toMatchObject({ status: 400, json: { error: { code: "validation", field: "path.dagId" } } });
  });

  it("keeps a keep-alive client working after a 413: the body is drained and the connection closed cleanly", async () => {
    const big = "x".repeat(11 * 1024 * 1024);
    const tooLarge = await fetch(`${gateway.baseUrl}/v1/dags`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${KEY_A}` }, body: big });
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.headers.get("connection")).toBe("close");
    expect(((await tooLarge.json()) as { error: { code: string } }).error.code).toBe("payload_too_large");
    const missing = await fetch(`${gateway.baseUrl}/v1/nothing`, { headers: { authorization: `Bearer ${KEY_A}` } });
    expect(missing.status).toBe(404);
    await missing.text();
    const ok = await fetch(`${gateway.baseUrl}/openapi.json`);
    expect(ok.status).toBe(200);
    await ok.text();
  });
});
