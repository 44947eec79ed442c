import { describe, expect, it } from "vitest";
import { useArchiveServers } from "./servers.js";
import { DynamoColdStore } from "@weft/core/dynamodb";
import { createArchiver } from "@weft/core";
import { createReadThrough } from "@weft/core";
import { ConflictError, NotFoundError, createEngine } from "@weft/core";
import type { Engine, NodeStatus, RunStatus, Task } from "@weft/core";
import { keySchema } from "@weft/core/redis";
import { allEvents, fakeClock, rejection } from "../engine/harness.js";

const TABLE_NAME = "weft-redrive-test";
const SHARDS = 2;
const HOT_TTL = 5000;
const T0 = 1_800_000_000_000;

const servers = useArchiveServers(TABLE_NAME);
let n = 0;

function fresh() {
  n++;
  const clock = fakeClock(T0);
  const prefix = `d${process.pid}x${n}`;
  const engine: Engine = createEngine({ redis: servers.port, shardCount: SHARDS, prefix, clock: () => clock.now });
  const cold = new DynamoColdStore({ client: servers.client, tableName: TABLE_NAME, clock: () => clock.now });
  const archiver = createArchiver({ engine, cold, hotTtlSeconds: HOT_TTL, now: () => clock.now });
  const rt = createReadThrough({ engine, cold });
  return { engine, clock, cold, archiver, rt, prefix, tenant: `tenant-${n}` };
}
type Ctx = ReturnType<typeof fresh>;

const runPrefix = (c: Ctx, dagId: string) => keySchema(c.prefix, SHARDS).run(c.tenant, dagId).key;

/** TTL of the run's meta, order, events and every node hash. */
async function ttls(c: Ctx, dagId: string, ids: string[]): Promise<Record<string, number>> {
  const p = runPrefix(c, dagId);
  const keys = ["meta", "order", "events", ...ids.map((id) => `n:${id}`)];
  return Object.fromEntries(await Promise.all(keys.map(async (k) => [k, await servers.admin.ttl(p + k)] as const)));
}
const every = (ids: string[], v: unknown) => Object.fromEntries(["meta", "order", "events", ...ids.map((id) => `n:${id}`)].map((k) => [k, v]));

/** Flushes the run, then drops its Redis keys: it now lives only in DynamoDB. */
async function makeCold(c: Ctx, dagId: string): Promise<void> {
  expect(await c.archiver.flush(c.tenant, dagId)).toEqual({ flushed: true, released: true });
  const keys: string[] = [];
  for await (const batch of servers.admin.scanStream({ match: `${runPrefix(c, dagId)}*`, count: 1000 })) keys.push(...(batch as string[]));
  await servers.admin.del(...keys);
  expect(await rejection(c.engine.getRun(c.tenant, dagId))).toBeInstanceOf(NotFoundError);
}

/** Claims and completes whatever is ready until the run ends; returns the node ids claimed, in order. */
async function runToEnd(c: Ctx, dagId: string): Promise<string[]> {
  const claimed: string[] = [];
  for (let tasks = await c.engine.claim(c.tenant, "ag", { max: 100 }); tasks.length; tasks = await c.engine.claim(c.tenant, "ag", { max: 100 })) {
    for (const t of tasks) {
      claimed.push(t.nodeId);
      c.clock.advance(5);
      await c.engine.complete(c.tenant, { dagId, nodeId: t.nodeId, leaseToken: t.leaseToken }, { by: t.nodeId, attempt: t.attempt });
    }
  }
  return claimed;
}

const claimAll = async (c: Ctx) => Object.fromEntries((await c.engine.claim(c.tenant, "ag", { max: 100 })).map((t) => [t.nodeId, t])) as Record<string, Task>;

/** a -> {b, c} -> d, and e alone; c fails for good. */
const SPEC = (dagId: string, onFailure: "continue" | "fail-fast") => ({
  id: dagId,
  onFailure,
  nodes: [
    { id: "a", agent: "ag", input: { q: 1 } },
    { id: "b", agent: "ag", deps: ["a"] },
    { id: "c", agent: "ag", deps: ["a"], retry: { maxAttempts: 1, backoffMs: 0 } },
    { id: "d", agent: "ag", deps: ["b", "c"] },
    { id: "e", agent: "ag" },
  ],
});
const IDS = ["a", "b", "c", "d", "e"];

/**
 * Ends the run with some nodes succeeded and the rest failed/skipped/cancelled:
 *   continue  - c fails, b succeeds, d is skipped;
 *   fail-fast - c fails while b runs: b and d are cancelled;
 *   cancelled - an API cancel while b and c run.
 * Returns c's lease token (a stale token after the redrive).
 */
async function brokenRun(c: Ctx, dagId: string, scenario: "continue" | "fail-fast" | "cancelled"): Promise<string> {
  await c.engine.submit(c.tenant, SPEC(dagId, scenario === "continue" ? "continue" : "fail-fast"));
  const roots = await claimAll(c);
  for (const id of ["a", "e"]) await c.engine.complete(c.tenant, { dagId, nodeId: id, leaseToken: roots[id]!.leaseToken }, { by: id });
  const mid = await claimAll(c);
  c.clock.advance(100);
  if (scenario === "cancelled") await c.engine.cancel(c.tenant, dagId, { reason: "user" });
  else if (scenario === "fail-fast") await c.engine.fail(c.tenant, { dagId, nodeId: "c", leaseToken: mid.c!.leaseToken }, { message: "fatal" }, { retryable: false });
  else {
    await c.engine.complete(c.tenant, { dagId, nodeId: "b", leaseToken: mid.b!.leaseToken }, { by: "b" });
    await c.engine.fail(c.tenant, { dagId, nodeId: "c", leaseToken: mid.c!.leaseToken }, { message: "fatal" }, { retryable: false });
  }
  return mid.c!.leaseToken;
}

describe("redrive of a flushed run", () => {
  it.each(["continue", "fail-fast", "cancelled"] as const)(
    "(%s) rehydrates it, re-runs only the failed, cancelled and skipped nodes, and continues the original log",
    async (scenario) => {
      const c = fresh();
      const staleC = await brokenRun(c, "r1", scenario);
      const before = await c.engine.getRun(c.tenant, "r1");
      const expectStatus: RunStatus = scenario === "cancelled" ? "cancelled" : "failed";
      expect(before.status).toBe(expectStatus);
      const done = before.nodes.filter((x) => x.status === "succeeded");
      const redo = before.nodes.filter((x) => x.status !== "succeeded");
      expect(redo.map((x) => x.status).every((s) => ["failed", "cancelled", "skipped"].includes(s))).toBe(true);
      const log = await allEvents(c.engine, c.tenant, "r1");
      await makeCold(c, "r1");

      c.clock.advance(1000);
      const r = await c.rt.redrive(c.tenant, "r1", { actor: "ops" });
      expect(r.status).toBe("running");
      expect([...r.reset].sort()).toEqual(redo.map((x) => x.id).sort());
      expect([...r.ready].sort()).toEqual(redo.filter((x) => x.deps.every((d) => done.some((s) => s.id === d))).map((x) => x.id).sort());
      expect(await ttls(c, "r1", IDS), "a resumed run must not expire").toEqual(every(IDS, -1));
      expect((await c.rt.listRuns(c.tenant)).runs.map((x) => [x.dagId, x.status])).toEqual([["r1", "running"]]);
      // The attempt before the flush is fenced off for good.
      expect(await rejection(c.engine.complete(c.tenant, { dagId: "r1", nodeId: "c", leaseToken: staleC }, { late: true }))).toBeInstanceOf(ConflictError);

      const claimed = await runToEnd(c, "r1");
      expect([...claimed].sort(), "claimed exactly the redriven nodes, once each").toEqual(redo.map((x) => x.id).sort());
      const after = await c.engine.getRun(c.tenant, "r1");
      expect(after.status).toBe("succeeded");
      for (const x of done) expect(after.nodes.find((y) => y.id === x.id), `${x.id} kept`).toEqual(x);
      for (const x of redo) expect(after.nodes.find((y) => y.id === x.id)).toMatchObject({ status: "succeeded", attempt: x.attempt + 1 });

      const log2 = await allEvents(c.engine, c.tenant, "r1");
      expect(log2.slice(0, log.length)).toEqual(log);
      expect(log2.map((e) => e.seq)).toEqual(log2.map((_, i) => i + 1));
      expect(log2[log.length]).toMatchObject({ type: "run.resumed", actor: "ops" });
      const resets = log2.filter((e) => e.type === "node.reset");
      expect(resets.map((e) => [e.node, e.from]).sort()).toEqual(redo.map((x) => [x.id, x.status]).sort());
      const rerun = log2.slice(log.length).filter((e) => e.type === "node.started").map((e) => e.node);
      expect(rerun.filter((id) => done.some((x) => x.id === id))).toEqual([]);

      // A second flush archives the new final state; the keys get their TTL again.
      c.clock.advance(1000);
      expect(await c.archiver.flush(c.tenant, "r1")).toEqual({ flushed: true, released: true });
      const archived = await c.cold.getRun(c.tenant, "r1");
      expect(archived?.snapshot).toEqual(await c.engine.getRun(c.tenant, "r1", { include: { input: true } }));
      expect(archived?.events).toEqual(log2);
      expect(await ttls(c, "r1", IDS)).toEqual(every(IDS, expect.closeTo(HOT_TTL, -1)));
      expect((await c.rt.listRuns(c.tenant)).runs.map((x) => [x.dagId, x.status])).toEqual([["r1", "succeeded"]]);
      await makeCold(c, "r1");
      expect((await c.rt.getRun(c.tenant, "r1")).status).toBe("succeeded");
    },
  );

  it("of a run flushed but still in Redis makes its keys permanent and takes it off the overdue index", async () => {
    const c = fresh();
    await brokenRun(c, "r1", "continue");
    await c.archiver.flush(c.tenant, "r1");
    expect(await ttls(c, "r1", IDS)).toEqual(every(IDS, expect.closeTo(HOT_TTL, -1)));
    await c.rt.redrive(c.tenant, "r1");
    expect(await ttls(c, "r1", IDS)).toEqual(every(IDS, -1));
    c.clock.advance(3_600_000);
    expect(await c.engine.finishedRuns({ olderThan: c.clock.now })).toEqual([]);
    expect(await c.archiver.flush(c.tenant, "r1")).toMatchObject({ flushed: false });
    expect(await runToEnd(c, "r1")).toEqual(["c", "d"]);
    expect(await c.engine.finishedRuns({ olderThan: c.clock.now })).toEqual([{ tenant: c.tenant, dagId: "r1" }]);
  });
});

describe("redrive of a flushed run keeps the engine's bookkeeping", () => {
  it("restarts the retry budget of a redriven node while its attempt numbers keep growing", async () => {
    const c = fresh();
    await c.engine.submit(c.tenant, { id: "r1", nodes: [{ id: "a", agent: "ag", retry: { maxAttempts: 2, backoffMs: 0 } }] });
    const failOnce = async () => {
      const [t] = await c.engine.claim(c.tenant, "ag");
      return { attempt: t!.attempt, result: await c.engine.fail(c.tenant, { dagId: "r1", nodeId: "a", leaseToken: t!.leaseToken }, { message: "flaky" }) };
    };
    expect(await failOnce()).toMatchObject({ attempt: 1, result: { status: "retrying" } });
    expect(await failOnce()).toMatchObject({ attempt: 2, result: { status: "failed", runStatus: "failed" } });
    await makeCold(c, "r1");
    await c.rt.redrive(c.tenant, "r1");
    expect(await failOnce()).toMatchObject({ attempt: 3, result: { status: "retrying" } });
    expect(await failOnce()).toMatchObject({ attempt: 4, result: { status: "failed", runStatus: "failed" } });
  });

  it("a rewind that does not touch the failed node ends the run failed again (failure counters survive the archive)", async () => {
    const c = fresh();
    await brokenRun(c, "r1", "continue"); // c failed, d skipped; a, b, e succeeded
    await makeCold(c, "r1");
    expect(await c.rt.rewind(c.tenant, "r1", "e")).toMatchObject({ reset: ["e"], ready: ["e"] });
    expect(await runToEnd(c, "r1")).toEqual(["e"]);
    const run = await c.engine.getRun(c.tenant, "r1");
    expect(run.status).toBe("failed");
    expect(Object.fromEntries(run.nodes.map((x) => [x.id, x.status]))).toEqual({ a: "succeeded", b: "succeeded", c: "failed", d: "skipped", e: "succeeded" });
  });

  it("two redrives racing on a cold run: one wins, the other is a ConflictError", async () => {
    const c = fresh();
    await brokenRun(c, "r1", "fail-fast");
    await makeCold(c, "r1");
    const results = await Promise.allSettled([c.rt.redrive(c.tenant, "r1"), c.rt.redrive(c.tenant, "r1")]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const lost = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
    expect(lost.reason).toBeInstanceOf(ConflictError);
    const log = await allEvents(c.engine, c.tenant, "r1");
    expect(log.filter((e) => e.type === "run.resumed")).toHaveLength(1);
    expect(log.map((e) => e.seq)).toEqual(log.map((_, i) => i + 1));
    expect(await runToEnd(c, "r1")).toHaveLength(3);
  });
});

describe("rewind of a flushed run", () => {
  it("resets the node and its descendants only, and runs again from there", async () => {
    const c = fresh();
    const ids = ["a", "b", "c", "x", "y"];
    await c.engine.submit(c.tenant, {
      id: "r1",
      nodes: [
        { id: "a", agent: "ag" },
        { id: "b", agent: "ag", deps: ["a"] },
        { id: "c", agent: "ag", deps: ["b"] },
        { id: "x", agent: "ag", deps: ["a"] },
        { id: "y", agent: "ag", deps: ["x"] },
      ],
    });
    await runToEnd(c, "r1");
    const before = await c.engine.getRun(c.tenant, "r1");
    expect(before.status).toBe("succeeded");
    const log = await allEvents(c.engine, c.tenant, "r1");
    await makeCold(c, "r1");

    expect(await c.rt.rewind(c.tenant, "r1", "b")).toEqual({ status: "running", reset: ["b", "c"], ready: ["b"] });
    expect(await ttls(c, "r1", ids)).toEqual(every(ids, -1));
    expect(await runToEnd(c, "r1")).toEqual(["b", "c"]);
    const after = await c.engine.getRun(c.tenant, "r1");
    expect(after.status).toBe("succeeded");
    for (const id of ["a", "x", "y"]) expect(after.nodes.find((x) => x.id === id)).toEqual(before.nodes.find((x) => x.id === id));
    for (const id of ["b", "c"]) expect(after.nodes.find((x) => x.id === id)).toMatchObject({ attempt: 2, output: { by: id, attempt: 2 } });
    const log2 = await allEvents(c.engine, c.tenant, "r1");
    expect(log2.slice(0, log.length)).toEqual(log);
    expect(log2.map((e) => e.seq)).toEqual(log2.map((_, i) => i + 1));
    expect(log2.slice(log.length).filter((e) => e.type === "node.reset").map((e) => e.node)).toEqual(["b", "c"]);
  });

  it("of a node the run does not have is NotFound, cold or hot", async () => {
    const c = fresh();
    await c.engine.submit(c.tenant, { id: "r1", nodes: [{ id: "a", agent: "ag" }] });
    await runToEnd(c, "r1");
    await makeCold(c, "r1");
    expect(await rejection(c.rt.rewind(c.tenant, "r1", "nope"))).toBeInstanceOf(NotFoundError);
    expect(await rejection(c.rt.rewind(c.tenant, "nope", "a"))).toBeInstanceOf(NotFoundError);
  });
});

describe("redrive conflicts", () => {
  it("of a running run is a ConflictError and changes nothing", async () => {
    const c = fresh();
    await c.engine.submit(c.tenant, SPEC("r1", "continue"));
    const log = await allEvents(c.engine, c.tenant, "r1");
    const err = await rejection(c.rt.redrive(c.tenant, "r1"));
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as ConflictError).details).toMatchObject({ current: { status: "running" } });
    expect(await allEvents(c.engine, c.tenant, "r1")).toEqual(log);
  });

  it("of a run with nothing to redrive is a ConflictError, hot and cold, and changes nothing", async () => {
    const c = fresh();
    await c.engine.submit(c.tenant, SPEC("r1", "continue"));
    await runToEnd(c, "r1");
    const statuses = (await c.engine.getRun(c.tenant, "r1")).nodes.map((x) => x.status);
    expect(statuses).toEqual(Array<NodeStatus>(5).fill("succeeded"));
    const log = await allEvents(c.engine, c.tenant, "r1");
    expect(await rejection(c.rt.redrive(c.tenant, "r1"))).toBeInstanceOf(ConflictError);
    expect(await allEvents(c.engine, c.tenant, "r1")).toEqual(log);

    await makeCold(c, "r1");
    const archived = await c.cold.getRun(c.tenant, "r1");
    expect(await rejection(c.rt.redrive(c.tenant, "r1"))).toBeInstanceOf(ConflictError);
    expect(await c.cold.getRun(c.tenant, "r1")).toEqual(archived);
    const back = await c.rt.events(c.tenant, "r1", { limit: 1000 });
    expect(back.events).toEqual(log);
    expect((await c.rt.getRun(c.tenant, "r1")).status).toBe("succeeded");
  });
});
