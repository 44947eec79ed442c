import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from "@aws-sdk/client-eventbridge";
import { mockClient } from "aws-sdk-client-mock";
import { Redis } from "ioredis";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
// Handlers first: they load @hono/zod-openapi before core's schemas exist (see functions/config.ts).
import { handler as api } from "../../api.js";
import { handler as archive } from "../../archive.js";
import { configureRuntime, resetRuntime } from "../../config.js";
import { handler as reconcile } from "../../reconcile.js";
import { ensureTable } from "@weft/core/dynamodb";
import type { BusEvent } from "@weft/core/events";
import { startDynalite, startRedis, type DynamoServer, type RedisProcess } from "@weft/test-support";
import { digest, invoke, KEY_A, KEY_B, TENANT_A, uid, waitUntilGoneFromRedis } from "./harness.js";

const eb = mockClient(EventBridgeClient);
let redis: RedisProcess;
let dynamo: DynamoServer;
let admin: Redis;
const PUBLIC = "https://weft.example.com";

const putEntries = (): PutEventsRequestEntry[] => eb.commandCalls(PutEventsCommand).flatMap((c) => c.args[0].input.Entries ?? []);
const details = () => putEntries().map((e) => ({ type: e.DetailType, ...JSON.parse(e.Detail ?? "{}") }));

beforeAll(async () => {
  [redis, dynamo] = await Promise.all([startRedis({ args: ["--enable-debug-command", "local"] }), startDynalite()]);
  admin = new Redis(redis.url);
  await ensureTable(dynamo.client(), "weft-waits");
  await configureRuntime({
    env: {
      REDIS_URL: redis.url,
      WEFT_API_KEYS: `${KEY_A}:acme,${KEY_B}:globex`,
      WEFT_EVENT_BUS: "weft-test-bus",
      WEFT_SIGNING_SECRET: "a signing secret for the http tests, 32+ chars",
      WEFT_PUBLIC_URL: PUBLIC,
      WEFT_TABLE: "weft-waits",
      DYNAMODB_ENDPOINT: dynamo.endpoint,
      WEFT_HOT_TTL_SECONDS: "1",
    },
  });
});
afterAll(async () => {
  await resetRuntime();
  admin.disconnect();
  await Promise.all([redis.stop(), dynamo.stop()]);
});
beforeEach(() => {
  eb.reset();
  eb.on(PutEventsCommand).callsFake((input: { Entries?: PutEventsRequestEntry[] }) => ({
    FailedEntryCount: 0,
    Entries: (input.Entries ?? []).map((_, i) => ({ EventId: `e${i}` })),
  }));
});

/** write -> approve (wait, 10 min, fails the run on timeout) -> publish. */
function approval(id: string, wait: Record<string, unknown> = { timeoutMs: 600_000 }) {
  return {
    id,
    nodes: [
      { id: "write", agent: `${id}-w`, input: { topic: "x" } },
      { id: "approve", deps: ["write"], input: { question: "publish?" }, wait },
      { id: "publish", agent: `${id}-p`, deps: ["approve"] },
    ],
  };
}

async function waiting(id: string, wait?: Record<string, unknown>) {
  await invoke(api, "POST", "/v1/dags", { body: approval(id, wait) });
  const [t] = (await invoke(api, "POST", `/v1/agents/${id}-w/claim`, { body: {} })).json.tasks;
  await invoke(api, "POST", `/v1/dags/${id}/nodes/write/complete`, { body: { leaseToken: t.leaseToken, output: "draft" } });
}

describe("waits over HTTP", () => {
  it("NodeWaiting reaches the bus with the signal URL; the URL works once without the tenant's key, then 404 like any wrong token", async () => {
    const id = uid("wait-url");
    await waiting(id);
    const announced = details().find((d) => d.type === "NodeWaiting" && d.dagId === id);
    expect(announced).toMatchObject({ tenant: "acme", nodeId: "approve" });
    expect(announced.signalUrl).toBe(`${PUBLIC}/v1/signals/${announced.signalToken}`);
    const run = await invoke(api, "GET", `/v1/dags/${id}`);
    expect(run.json.nodes[1]).toMatchObject({ id: "approve", status: "waiting", wait: { gen: 1, timeoutMs: 600_000, onTimeout: "fail" } });
    const path = `/v1/signals/${announced.signalToken}`;

    const before = await digest(admin);
    for (const bad of [`/v1/signals/${announced.signalToken.slice(0, -3)}abc`, "/v1/signals/nope"]) {
      const r = await invoke(api, "POST", bad, { key: "", body: { output: 1 } });
      expect(r.status).toBe(404);
      expect(r.json).toEqual({ error: { code: "not_found", message: "no such signal" } });
    }
    expect((await invoke(api, "POST", path, { key: "", body: { output: 1, error: { message: "x" } } })).status).toBe(422);
    expect(await digest(admin)).toBe(before);

    const ok = await invoke(api, "POST", path, { key: "", body: { output: { approved: true }, by: "slack:U42", signalId: "click-1" } });
    expect(ok.status).toBe(200);
    expect(ok.json).toEqual({ status: "succeeded", runStatus: "running", duplicate: false });
    expect((await invoke(api, "POST", path, { key: "", body: { output: { approved: true }, signalId: "click-1" } })).json.duplicate).toBe(true);
    const used = await invoke(api, "POST", path, { key: "", body: { output: 2 } });
    expect(used.status).toBe(404);
    const after = (await invoke(api, "GET", `/v1/dags/${id}`)).json;
    expect(after.nodes[1]).toMatchObject({ status: "succeeded", output: { approved: true }, signal: { via: "url", by: "slack:U42", signalId: "click-1" } });
    expect(details().some((d) => d.type === "NodeReady" && d.dagId === id && d.nodeId === "publish")).toBe(true);
  });

  it("signal with the tenant's key: approve, then 409 with the current state; another tenant's node is 404; bad bodies are 400 naming the field", async () => {
    const id = uid("wait-key");
    await waiting(id);
    const at = `/v1/dags/${id}/nodes/approve/signal`;
    const before = await digest(admin);
    expect((await invoke(api, "POST", at, { key: KEY_B, body: { output: 1 } })).status).toBe(404);
    const bad = await invoke(api, "POST", at, { body: { error: { nope: 1 } } });
    expect(bad.status).toBe(400);
    expect(bad.json.error.field).toBe("error.message");
    expect((await invoke(api, "POST", at, { body: { by: 5 } })).json.error.field).toBe("by");
    expect((await invoke(api, "POST", at, { key: "", body: { output: 1 } })).status).toBe(401);
    expect(await digest(admin)).toBe(before);

    expect((await invoke(api, "POST", at, { body: { output: "yes", by: "ana" } })).json).toEqual({ status: "succeeded", runStatus: "running", duplicate: false });
    const again = await invoke(api, "POST", at, { body: { output: "no" } });
    expect(again.status).toBe(409);
    expect(again.json.error.details.current).toMatchObject({ status: "succeeded", runStatus: "running" });
    const events = (await invoke(api, "GET", `/v1/dags/${id}/events`)).json.events;
    expect(events.find((e: { type: string }) => e.type === "node.waiting").data).toMatchObject({ gen: 1, input: { question: "publish?" } });
    expect(events.find((e: { type: string }) => e.type === "node.waiting").data.signalUrl).toMatch(`${PUBLIC}/v1/signals/`);
    expect(events.find((e: { type: string; node?: string }) => e.type === "node.succeeded" && e.node === "approve")).toMatchObject({
      actor: "ana",
      data: { signal: { via: "api", by: "ana" } },
    });
  });

  it("a signal by key ends the waits of every run on that key, and no other tenant's", async () => {
    const key = uid("invoice");
    const ids = [uid("k"), uid("k")];
    for (const id of ids) await invoke(api, "POST", "/v1/dags", { body: { id, nodes: [{ id: "paid", wait: { key } }] } });
    expect((await invoke(api, "POST", "/v1/signals", { key: KEY_B, body: { key, output: 1 } })).json.signalled).toBe(0);
    const r = await invoke(api, "POST", "/v1/signals", { body: { key, output: { amount: 12 }, by: "stripe" } });
    expect(r.json.signalled).toBe(2);
    for (const id of ids) expect((await invoke(api, "GET", `/v1/dags/${id}`)).json.status).toBe("succeeded");
    expect((await invoke(api, "POST", "/v1/signals", { body: { key: "a b", output: 1 } })).json.error.field).toBe("key");
  });

  it("suspend ends the attempt and waits; its signal URL resumes the agent, whose next task carries the signal", async () => {
    const id = uid("suspend");
    await invoke(api, "POST", "/v1/dags", { body: { id, nodes: [{ id: "book", agent: `${id}-a`, input: { trip: "Porto" } }] } });
    const [t] = (await invoke(api, "POST", `/v1/agents/${id}-a/claim`, { body: {} })).json.tasks;
    const s = await invoke(api, "POST", `/v1/dags/${id}/nodes/book/suspend`, {
      body: { leaseToken: t.leaseToken, wait: { timeoutMs: 60_000 }, input: { confirm: "120 EUR" } },
    });
    expect(s.status).toBe(200);
    expect(s.json).toMatchObject({ status: "waiting", attempt: 1 });
    expect((await invoke(api, "POST", `/v1/dags/${id}/nodes/book/suspend`, { body: { leaseToken: t.leaseToken, wait: {} } })).status).toBe(409);
    expect((await invoke(api, "POST", `/v1/dags/${id}/nodes/book/suspend`, { body: { leaseToken: "x", wait: { onTimeout: "x" } } })).json.error.field).toBe("wait.onTimeout");
    await invoke(api, "POST", `/v1/signals/${s.json.signalToken}`, { key: "", body: { output: { ok: true }, by: "ana" } });
    const [t2] = (await invoke(api, "POST", `/v1/agents/${id}-a/claim`, { body: {} })).json.tasks;
    expect(t2).toMatchObject({ nodeId: "book", attempt: 2, signal: { via: "url", by: "ana", output: { ok: true } } });
  });

  it("pause and resume: claims wait, the status says paused, and resume hands the node out", async () => {
    const id = uid("pause");
    await invoke(api, "POST", "/v1/dags", { body: { id, nodes: [{ id: "a", agent: `${id}-a` }] } });
    expect((await invoke(api, "POST", `/v1/dags/${id}/pause`)).json).toEqual({ status: "paused", changed: true });
    expect((await invoke(api, "GET", `/v1/dags/${id}`)).json.status).toBe("paused");
    const listed = await invoke(api, "GET", "/v1/dags?status=paused");
    expect(listed.json, JSON.stringify(listed.json)).toHaveProperty("runs");
    expect(listed.json.runs.map((r: { dagId: string }) => r.dagId)).toContain(id);
    expect((await invoke(api, "POST", `/v1/agents/${id}-a/claim`, { body: {} })).json.tasks).toEqual([]);
    expect((await invoke(api, "POST", `/v1/dags/${id}/pause`, { key: KEY_B })).status).toBe(404);
    eb.resetHistory();
    expect((await invoke(api, "POST", `/v1/dags/${id}/resume`)).json).toEqual({ status: "running", changed: true });
    expect(details().filter((d) => d.type === "NodeReady" && d.dagId === id)).toHaveLength(1);
    expect((await invoke(api, "POST", `/v1/agents/${id}-a/claim`, { body: {} })).json.tasks).toHaveLength(1);
  });

  it("a run whose wait timed out is archived, read the same from the cold store, and redriven from it: the wait waits again", async () => {
    const id = uid("cold-wait");
    await waiting(id, { timeoutMs: 1 });
    await new Promise((r) => setTimeout(r, 5));
    await reconcile();
    const hot = await invoke(api, "GET", `/v1/dags/${id}`);
    expect(hot.json).toMatchObject({ status: "failed" });
    expect(hot.json.nodes[1]).toMatchObject({ status: "failed", error: { code: "wait_timeout" }, signal: { via: "timeout" } });
    const flushed = await archive({ "detail-type": "DagFailed", detail: { tenant: TENANT_A, dagId: id } } as unknown as BusEvent);
    expect(flushed).toMatchObject({ flushed: true, released: true });
    await waitUntilGoneFromRedis(id);
    expect((await invoke(api, "GET", `/v1/dags/${id}`)).json).toEqual(hot.json);
    const seq = (await invoke(api, "GET", `/v1/dags/${id}/events`)).json.events.find((e: { type: string }) => e.type === "node.waiting").seq;
    const history = await invoke(api, "GET", `/v1/dags/${id}/history?at=${seq}`);
    expect(history.json.nodes.find((n: { id: string }) => n.id === "approve").status).toBe("waiting");

    const redriven = await invoke(api, "POST", `/v1/dags/${id}/redrive`);
    expect(redriven.json).toMatchObject({ status: "running", ready: [] });
    const again = (await invoke(api, "GET", `/v1/dags/${id}`)).json;
    expect(again.nodes[1]).toMatchObject({ status: "waiting", wait: { gen: 3 } });
    expect((await invoke(api, "POST", `/v1/dags/${id}/nodes/approve/signal`, { body: { output: "ok" } })).json.status).toBe("succeeded");
  });
});
