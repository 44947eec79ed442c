import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../http/app.js";
import { createEngine, createStateStore } from "@weft/core";
import { TcpRedis } from "@weft/core/redis";
import { startRedis, type RedisProcess } from "@weft/test-support";

let server: RedisProcess;
let redis: TcpRedis;
let app: ReturnType<typeof createApp>;

beforeAll(async () => {
  server = await startRedis();
  redis = new TcpRedis({ url: server.url });
  const state = createStateStore({ redis });
  const engine = createEngine({ redis });
  await engine.submit("tenant-a", { id: "run-9", nodes: [{ id: "a", agent: "worker" }] });
  app = createApp({
    engine,
    auth: { keys: { "key-a": "tenant-a", "key-b": "tenant-b" } },
    state,
  });
});

afterAll(async () => {
  await redis?.close();
  await server?.stop();
});

let seq = 0;
const fresh = (prefix = "k") => `${prefix}${++seq}`;

function call(method: string, path: string, opts: { body?: unknown; raw?: string; headers?: Record<string, string>; key?: string } = {}) {
  const headers: Record<string, string> = { authorization: `Bearer ${opts.key ?? "key-a"}`, ...opts.headers };
  let body: string | undefined = opts.raw;
  if (opts.body !== undefined) body = JSON.stringify(opts.body);
  if (body !== undefined) headers["content-type"] = "application/json";
  return app.request(path, { method, headers, ...(body === undefined ? {} : { body }) });
}

const BOOKING = {
  states: ["PENDING", "PENDING_PAYMENT", "COMPLETED", "FAILED", "CANCELLED", "REFUND_PENDING"],
  initial: "PENDING",
  transitions: { PENDING: ["PENDING_PAYMENT", "CANCELLED"], PENDING_PAYMENT: ["COMPLETED", "FAILED", "CANCELLED"], COMPLETED: ["REFUND_PENDING"] },
};

describe("shared state over HTTP", () => {
  it("creates with If-None-Match: *, reads back the exact bytes with the version as ETag", async () => {
    const path = `/v1/state/bookings/${fresh()}`;
    const raw = '{"seats":[],"ref":123456789012345678901234}';
    const created = await call("PUT", path, { raw, headers: { "if-none-match": "*" } });
    expect(created.status).toBe(201);
    expect(created.headers.get("etag")).toBe('"1"');
    const got = await call("GET", path);
    expect(got.status).toBe(200);
    expect(got.headers.get("etag")).toBe('"1"');
    expect(await got.text()).toBe(raw);
    expect((await call("GET", path, { headers: { "if-none-match": '"1"' } })).status).toBe(304);
    const again = await call("PUT", path, { body: {}, headers: { "if-none-match": "*" } });
    expect(again.status).toBe(409);
  });

  it("writes with If-Match and answers a stale version with 409, the current value and version", async () => {
    const path = `/v1/state/bookings/${fresh()}`;
    await call("PUT", path, { body: { n: 0 }, headers: { "if-none-match": "*" } });
    const ok = await call("PUT", path, { body: { n: 1 }, headers: { "if-match": '"1"' } });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ version: 2 });
    const stale = await call("PUT", path, { body: { n: 99 }, headers: { "if-match": '"1"' } });
    expect(stale.status).toBe(409);
    expect(await stale.json()).toMatchObject({ error: { code: "conflict", details: { current: { value: { n: 1 }, version: 2 } } } });
    expect(await (await call("GET", path)).json()).toEqual({ n: 1 });
  });

  it("refuses unconditional writes and malformed input with 400 naming the field, writing nothing", async () => {
    const path = `/v1/state/bookings/${fresh()}`;
    const cases: [Response, string][] = [
      [await call("PUT", path, { body: { n: 1 } }), "If-Match"],
      [await call("PUT", path, { body: { n: 1 }, headers: { "if-match": "*" } }), "If-Match"],
      [await call("PUT", path, { body: { n: 1 }, headers: { "if-none-match": '"3"' } }), "If-None-Match"],
      [await call("PUT", path, { raw: "{oops", headers: { "if-none-match": "*" } }), "body"],
      [await call("PUT", path, { raw: "", headers: { "if-none-match": "*" } }), "body"],
      [await call("PUT", path, { body: 1, headers: { "if-none-match": "*", "x-weft-attempt": "one" } }), "X-Weft-Attempt"],
      [await call("PUT", path, { body: 1, headers: { "if-none-match": "*", "x-weft-agent": "a b" } }), "X-Weft-Agent"],
      [await call("PUT", "/v1/state/bookings/bad%20key", { body: 1, headers: { "if-none-match": "*" } }), "path.key"],
      [await call("DELETE", path), "If-Match"],
      [await call("GET", `${path}/history?limit=x`), "query.limit"],
    ];
    for (const [res, field] of cases) {
      expect(res.status, field).toBe(400);
      expect(((await res.json()) as { error: { field?: string } }).error.field).toBe(field);
    }
    expect((await call("GET", path)).status).toBe(404);
  });

  it("applies a merge patch, as a compare-and-set under If-Match", async () => {
    const path = `/v1/state/bookings/${fresh()}`;
    await call("PUT", path, { body: { a: 1, b: { c: 2 } }, headers: { "if-none-match": "*" } });
    const patched = await call("PATCH", path, { body: { b: { c: null, d: 3 } }, headers: { "if-match": '"1"' } });
    expect(patched.status).toBe(200);
    expect(await patched.json()).toEqual({ version: 2, value: { a: 1, b: { d: 3 } } });
    expect((await call("PATCH", path, { body: { a: 2 }, headers: { "if-match": '"1"' } })).status).toBe(409);
    const free = await call("PATCH", path, { body: { a: 2 } });
    expect(free.headers.get("etag")).toBe('"3"');
    expect((await call("PATCH", `/v1/state/bookings/${fresh()}`, { body: { a: 1 } })).status).toBe(404);
  });

  it("deletes at a version and shows who wrote what in the history", async () => {
    const path = `/v1/dags/run-9/state/${fresh("plan")}`;
    const who = { "x-weft-agent": "planner", "x-weft-node": "n1", "x-weft-attempt": "2" };
    await call("PUT", path, { body: ["step"], headers: { "if-none-match": "*", ...who } });
    expect((await call("DELETE", path, { headers: { "if-match": '"2"' } })).status).toBe(409);
    const del = await call("DELETE", path, { headers: { "if-match": '"1"', "x-weft-agent": "cleaner" } });
    expect(await del.json()).toEqual({ version: 2, deleted: true });
    expect((await call("GET", path)).status).toBe(404);
    const h = (await (await call("GET", `${path}/history`)).json()) as { entries: unknown[] };
    expect(h.entries).toMatchObject([
      { version: 2, op: "delete", writer: { agent: "cleaner", run: "run-9" } },
      { version: 1, op: "create", writer: { agent: "planner", node: "n1", attempt: 2, run: "run-9" } },
    ]);
  });

  it("keeps tenants apart: another tenant's key does not exist for you", async () => {
    const path = `/v1/state/bookings/${fresh()}`;
    await call("PUT", path, { body: { secret: true }, headers: { "if-none-match": "*" } });
    expect((await call("GET", path, { key: "key-b" })).status).toBe(404);
    expect((await call("PUT", path, { body: {}, key: "key-b", headers: { "if-none-match": "*" } })).status).toBe(201);
    expect(await (await call("GET", path)).json()).toEqual({ secret: true });
    expect((await call("GET", path, { key: "nope" })).status).toBe(401);
    const run = await call("PUT", `/v1/dags/run-9/state/${fresh()}`, { body: 1, key: "key-b", headers: { "if-none-match": "*" } });
    expect(run.status).toBe(404);
  });

  it("registers a machine, checks it, and rejects the stale booking write with the allowed transitions", async () => {
    const bad = await call("PUT", "/v1/machines/booking", { body: { ...BOOKING, transitions: { PENDING: ["PAID"] } } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { field: string } }).error.field).toBe("transitions.PENDING[0]");
    const reg = await call("PUT", "/v1/machines/booking", { body: BOOKING });
    expect(reg.status).toBe(200);
    expect(await (await call("GET", "/v1/machines/booking")).json()).toMatchObject({ name: "booking", initial: "PENDING" });
    expect((await call("GET", "/v1/machines/booking", { key: "key-b" })).status).toBe(404);

    const path = `/v1/state/bookings/${fresh("session_")}`;
    const step = (to: string, extra: object = {}) => call("POST", `${path}/transition`, { body: { machine: "booking", to, ...extra } });
    expect((await step("PENDING")).status).toBe(200);
    expect((await step("PENDING_PAYMENT")).status).toBe(200);
    const stale = await call("GET", path);
    const staleVersion = Number(stale.headers.get("etag")!.replaceAll('"', ""));
    expect(await (await step("COMPLETED", { expectedVersion: staleVersion })).json()).toMatchObject({ from: "PENDING_PAYMENT", to: "COMPLETED" });
    const back = await step("PENDING_PAYMENT");
    expect(back.status).toBe(409);
    expect(await back.json()).toMatchObject({
      error: { code: "conflict", details: { allowed: ["REFUND_PENDING"], current: { value: { state: "COMPLETED" }, version: 3 } } },
    });
    const backByPut = await call("PUT", path, { raw: await stale.text(), headers: { "if-match": `"${staleVersion}"` } });
    expect(backByPut.status).toBe(409);
    expect(await (await call("GET", path)).json()).toEqual({ state: "COMPLETED" });
    const badBody = await call("POST", `${path}/transition`, { body: { machine: "booking" } });
    expect(badBody.status).toBe(400);
    expect(((await badBody.json()) as { error: { field: string } }).error.field).toBe("to");
  });

  it("documents the state routes in the OpenAPI document", async () => {
    const doc = (await (await app.request("/openapi.json")).json()) as { paths: Record<string, object> };
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(["/v1/state/{namespace}/{key}", "/v1/dags/{dagId}/state/{key}/history", "/v1/state/{namespace}/{key}/transition", "/v1/machines/{name}"]),
    );
  });
});

describe("a node's completion with shared-state writes over HTTP", () => {
  it("applies the completion and the writes together, or neither on a stale version", async () => {
    const engine = createEngine({ redis });
    const { dagId } = await engine.submit("tenant-a", { nodes: [{ id: "pay", agent: "payer" }, { id: "mail", agent: "mailer" }] });
    const [pay, mail] = [(await engine.claim("tenant-a", "payer"))[0]!, (await engine.claim("tenant-a", "mailer"))[0]!];
    const key = fresh("booking");

    const ok = await call("POST", `/v1/dags/${dagId}/nodes/pay/complete`, {
      body: { leaseToken: pay.leaseToken, output: { paid: true }, state: [{ key, value: { state: "PAID" }, create: true }] },
    });
    expect(ok.status).toBe(200);
    const read = await call("GET", `/v1/dags/${dagId}/state/${key}`);
    expect(await read.json()).toEqual({ state: "PAID" });
    expect(read.headers.get("etag")).toBe('"1"');

    // The mailer read version 0 (before the payment) and writes back: rejected, and its
    // completion with it, so the node is still running and the value is untouched.
    const stale = await call("POST", `/v1/dags/${dagId}/nodes/mail/complete`, {
      body: { leaseToken: mail.leaseToken, output: "sent", state: [{ key, value: { state: "UNPAID" }, create: true }] },
    });
    expect(stale.status).toBe(409);
    const body = (await stale.json()) as { error: { details: { current: { state: { version: number; value: unknown } } } } };
    expect(body.error.details.current.state).toMatchObject({ key, version: 1, value: { state: "PAID" } });
    const run = await engine.getRun("tenant-a", dagId);
    expect(run.nodes.find((n) => n.id === "mail")?.status).toBe("running");
    expect(await (await call("GET", `/v1/dags/${dagId}/state/${key}`)).json()).toEqual({ state: "PAID" });

    const bad = await call("POST", `/v1/dags/${dagId}/nodes/mail/complete`, {
      body: { leaseToken: mail.leaseToken, output: "sent", state: [{ key, value: 1 }] },
    });
    expect(bad.status).toBe(422);
    expect(((await bad.json()) as { error: { field: string } }).error.field).toBe("state[0].expectedVersion");
  });
});
