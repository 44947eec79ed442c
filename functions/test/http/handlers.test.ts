import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from "@aws-sdk/client-eventbridge";
import { mockClient } from "aws-sdk-client-mock";
import "aws-sdk-client-mock-vitest/extend";
import { Redis } from "ioredis";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { handler as api } from "../../api.js";
import { configureRuntime, resetRuntime } from "../../config.js";
import { handler as reconcile } from "../../reconcile.js";
import { startRedis, type RedisProcess } from "@weft/test-support";
import { diamond, invoke, KEY_B, uid } from "./harness.js";

const eb = mockClient(EventBridgeClient);
let redis: RedisProcess;
let admin: Redis;

const putEntries = (): PutEventsRequestEntry[] => eb.commandCalls(PutEventsCommand).flatMap((c) => c.args[0].input.Entries ?? []);
const details = () => putEntries().map((e) => ({ type: e.DetailType, ...JSON.parse(e.Detail ?? "{}") }));

beforeAll(async () => {
  redis = await startRedis({ args: ["--enable-debug-command", "local"] });
  admin = new Redis(redis.url);
  await configureRuntime({
    env: { REDIS_URL: redis.url, WEFT_API_KEYS: "key-acme-0123456789:acme,key-globex-9876543210:globex", WEFT_EVENT_BUS: "weft-test-bus" },
  });
});
afterAll(async () => {
  await resetRuntime();
  admin.disconnect();
  await redis.stop();
});
beforeEach(() => {
  eb.reset();
  eb.on(PutEventsCommand).callsFake((input: { Entries?: PutEventsRequestEntry[] }) => ({
    FailedEntryCount: 0,
    Entries: (input.Entries ?? []).map((_, i) => ({ EventId: `e${i}` })),
  }));
});

async function claimOne(dagId: string, agent: string, body: Record<string, unknown> = {}) {
  const r = await invoke(api, "POST", `/v1/agents/${agent}/claim`, { body: { max: 10, workerId: "w1", ...body } });
  expect(r.status).toBe(200);
  const tasks = (r.json.tasks as { dagId: string; nodeId: string; leaseToken: string; attempt: number }[]).filter((t) => t.dagId === dagId);
  return tasks;
}

describe("POST /v1/dags (dispatch)", () => {
  it("answers 201 with the ready roots, then 200 with the same dagId for the same idempotencyKey", async () => {
    const key = uid("idem");
    const spec = { ...diamond("ignored"), id: undefined, idempotencyKey: key };
    const first = await invoke(api, "POST", "/v1/dags", { body: spec });
    expect(first.status).toBe(201);
    expect(first.json).toMatchObject({ status: "running", ready: ["a"], created: true });
    const again = await invoke(api, "POST", "/v1/dags", { body: spec });
    expect(again.status).toBe(200);
    expect(again.json).toMatchObject({ dagId: first.json.dagId, status: "running", created: false });
  });

  it("publishes NodeReady for each root to EventBridge, routable by agent, references only", async () => {
    const id = uid("pub");
    const r = await invoke(api, "POST", "/v1/dags", { body: diamond(id) });
    expect(r.status).toBe(201);
    expect(eb).toHaveReceivedCommandWith(PutEventsCommand, {
      Entries: [expect.objectContaining({ EventBusName: "weft-test-bus", Source: "weft", DetailType: "NodeReady" })],
    });
    expect(details()).toEqual([
      { type: "NodeReady", eventId: expect.any(String), tenant: "acme", dagId: id, nodeId: "a", agent: `${id}-plan`, attempt: 0, at: expect.any(Number) },
    ]);
    // The input ({ topic }) stays in Redis: details carry references, not payloads.
    expect(putEntries()[0]!.Detail).not.toContain("topic");
  });

  it("accepts a base64-encoded body, as API Gateway sends binary-flagged payloads", async () => {
    const r = await invoke(api, "POST", "/v1/dags", { body: diamond(uid("b64")), base64: true });
    expect(r.status).toBe(201);
  });
});

describe("a diamond run over the HTTP handlers", () => {
  it("runs to success through claim, heartbeat and complete, with outputs, events and EventBridge notifications", async () => {
    const id = uid("run");
    expect((await invoke(api, "POST", "/v1/dags", { body: diamond(id) })).status).toBe(201);

    const [a] = await claimOne(id, `${id}-plan`);
    expect(a).toMatchObject({ dagId: id, nodeId: "a", attempt: 1, input: { topic: "weft" } });
    const hb = await invoke(api, "POST", `/v1/dags/${id}/nodes/a/heartbeat`, { body: { leaseToken: a!.leaseToken, leaseMs: 60_000 } });
    expect(hb.status).toBe(200);
    expect(hb.json.leaseExpiresAt).toBeGreaterThan(Date.now() + 50_000);

    const done = await invoke(api, "POST", `/v1/dags/${id}/nodes/a/complete`, { body: { leaseToken: a!.leaseToken, output: { plan: [1, 2] } } });
    expect(done).toMatchObject({ status: 200, json: { duplicate: false, runStatus: "running" } });
    expect([...done.json.ready].sort()).toEqual(["b", "c"]);
    const dup = await invoke(api, "POST", `/v1/dags/${id}/nodes/a/complete`, { body: { leaseToken: a!.leaseToken, output: { plan: [1, 2] } } });
    expect(dup).toMatchObject({ status: 200, json: { duplicate: true, ready: [] } });

    const research = await claimOne(id, `${id}-research`);
    expect(research.map((t) => t.nodeId).sort()).toEqual(["b", "c"]);
    const b = research.find((t) => t.nodeId === "b")!;
    const c = research.find((t) => t.nodeId === "c")!;
    await invoke(api, "POST", `/v1/dags/${id}/nodes/b/complete`, { body: { leaseToken: b.leaseToken, output: "B" } });
    // Completing c also claims the writer's next task in the same round trip.
    const cDone = await invoke(api, "POST", `/v1/dags/${id}/nodes/c/complete`, {
      body: { leaseToken: c.leaseToken, output: "C", claimNext: { agent: `${id}-write`, workerId: "w2" } },
    });
    expect(cDone.json.next).toMatchObject([{ dagId: id, nodeId: "d", attempt: 1 }]);
    const d = cDone.json.next[0];
    const dDone = await invoke(api, "POST", `/v1/dags/${id}/nodes/d/complete`, { body: { leaseToken: d.leaseToken, output: { text: "report" } } });
    expect(dDone.json).toMatchObject({ duplicate: false, runStatus: "succeeded" });

    const run = await invoke(api, "GET", `/v1/dags/${id}`);
    expect(run.status).toBe(200);
    expect(run.json).toMatchObject({ dagId: id, tenant: "acme", status: "succeeded" });
    expect(Object.fromEntries(run.json.nodes.map((n: { id: string; status: string; attempt: number; output: unknown }) => [n.id, [n.status, n.attempt, n.output]]))).toEqual({
      a: ["succeeded", 1, { plan: [1, 2] }],
      b: ["succeeded", 1, "B"],
      c: ["succeeded", 1, "C"],
      d: ["succeeded", 1, { text: "report" }],
    });
    expect(run.json.nodes[0].input).toBeUndefined();
    const withInput = await invoke(api, "GET", `/v1/dags/${id}?include=input`);
    expect(withInput.json.nodes.find((n: { id: string }) => n.id === "a").input).toEqual({ topic: "weft" });

    const seen = details().filter((e) => e.dagId === id);
    expect(seen.map((e) => `${e.type}:${e.nodeId ?? ""}`).sort()).toEqual(
      ["NodeReady:a", "NodeSucceeded:a", "NodeReady:b", "NodeReady:c", "NodeSucceeded:b", "NodeSucceeded:c", "NodeReady:d", "NodeSucceeded:d", "DagSucceeded:"].sort(),
    );
  });

  it("pages the event log from a cursor", async () => {
    const id = uid("events");
    await invoke(api, "POST", "/v1/dags", { body: diamond(id) });
    const [a] = await claimOne(id, `${id}-plan`);
    await invoke(api, "POST", `/v1/dags/${id}/nodes/a/complete`, { body: { leaseToken: a!.leaseToken, output: 1 } });

    const all = await invoke(api, "GET", `/v1/dags/${id}/events`);
    expect(all.status).toBe(200);
    const types = all.json.events.map((e: { type: string }) => e.type);
    expect(types.slice(0, 3)).toEqual(["run.submitted", "node.ready", "node.started"]);
    expect(all.json.cursor).toBe(all.json.events.at(-1).seq);

    const first = await invoke(api, "GET", `/v1/dags/${id}/events?limit=2`);
    expect(first.json.events.map((e: { seq: number }) => e.seq)).toEqual([1, 2]);
    const rest = await invoke(api, "GET", `/v1/dags/${id}/events?after=${first.json.cursor}`);
    expect(rest.json.events.map((e: { type: string }) => e.type)).toEqual(types.slice(2));
    const end = await invoke(api, "GET", `/v1/dags/${id}/events?after=${rest.json.cursor}`);
    expect(end.json).toEqual({ events: [], cursor: rest.json.cursor });
  });

  it("rejects a stale lease with 409 after the node was re-run, and keeps the newer attempt's result", async () => {
    const id = uid("stale");
    const spec = { id, nodes: [{ id: "a", agent: `${id}-ag`, retry: { maxAttempts: 3, backoffMs: 0 } }] };
    await invoke(api, "POST", "/v1/dags", { body: spec });
    const [first] = await claimOne(id, `${id}-ag`, { leaseMs: 1 });
    await new Promise((r) => setTimeout(r, 20));
    // The reconcile cron expires the lease; the node is retried (backoff 0) and claimed again.
    let second: Awaited<ReturnType<typeof claimOne>>[number] | undefined;
    for (let i = 0; i < 20 && !second; i++) {
      await reconcile();
      [second] = await claimOne(id, `${id}-ag`, { leaseMs: 60_000 });
    }
    expect(second).toMatchObject({ nodeId: "a", attempt: 2 });

    const late = await invoke(api, "POST", `/v1/dags/${id}/nodes/a/complete`, { body: { leaseToken: first!.leaseToken, output: "old" } });
    expect(late.status).toBe(409);
    expect(late.json.error).toMatchObject({ code: "conflict" });
    for (const path of ["fail", "heartbeat"]) {
      const r = await invoke(api, "POST", `/v1/dags/${id}/nodes/a/${path}`, { body: { leaseToken: first!.leaseToken, error: { message: "x" } } });
      expect(r.status).toBe(409);
    }
    const ok = await invoke(api, "POST", `/v1/dags/${id}/nodes/a/complete`, { body: { leaseToken: second!.leaseToken, output: "new" } });
    expect(ok.json).toMatchObject({ duplicate: false, runStatus: "succeeded" });
    const run = await invoke(api, "GET", `/v1/dags/${id}`);
    expect(run.json.nodes[0]).toMatchObject({ status: "succeeded", attempt: 2, output: "new" });
  });

  it("claims one given node for push delivery, and answers 409 with the current status when it is not claimable", async () => {
    const id = uid("push");
    await invoke(api, "POST", "/v1/dags", { body: diamond(id) });
    const notReady = await invoke(api, "POST", `/v1/dags/${id}/nodes/d/claim`, { body: {} });
    expect(notReady.status).toBe(409);
    expect(notReady.json.error).toMatchObject({ code: "conflict", details: { current: { status: "pending" } } });
    const got = await invoke(api, "POST", `/v1/dags/${id}/nodes/a/claim`, { body: { leaseMs: 30_000, workerId: "pusher" } });
    expect(got.status).toBe(200);
    expect(got.json.task).toMatchObject({ dagId: id, nodeId: "a", agent: `${id}-plan`, attempt: 1, leaseToken: expect.stringMatching(/^1\./) });
    const twice = await invoke(api, "POST", `/v1/dags/${id}/nodes/a/claim`, { body: {} });
    expect(twice.status).toBe(409);
    expect(twice.json.error.details).toMatchObject({ current: { status: "running", attempt: 1 } });
  });

  it("fails a node that is not retryable, fails the run (fail-fast) and publishes NodeFailed and DagFailed", async () => {
    const id = uid("fail");
    await invoke(api, "POST", "/v1/dags", { body: diamond(id) });
    const [a] = await claimOne(id, `${id}-plan`);
    const r = await invoke(api, "POST", `/v1/dags/${id}/nodes/a/fail`, {
      body: { leaseToken: a!.leaseToken, error: { message: "model refused", kind: "llm" }, retryable: false },
    });
    expect(r).toMatchObject({ status: 200, json: { status: "failed", runStatus: "failed", duplicate: false } });
    const run = await invoke(api, "GET", `/v1/dags/${id}`);
    expect(run.json.nodes.find((n: { id: string }) => n.id === "a")).toMatchObject({ status: "failed", error: { message: "model refused", kind: "llm" } });
    const types = details().filter((e) => e.dagId === id).map((e) => e.type);
    expect(types).toContain("NodeFailed");
    expect(types).toContain("DagFailed");
  });

  it("retries a retryable failure with the node's policy", async () => {
    const id = uid("retry");
    await invoke(api, "POST", "/v1/dags", { body: { id, nodes: [{ id: "a", agent: `${id}-ag`, retry: { maxAttempts: 2, backoffMs: 60_000 } }] } });
    const [a] = await claimOne(id, `${id}-ag`);
    const r = await invoke(api, "POST", `/v1/dags/${id}/nodes/a/fail`, { body: { leaseToken: a!.leaseToken, error: { message: "timeout" } } });
    expect(r.json).toMatchObject({ status: "retrying", runStatus: "running", retryAt: expect.any(Number) });
    // Backoff is jittered, but a 60 s policy never retries within seconds.
    expect(r.json.retryAt).toBeGreaterThan(Date.now() + 20_000);
    const run = await invoke(api, "GET", `/v1/dags/${id}`);
    expect(run.json.nodes[0]).toMatchObject({ status: "retrying", attempt: 1, error: { message: "timeout" } });
  });

  it("cancels a run, and a second cancel changes nothing", async () => {
    const id = uid("cancel");
    await invoke(api, "POST", "/v1/dags", { body: diamond(id) });
    const first = await invoke(api, "POST", `/v1/dags/${id}/cancel`, { body: { reason: "user asked" } });
    expect(first).toMatchObject({ status: 200, json: { status: "cancelled", changed: true } });
    const again = await invoke(api, "POST", `/v1/dags/${id}/cancel`);
    expect(again).toMatchObject({ status: 200, json: { status: "cancelled", changed: false } });
    expect(details().filter((e) => e.dagId === id && e.type === "DagCancelled")).toHaveLength(1);
    const run = await invoke(api, "GET", `/v1/dags/${id}`);
    expect(run.json.nodes.every((n: { status: string }) => n.status === "cancelled")).toBe(true);
  });
});

describe("another tenant", () => {
  it("gets 404 for every route on a run it does not own, and nothing changes", async () => {
    const id = uid("mine");
    await invoke(api, "POST", "/v1/dags", { body: diamond(id) });
    const [a] = await claimOne(id, `${id}-plan`);
    const before = await admin.call("DEBUG", "DIGEST");
    const asB = { key: KEY_B };
    const attempts = [
      await invoke(api, "GET", `/v1/dags/${id}`, asB),
      await invoke(api, "GET", `/v1/dags/${id}/events`, asB),
      await invoke(api, "POST", `/v1/dags/${id}/cancel`, { ...asB, body: {} }),
      await invoke(api, "POST", `/v1/dags/${id}/nodes/b/claim`, { ...asB, body: {} }),
      await invoke(api, "POST", `/v1/dags/${id}/nodes/a/complete`, { ...asB, body: { leaseToken: a!.leaseToken, output: 1 } }),
      await invoke(api, "POST", `/v1/dags/${id}/nodes/a/fail`, { ...asB, body: { leaseToken: a!.leaseToken, error: { message: "x" } } }),
      await invoke(api, "POST", `/v1/dags/${id}/nodes/a/heartbeat`, { ...asB, body: { leaseToken: a!.leaseToken } }),
    ];
    for (const r of attempts) expect(r).toMatchObject({ status: 404, json: { error: { code: "not_found" } } });
    const theirs = await invoke(api, "POST", `/v1/agents/${id}-research/claim`, { ...asB, body: { max: 10 } });
    expect(theirs.json).toEqual({ tasks: [] });
    expect(await admin.call("DEBUG", "DIGEST")).toBe(before);
  });
});

describe("shared state through the state handler", () => {
  it("is mounted behind the same auth: create, compare-and-set, and another tenant does not see it", async () => {
    const key = uid("plan");
    const created = await invoke(api, "PUT", `/v1/state/team/${key}`, { body: { step: 1 }, headers: { "if-none-match": "*" } });
    expect(created.status).toBeLessThan(300);
    const etag = created.headers["etag"] as string;
    expect(etag).toBeTruthy();
    const stale = await invoke(api, "PUT", `/v1/state/team/${key}`, { body: { step: 3 }, headers: { "if-match": '"999"' } });
    expect(stale.status).toBe(409);
    const cas = await invoke(api, "PUT", `/v1/state/team/${key}`, { body: { step: 2 }, headers: { "if-match": etag } });
    expect(cas.status).toBe(200);
    expect((await invoke(api, "GET", `/v1/state/team/${key}`)).json).toEqual({ step: 2 });
    expect((await invoke(api, "GET", `/v1/state/team/${key}`, { key: KEY_B })).status).toBe(404);
    expect((await invoke(api, "GET", `/v1/state/team/${key}`, { key: "" })).status).toBe(401);
  });
});
