import type { AddressInfo } from "node:net";
import { serve, type ServerType } from "@hono/node-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../../functions/http/app.js";
import { createClient, type WeftClient } from "@weft/client";
import { HTTPException } from "hono/http-exception";
import { toErrorResponse } from "../../../functions/http/errors.js";
import { API_ERROR_STATUS, codeOfStatus, errorOfApi } from "@weft/core/sdk";
import {
  ConflictError,
  createEngine,
  createStateStore,
  NotFoundError,
  PayloadTooLargeError,
  RateLimitedError,
  UnavailableError,
  ValidationError,
  WeftError,
  type ErrorCode,
} from "@weft/core";
import { TcpRedis } from "@weft/core/redis";
import { startRedis, type RedisProcess } from "@weft/test-support";

/** The client package against the real HTTP API (a Node server) on a real Redis. */
let server: RedisProcess;
let redis: TcpRedis;
let http: ServerType;
let client: WeftClient;

beforeAll(async () => {
  server = await startRedis();
  redis = new TcpRedis({ url: server.url });
  const engine = createEngine({ redis });
  const state = createStateStore({ redis });
  const app = createApp({
    engine,
    auth: { keys: { "key-a": "tenant-a" } },
    state,
  });
  http = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve(s));
  });
  client = createClient({ baseUrl: `http://127.0.0.1:${(http.address() as AddressInfo).port}`, apiKey: "key-a", writer: { agent: "counter" } });
});

afterAll(async () => {
  await new Promise((r) => http?.close(r));
  await redis?.close();
  await server?.stop();
});

describe("@weft/client", () => {
  it("runs a DAG: submit, claim, complete with the next claim, read the run and its log", async () => {
    const sub = await client.submit({ nodes: [{ id: "a", agent: "w" }, { id: "b", agent: "w", deps: ["a"] }] });
    expect(sub).toMatchObject({ created: true, ready: ["a"] });
    const [a] = await client.claim("w", { max: 5, leaseMs: 10_000 });
    const done = await client.complete(a!, { ok: 1 }, { claimNext: { agent: "w" } });
    expect(done.next?.map((t) => t.nodeId)).toEqual(["b"]);
    await expect(client.complete(a!, { ok: 2 })).rejects.toBeInstanceOf(ConflictError);
    await client.complete(done.next![0]!, "B");
    expect((await client.getRun(sub.dagId)).status).toBe("succeeded");
    expect((await client.events(sub.dagId)).events.at(-1)?.type).toBe("run.succeeded");
    await expect(client.getRun("no-such-run")).rejects.toBeInstanceOf(NotFoundError);
    await expect(client.claim("w", { max: 0 })).rejects.toBeInstanceOf(ValidationError);
  });

  it("update(): 50 agents read, think and write one counter over HTTP without losing an update", async () => {
    const ref = { namespace: "counters", key: `c${Date.now()}` };
    await client.state.create(ref, 0);
    const results = await Promise.all(
      Array.from({ length: 50 }, () =>
        client.state.update<number>(
          ref,
          async (n) => {
            await new Promise((r) => setTimeout(r, Math.random() * 10));
            return (n ?? 0) + 1;
          },
          { retries: 200, backoffMs: 2 },
        ),
      ),
    );
    const final = await client.state.get(ref);
    expect(final?.value).toBe(50);
    expect(final?.version).toBe(51);
    expect(new Set(results.map((r) => r.version)).size).toBe(50);
    expect(results.some((r) => r.attempts > 1)).toBe(true);
  });

  it("a stale compare-and-set is a ConflictError carrying the current value", async () => {
    const ref = { namespace: "bookings", key: `b${Date.now()}` };
    await client.state.create(ref, { state: "PENDING" });
    await client.state.put(ref, { state: "PAID" }, 1);
    const err = await client.state.put(ref, { state: "UNPAID" }, 1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as ConflictError).details?.current).toMatchObject({ value: { state: "PAID" }, version: 2 });
    expect((await client.state.get(ref))?.value).toEqual({ state: "PAID" });
  });

  it("patches, transitions along a machine, reads the key's history and deletes at a version", async () => {
    const ref = { namespace: "bookings", key: `m${Date.now()}` };
    const machine = await client.machines.put("booking", {
      states: ["PENDING", "PAID", "REFUNDED"],
      initial: "PENDING",
      transitions: { PENDING: ["PAID"], PAID: ["REFUNDED"] },
    });
    expect(machine).toMatchObject({ name: "booking", initial: "PENDING" });
    expect((await client.machines.get("booking")).states).toEqual(["PENDING", "PAID", "REFUNDED"]);
    expect(await client.state.transition(ref, { machine: "booking", to: "PENDING", expectedVersion: 0 })).toMatchObject({ version: 1, to: "PENDING" });
    expect(await client.state.patch(ref, { seats: 2 }, 1)).toMatchObject({ version: 2, value: { state: "PENDING", seats: 2 } });
    await expect(client.state.patch(ref, { seats: 3 }, 1)).rejects.toBeInstanceOf(ConflictError);
    const paid = await client.state.transition(ref, { machine: "booking", to: "PAID" });
    expect(paid).toMatchObject({ version: 3, from: "PENDING", to: "PAID" });
    await expect(client.state.transition(ref, { machine: "booking", to: "PENDING" })).rejects.toBeInstanceOf(ConflictError);
    const history = await client.state.history(ref);
    expect(history.map((h) => [h.version, h.op, h.writer.agent])).toEqual([
      [3, "transition", "counter"],
      [2, "patch", "counter"],
      [1, "transition", "counter"],
    ]);
    expect(await client.state.history(ref, 1)).toHaveLength(1);
    await expect(client.state.delete(ref, 2)).rejects.toBeInstanceOf(ConflictError);
    expect(await client.state.delete(ref, 3)).toMatchObject({ deleted: true });
    expect(await client.state.get(ref)).toBeUndefined();
  });

  it("submit retries a lost answer with the key it generated: one run, not two", async () => {
    const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    const sent: string[] = [];
    let drop = 1;
    // The first answer is lost after the server created the run, as under a dropped connection.
    const lossy: typeof fetch = async (input, init) => {
      sent.push(String(init?.body));
      const res = await fetch(input, init);
      if (drop-- > 0) {
        await res.text();
        throw new TypeError("fetch failed");
      }
      return res;
    };
    const flaky = createClient({ baseUrl: base, apiKey: "key-a", fetch: lossy });
    const agent = `retry-${process.pid}`;
    const sub = await flaky.submit({ nodes: [{ id: "a", agent }] });
    expect(sub.created).toBe(false); // the retry found the run the lost answer had created
    expect(sent).toHaveLength(2);
    const keys = sent.map((b) => JSON.parse(b).idempotencyKey as string);
    expect(keys[0]).toMatch(/^client-[0-9a-f-]{36}$/);
    expect(keys[1]).toBe(keys[0]);
    expect((await client.list({ status: "running", limit: 1000 })).runs.filter((r) => r.dagId === sub.dagId)).toHaveLength(1);
    expect(await client.claim(agent, { max: 10 })).toHaveLength(1); // one run's node, not two

    // A caller's own key (or id) is kept as given; two submits without one are two runs.
    const own = await client.submit({ idempotencyKey: `own-${process.pid}`, nodes: [{ id: "a", agent }] });
    expect((await client.submit({ idempotencyKey: `own-${process.pid}`, nodes: [{ id: "a", agent }] })).dagId).toBe(own.dagId);
    expect((await client.submit({ nodes: [{ id: "a", agent }] })).dagId).not.toBe((await client.submit({ nodes: [{ id: "a", agent }] })).dagId);
  });

  it("maps errors by the API's error.code, and by status only when the body has none", async () => {
    const answering = (status: number, body: string): typeof fetch => async () => new Response(body, { status, headers: { "content-type": "application/json" } });
    const on = (status: number, body: string) => createClient({ baseUrl: "http://x", fetch: answering(status, body), submitRetries: 0 });
    await expect(on(400, '{"error":{"code":"conflict","message":"m"}}').getRun("r")).rejects.toBeInstanceOf(ConflictError);
    await expect(on(404, '{"error":{"code":"validation","message":"m","field":"f"}}').getRun("r")).rejects.toMatchObject({ code: "validation", field: "f" });
    await expect(on(405, '{"error":{"code":"method_not_allowed","message":"m"}}').getRun("r")).rejects.toBeInstanceOf(ValidationError);
    await expect(on(502, "<html>bad gateway</html>").getRun("r")).rejects.toMatchObject({ code: "unavailable" });
    await expect(on(404, "").getRun("r")).rejects.toBeInstanceOf(NotFoundError);
    await expect(on(418, "").getRun("r")).rejects.toBeInstanceOf(ValidationError);
  });

  it("reads back every code the API answers with as the error the API was given (one table: API_ERROR_STATUS)", async () => {
    const thrown: Record<ErrorCode, WeftError> = {
      validation: new ValidationError("v", "nodes[0].id", { cycle: ["a", "b"] }),
      not_found: new NotFoundError("n"),
      conflict: new ConflictError("c", { current: "running" }),
      payload_too_large: new PayloadTooLargeError("p", "output"),
      unauthorized: new WeftError("unauthorized", "u"),
      rate_limited: new RateLimitedError("r", 2000),
      unavailable: new UnavailableError("down"),
    };
    for (const [code, err] of Object.entries(thrown)) {
      const { status, body, headers } = toErrorResponse(err);
      expect(status).toBe(API_ERROR_STATUS[code as ErrorCode]);
      const answer = new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });
      const got = await createClient({ baseUrl: "http://x", fetch: async () => answer, submitRetries: 0 }).getRun("r").catch((e: unknown) => e);
      expect(got).toBeInstanceOf(err.constructor === RateLimitedError ? WeftError : err.constructor);
      expect(got).toMatchObject({ code, message: err.message, field: err.field, details: err.details });
    }
    // The statuses the framework raises before a route runs come back as their codes too.
    for (const status of [400, 401, 404, 405, 413, 415, 418] as const) {
      const { body } = toErrorResponse(new HTTPException(status));
      expect(body.error.code).toBe(codeOfStatus(status));
      expect(errorOfApi(status, body.error)).toBeInstanceOf(status === 401 ? WeftError : status === 404 ? NotFoundError : status === 413 ? PayloadTooLargeError : ValidationError);
    }
  });
});
