import { describe, expect, it } from "vitest";
import { backends } from "@weft/test-support";
import { decodeEvents } from "../../src/engine/codec.js";
import { readEvents } from "../../src/engine/scripts.js";
import { call } from "../../src/redis/contract.js";
import { keySchema } from "@weft/core/redis";
import { allEvents, allOutbox, claimOne, useEngines, type EngineCtx } from "./harness.js";

const chain = {
  onFailure: "fail-fast",
  nodes: [
    { id: "a", agent: "ag", input: { secret: "input-payload" } },
    { id: "b", agent: "bg", deps: ["a"], retry: { maxAttempts: 2, backoffMs: 100 } },
  ],
};

/** a succeeds; b fails once, is retried by reconcile, then succeeds. The clock moves 10 ms per step. */
async function runChain(ctx: EngineCtx) {
  const { engine, tenant, clock } = ctx;
  const t0 = clock.now;
  const { dagId } = await engine.submit(tenant, chain);
  clock.advance(10);
  const a = await claimOne(ctx, dagId, "a", 1000, "w1");
  clock.advance(10);
  await engine.complete(tenant, { dagId, nodeId: "a", leaseToken: a.leaseToken }, { secret: "output-payload" }, { workerId: "w1" });
  clock.advance(10);
  const [b1] = await engine.claim(tenant, "bg", { leaseMs: 1000, workerId: "w2" });
  clock.advance(10);
  const f = await engine.fail(tenant, { dagId, nodeId: "b", leaseToken: b1!.leaseToken }, { message: "flaky" }, { retryable: true, workerId: "w2" });
  clock.now = f.retryAt!;
  await engine.reconcile();
  clock.advance(10);
  const [b2] = await engine.claim(tenant, "bg", { leaseMs: 1000, workerId: "w3" });
  clock.advance(10);
  await engine.complete(tenant, { dagId, nodeId: "b", leaseToken: b2!.leaseToken }, "done", { workerId: "w3" });
  return { dagId, t0, retryAt: f.retryAt! };
}

describe.each(backends)("event log and outbox on %s", (name) => {
  const { fresh } = useEngines(name);

  it("logs every transition in order with node, attempt, actor, time and previous status", async () => {
    const ctx = fresh();
    const { dagId, t0, retryAt } = await runChain(ctx);
    const events = await allEvents(ctx.engine, ctx.tenant, dagId);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    const rows = events.map((e) => [e.type, e.node ?? null, e.attempt ?? null, e.from ?? null, e.actor, e.at]);
    expect(rows).toEqual([
      ["run.submitted", null, null, null, expect.any(String), t0],
      ["node.ready", "a", 0, "pending", expect.any(String), t0],
      ["node.started", "a", 1, "ready", "w1", t0 + 10],
      ["node.succeeded", "a", 1, "running", "w1", t0 + 20],
      ["node.ready", "b", 0, "pending", expect.any(String), t0 + 20],
      ["node.started", "b", 1, "ready", "w2", t0 + 30],
      ["node.retrying", "b", 1, "running", "w2", t0 + 40],
      ["node.ready", "b", 1, "retrying", "reconcile", retryAt],
      ["node.started", "b", 2, "ready", "w3", retryAt + 10],
      ["node.succeeded", "b", 2, "running", "w3", retryAt + 20],
      ["run.succeeded", null, null, null, expect.any(String), retryAt + 20],
    ]);
    for (const e of events) expect(e.actor.length).toBeGreaterThan(0);
    expect(events[0]!.data).toMatchObject({ nodes: 2, onFailure: "fail-fast" });
    expect(events[2]!.data).toEqual({ workerId: "w1", leaseExpiresAt: t0 + 10 + 1000 });
    expect(events[6]!.data).toMatchObject({ retryAt, error: { message: "flaky" } });
    expect(events[10]!.data).toEqual({ counts: { pending: 0, ready: 0, running: 0, succeeded: 2, failed: 0, retrying: 0, skipped: 0, cancelled: 0, waiting: 0 } });
  });

  it("pages through the log with after and limit", async () => {
    const ctx = fresh();
    const { dagId } = await runChain(ctx);
    const page = await ctx.engine.events(ctx.tenant, dagId, { after: 2, limit: 3 });
    expect(page.events.map((e) => e.seq)).toEqual([3, 4, 5]);
    expect(page.cursor).toBe(5);
    const end = await ctx.engine.events(ctx.tenant, dagId, { after: 11 });
    expect(end).toEqual({ events: [], cursor: 11 });
  });

  // One script call writes a run's events as one stream entry (chunks of 500) and its outbox
  // events as entries of up to 100: readers must see single events with contiguous seqs.
  it("numbers events one by one when a call writes many at once, and pages inside an entry", async () => {
    const ctx = fresh();
    const width = 1_203;
    const nodes = [{ id: "root", agent: "ag" }, ...Array.from({ length: width }, (_, i) => ({ id: `m${i}`, agent: "mg", deps: ["root"] }))];
    const { dagId } = await ctx.engine.submit(ctx.tenant, { nodes });
    const root = await claimOne(ctx, dagId, "root");
    const done = await ctx.engine.complete(ctx.tenant, { dagId, nodeId: "root", leaseToken: root.leaseToken }, null);
    expect(done.ready).toHaveLength(width);
    const events = await allEvents(ctx.engine, ctx.tenant, dagId);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.slice(4).map((e) => [e.type, e.node])).toEqual(Array.from({ length: width }, (_, i) => ["node.ready", `m${i}`]));
    // Pages of 7 starting mid-entry: no event twice, none missing.
    const paged: number[] = [];
    let after = 3;
    for (;;) {
      const page = await ctx.engine.events(ctx.tenant, dagId, { after, limit: 7 });
      if (page.events.length === 0) break;
      expect(page.events.length).toBeLessThanOrEqual(7);
      paged.push(...page.events.map((e) => e.seq));
      after = page.cursor;
    }
    expect(paged).toEqual(events.slice(3).map((e) => e.seq));
    const ready = (await allOutbox(ctx.engine)).filter((e) => e.dagId === dagId && e.type === "NodeReady" && e.agent === "mg");
    expect(ready.map((e) => e.nodeId)).toEqual(nodes.slice(1).map((n) => n.id));
    expect(new Set(ready.map((e) => e.id)).size).toBe(width);
  });

  // The script itself, not only the engine's reading of it: a page of `limit` events costs
  // `limit` events of reply, however many events each stream entry holds.
  it("reads at most limit events, not limit entries, cutting entries at the cursor and at the limit", async () => {
    const ctx = fresh();
    const nodes = Array.from({ length: 40 }, (_, i) => ({ id: `r${i}`, agent: "ag" }));
    const { dagId } = await ctx.engine.submit(ctx.tenant, { nodes });
    const task = await claimOne(ctx, dagId, "r0");
    await ctx.engine.complete(ctx.tenant, { dagId, nodeId: "r0", leaseToken: task.leaseToken }, { big: "x" });
    const run = keySchema(ctx.prefix, ctx.shardCount).run(ctx.tenant, dagId);
    const page = (after: number, limit: number) => call(ctx.redis, readEvents, { shard: keySchema(ctx.prefix, ctx.shardCount).shard(run.shard), run }, { tenant: ctx.tenant, dagId, after, limit });
    // Submit wrote 41 events in one entry; the claim and the completion one entry each.
    for (const [after, limit] of [[0, 1], [3, 5], [40, 2], [41, 1], [0, 43], [5, 100]] as const) {
      const entries = await page(after, limit);
      const fields = entries.flatMap(([, f]) => f.filter((_, i) => i % 2 === 0 && f[i] === "e"));
      const seqs = entries.flatMap(decodeEvents).map((e) => e.seq);
      const expected = Array.from({ length: Math.max(0, Math.min(limit, 43 - after)) }, (_, i) => after + 1 + i);
      expect(fields.length, `after ${after}, limit ${limit}`).toBe(expected.length);
      expect(seqs).toEqual(expected);
    }
    // Every cut keeps each event whole (its data with it), as the whole log has it.
    const all = await allEvents(ctx.engine, ctx.tenant, dagId);
    for (let after = 0; after < all.length; after += 4) {
      const got = (await page(after, 3)).flatMap(decodeEvents);
      expect(got).toEqual(all.slice(after, after + 3));
    }
  });

  it("gives every cut of an entry the actors the whole log has: completions named once, the engine's node.ready between them", async () => {
    const ctx = fresh();
    const nodes = [{ id: "p", agent: "ag" }, ...Array.from({ length: 6 }, (_, i) => ({ id: `k${i}`, agent: "ag", deps: [i < 3 ? "p" : `k${i - 3}`] }))];
    const { dagId } = await ctx.engine.submit(ctx.tenant, { nodes });
    const done = async (max: number) => {
      const tasks = await ctx.engine.claim(ctx.tenant, "ag", { max, workerId: "w1" });
      await ctx.engine.completeMany(ctx.tenant, tasks.map((t) => ({ dagId, nodeId: t.nodeId, leaseToken: t.leaseToken, output: null })), { workerId: "w2" });
    };
    await done(1);
    // One entry: C k0, R k3, C k1, R k4, C k2, R k5 (w2 written once, the engine's R without an actor).
    await done(3);
    const run = keySchema(ctx.prefix, ctx.shardCount).run(ctx.tenant, dagId);
    const page = (after: number, limit: number) => call(ctx.redis, readEvents, { shard: keySchema(ctx.prefix, ctx.shardCount).shard(run.shard), run }, { tenant: ctx.tenant, dagId, after, limit });
    const all = await allEvents(ctx.engine, ctx.tenant, dagId);
    expect(all.filter((e) => e.type === "node.succeeded").map((e) => e.actor)).toEqual(["w2", "w2", "w2", "w2"]);
    expect(all.filter((e) => e.type === "node.ready").every((e) => e.actor === "engine" || e.actor === "api")).toBe(true);
    for (let after = 0; after < all.length; after++) {
      for (const limit of [1, 2, 3]) expect((await page(after, limit)).flatMap(decodeEvents), `after ${after}, limit ${limit}`).toEqual(all.slice(after, after + limit));
    }
  });

  it("acks outbox events one by one, keeping the unacked events of a shared entry", async () => {
    const ctx = fresh();
    const { dagId } = await ctx.engine.submit(ctx.tenant, { nodes: ["x", "y", "z"].map((id) => ({ id, agent: "ag" })) });
    const out = (await allOutbox(ctx.engine)).filter((e) => e.dagId === dagId);
    expect(out.map((e) => e.nodeId)).toEqual(["x", "y", "z"]);
    expect(await ctx.engine.ackOutbox([out[0]!, out[2]!])).toBe(2);
    const left = (await allOutbox(ctx.engine)).filter((e) => e.dagId === dagId);
    expect(left.map((e) => e.nodeId)).toEqual(["y"]);
    // Written back whole: its tenant, run and time were the acked event's before (an empty
    // field is the previous event's in an entry), now its own.
    const { id: _old, ...y } = out[1]!;
    const { id: _new, ...back } = left[0]!;
    expect(back).toEqual(y);
    expect(y.tenant).toBe(ctx.tenant);
    expect(await ctx.engine.ackOutbox([out[0]!, out[2]!])).toBe(0);
  });

  it("reads the outbox in whole entries up to the limit, splitting one only when it alone is larger", async () => {
    const ctx = fresh();
    const roots = (n: number) => ({ nodes: Array.from({ length: n }, (_, i) => ({ id: `n${i}`, agent: "ag" })) });
    // One run per shard is not guaranteed: read one shard, the first run's.
    const first = await ctx.engine.submit(ctx.tenant, { id: "whole-1", ...roots(3) });
    const shard = (await allOutbox(ctx.engine)).find((e) => e.dagId === first.dagId)!.shard;
    for (let i = 2; i < 40; i++) await ctx.engine.submit(ctx.tenant, { id: `whole-${i}`, ...roots(3) });
    const page = await ctx.engine.readOutbox({ shard, limit: 4 });
    expect(page.map((e) => e.dagId)).toEqual([first.dagId, first.dagId, first.dagId]);
    expect((await ctx.engine.readOutbox({ shard, limit: 2 })).map((e) => e.nodeId)).toEqual(["n0", "n1"]);
  });

  it("puts references to every ready, succeeded and finished transition in the outbox, never payloads", async () => {
    const ctx = fresh();
    const { dagId, retryAt } = await runChain(ctx);
    const out = (await allOutbox(ctx.engine)).filter((e) => e.dagId === dagId);
    expect(out.map((e) => [e.type, e.nodeId ?? null, e.agent ?? null])).toEqual([
      ["NodeReady", "a", "ag"],
      ["NodeSucceeded", "a", "ag"],
      ["NodeReady", "b", "bg"],
      ["NodeReady", "b", "bg"],
      ["NodeSucceeded", "b", "bg"],
      ["DagSucceeded", null, null],
    ]);
    expect(new Set(out.map((e) => e.shard)).size).toBe(1);
    expect(out[3]).toMatchObject({ tenant: ctx.tenant, attempt: 1, at: retryAt });
    expect(out[4]).toMatchObject({ attempt: 2 });
    const text = JSON.stringify(out);
    expect(text).not.toContain("input-payload");
    expect(text).not.toContain("output-payload");
  });

  it("reports failed nodes and failed and cancelled runs in the outbox", async () => {
    const ctx = fresh();
    const failing = await ctx.engine.submit(ctx.tenant, { nodes: [{ id: "x", agent: "ag" }, { id: "y", agent: "ag", deps: ["x"] }] });
    const x = await claimOne(ctx, failing.dagId, "x");
    await ctx.engine.fail(ctx.tenant, { dagId: failing.dagId, nodeId: "x", leaseToken: x.leaseToken }, { message: "no" }, { retryable: false });
    const cancelled = await ctx.engine.submit(ctx.tenant, { nodes: [{ id: "x", agent: "ag" }] });
    await ctx.engine.cancel(ctx.tenant, cancelled.dagId);
    const out = await allOutbox(ctx.engine);
    const types = (dagId: string) => out.filter((e) => e.dagId === dagId).map((e) => e.type);
    expect(types(failing.dagId)).toEqual(["NodeReady", "NodeFailed", "DagFailed"]);
    expect(out.find((e) => e.type === "NodeFailed")).toMatchObject({ nodeId: "x", attempt: 1, agent: "ag" });
    expect(types(cancelled.dagId)).toEqual(["NodeReady", "DagCancelled"]);
  });

  it("keeps outbox entries until they are acked, per shard", async () => {
    const ctx = fresh();
    for (let i = 0; i < 8; i++) await ctx.engine.submit(ctx.tenant, { id: `r${i}`, nodes: [{ id: "n", agent: "ag" }] });
    const all = await allOutbox(ctx.engine);
    expect(all).toHaveLength(8);
    expect(await allOutbox(ctx.engine)).toEqual(all);
    for (let s = 0; s < ctx.engine.shardCount; s++) {
      const mine = await ctx.engine.readOutbox({ shard: s, limit: 100 });
      expect(mine.every((e) => e.shard === s)).toBe(true);
      expect(mine).toEqual(all.filter((e) => e.shard === s));
    }
    expect(await ctx.engine.readOutbox({ limit: 1 })).not.toHaveLength(0);
    const firstHalf = all.slice(0, 4);
    expect(await ctx.engine.ackOutbox(firstHalf)).toBe(4);
    expect(await allOutbox(ctx.engine)).toEqual(all.slice(4));
    expect(await ctx.engine.ackOutbox(firstHalf)).toBe(0);
    await ctx.engine.ackOutbox(all);
    expect(await allOutbox(ctx.engine)).toEqual([]);
  });
});
