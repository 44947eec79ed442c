import { describe, expect, it } from "vitest";
import { ConflictError } from "@weft/core";
import { backends } from "@weft/test-support";
import {
  allEvents,
  claimOne,
  expectRejectedUnchanged,
  node,
  rejection,
  snapshot,
  statuses,
  terminalEvents,
  useEngines,
  type EngineCtx,
} from "./harness.js";

const boom = { message: "boom" };

/** Backoff before retry n+1 after failed attempt n: exponential, capped, with jitter in [half, full]. */
function expectBackoff(delay: number, attempt: number, policy: { backoffMs: number; maxBackoffMs: number }) {
  const base = Math.min(policy.backoffMs * 2 ** (attempt - 1), policy.maxBackoffMs);
  expect(delay).toBeGreaterThanOrEqual(Math.floor(base / 2));
  expect(delay).toBeLessThanOrEqual(base);
}

async function failAndRetryUntilReady(ctx: EngineCtx, dagId: string, retryAt: number) {
  ctx.clock.now = retryAt - 1;
  await ctx.engine.reconcile();
  expect(node(await ctx.engine.getRun(ctx.tenant, dagId), "a").status).toBe("retrying");
  expect(await ctx.engine.claim(ctx.tenant, "ag", { max: 5 })).toEqual([]);
  ctx.clock.now = retryAt;
  expect((await ctx.engine.reconcile()).retriesDue).toBe(1);
  expect(node(await ctx.engine.getRun(ctx.tenant, dagId), "a").status).toBe("ready");
}

describe.each(backends)("fail on %s", (name) => {
  const { fresh } = useEngines(name);

  it("retries with capped exponential backoff and jitter until maxAttempts, then fails", async () => {
    const ctx = fresh();
    const policy = { maxAttempts: 4, backoffMs: 1000, maxBackoffMs: 3000 };
    const { dagId } = await ctx.engine.submit(ctx.tenant, { nodes: [{ id: "a", agent: "ag", retry: policy }] });
    for (let attempt = 1; attempt <= 3; attempt++) {
      const t = await claimOne(ctx, dagId, "a");
      expect(t.attempt).toBe(attempt);
      const r = await ctx.engine.fail(ctx.tenant, { dagId, nodeId: "a", leaseToken: t.leaseToken }, { message: `boom ${attempt}` });
      expect(r).toMatchObject({ status: "retrying", runStatus: "running", duplicate: false });
      expectBackoff(r.retryAt! - ctx.clock.now, attempt, policy);
      const n = node(await ctx.engine.getRun(ctx.tenant, dagId), "a");
      expect(n).toMatchObject({ status: "retrying", attempt, error: { message: `boom ${attempt}` } });
      const ev = (await allEvents(ctx.engine, ctx.tenant, dagId)).at(-1);
      expect(ev).toMatchObject({ type: "node.retrying", node: "a", attempt, from: "running", data: { retryAt: r.retryAt } });
      await failAndRetryUntilReady(ctx, dagId, r.retryAt!);
    }
    const last = await claimOne(ctx, dagId, "a");
    expect(last.attempt).toBe(4);
    const r = await ctx.engine.fail(ctx.tenant, { dagId, nodeId: "a", leaseToken: last.leaseToken }, boom);
    expect(r).toMatchObject({ status: "failed", runStatus: "failed" });
    expect(r.retryAt).toBeUndefined();
    const run = await ctx.engine.getRun(ctx.tenant, dagId);
    expect(run.status).toBe("failed");
    expect(node(run, "a")).toMatchObject({ status: "failed", attempt: 4, error: boom });
  });

  it("hands a due retry to the next claim even before reconcile runs", async () => {
    const ctx = fresh();
    const { dagId } = await ctx.engine.submit(ctx.tenant, { nodes: [{ id: "a", agent: "ag", retry: { maxAttempts: 2, backoffMs: 1000 } }] });
    const t = await claimOne(ctx, dagId, "a");
    const r = await ctx.engine.fail(ctx.tenant, { dagId, nodeId: "a", leaseToken: t.leaseToken }, boom);
    ctx.clock.now = r.retryAt! - 1;
    expect(await ctx.engine.claim(ctx.tenant, "ag")).toEqual([]);
    ctx.clock.now = r.retryAt!;
    const [again] = await ctx.engine.claim(ctx.tenant, "ag");
    expect(again).toMatchObject({ nodeId: "a", attempt: 2 });
  });

  it("spreads retries of simultaneous failures with jitter", async () => {
    const ctx = fresh();
    const nodes = Array.from({ length: 20 }, (_, i) => ({ id: `n${i}`, agent: "ag", retry: { maxAttempts: 2, backoffMs: 10_000 } }));
    const { dagId } = await ctx.engine.submit(ctx.tenant, { nodes });
    const tasks = await ctx.engine.claim(ctx.tenant, "ag", { max: 20, leaseMs: 60_000 });
    const retryAts = await Promise.all(tasks.map(async (t) => (await ctx.engine.fail(ctx.tenant, { dagId, nodeId: t.nodeId, leaseToken: t.leaseToken }, boom)).retryAt));
    expect(new Set(retryAts).size).toBeGreaterThan(1);
  });

  it("fails the node at once on a non-retryable failure, even with attempts left", async () => {
    const ctx = fresh();
    const { dagId } = await ctx.engine.submit(ctx.tenant, { nodes: [{ id: "a", agent: "ag", retry: { maxAttempts: 5, backoffMs: 10 } }] });
    const t = await claimOne(ctx, dagId, "a");
    expect(await ctx.engine.fail(ctx.tenant, { dagId, nodeId: "a", leaseToken: t.leaseToken }, boom, { retryable: false })).toMatchObject({ status: "failed", runStatus: "failed" });
    expect(node(await ctx.engine.getRun(ctx.tenant, dagId), "a")).toMatchObject({ status: "failed", attempt: 1 });
  });

  it("on fail-fast cancels every open node, fails the run, and rejects later reports", async () => {
    const ctx = fresh();
    const spec = {
      onFailure: "fail-fast",
      nodes: [
        { id: "a", agent: "ag" },
        { id: "b", agent: "ag" },
        { id: "r", agent: "ag" },
        { id: "c", agent: "ag", deps: ["a"] },
        { id: "e", agent: "ag", deps: ["b"] },
      ],
    };
    const { dagId } = await ctx.engine.submit(ctx.tenant, spec);
    const a = await claimOne(ctx, dagId, "a");
    const b = await claimOne(ctx, dagId, "b");
    const r = await ctx.engine.fail(ctx.tenant, { dagId, nodeId: "a", leaseToken: a.leaseToken }, boom, { retryable: false });
    expect(r).toMatchObject({ status: "failed", runStatus: "failed" });
    const run = await ctx.engine.getRun(ctx.tenant, dagId);
    expect(run.status).toBe("failed");
    expect(statuses(run)).toEqual({ a: "failed", b: "cancelled", r: "cancelled", c: "cancelled", e: "cancelled" });
    expect(run.counts).toMatchObject({ failed: 1, cancelled: 4, running: 0, ready: 0, pending: 0 });
    await expectRejectedUnchanged(ctx, dagId, () => ctx.engine.complete(ctx.tenant, { dagId, nodeId: "b", leaseToken: b.leaseToken }, 1), ConflictError);
    expect(await ctx.engine.claim(ctx.tenant, "ag", { max: 10 })).toEqual([]);
    const events = await allEvents(ctx.engine, ctx.tenant, dagId);
    expect(terminalEvents(events).map((e) => e.type)).toEqual(["run.failed"]);
    const cancelled = events.filter((e) => e.type === "node.cancelled");
    expect(cancelled.map((e) => e.node).sort()).toEqual(["b", "c", "e", "r"]);
    expect(cancelled.find((e) => e.node === "b")).toMatchObject({ from: "running", attempt: 1 });
  });

  it("on continue skips only the failed node's descendants and lets independent branches finish", async () => {
    const ctx = fresh();
    const spec = {
      onFailure: "continue",
      nodes: [
        { id: "a", agent: "ag" },
        { id: "c", agent: "ag", deps: ["a"] },
        { id: "d", agent: "ag", deps: ["c"] },
        { id: "x", agent: "ag" },
        { id: "z", agent: "ag", deps: ["x", "a"] },
        { id: "b", agent: "ag" },
        { id: "e", agent: "ag", deps: ["b"] },
      ],
    };
    const { dagId } = await ctx.engine.submit(ctx.tenant, spec);
    const a = await claimOne(ctx, dagId, "a");
    const x = await claimOne(ctx, dagId, "x");
    expect(await ctx.engine.fail(ctx.tenant, { dagId, nodeId: "a", leaseToken: a.leaseToken }, boom, { retryable: false })).toMatchObject({ status: "failed", runStatus: "running" });
    let run = await ctx.engine.getRun(ctx.tenant, dagId);
    expect(statuses(run)).toEqual({ a: "failed", c: "skipped", d: "skipped", z: "skipped", x: "running", b: "ready", e: "pending" });
    const skipped = (await allEvents(ctx.engine, ctx.tenant, dagId)).filter((e) => e.type === "node.skipped");
    expect(skipped.map((e) => [e.node, e.data?.cause]).sort()).toEqual([["c", "a"], ["d", "a"], ["z", "a"]]);

    expect(await ctx.engine.complete(ctx.tenant, { dagId, nodeId: "x", leaseToken: x.leaseToken }, 1)).toMatchObject({ ready: [], runStatus: "running" });
    const b = await claimOne(ctx, dagId, "b");
    expect(await ctx.engine.complete(ctx.tenant, { dagId, nodeId: "b", leaseToken: b.leaseToken }, 1)).toMatchObject({ ready: ["e"], runStatus: "running" });
    const e = await claimOne(ctx, dagId, "e");
    expect(await ctx.engine.complete(ctx.tenant, { dagId, nodeId: "e", leaseToken: e.leaseToken }, 1)).toMatchObject({ runStatus: "failed" });
    run = await ctx.engine.getRun(ctx.tenant, dagId);
    expect(run.status).toBe("failed");
    expect(run.counts).toEqual({ pending: 0, ready: 0, running: 0, succeeded: 3, failed: 1, retrying: 0, skipped: 3, cancelled: 0, waiting: 0 });
  });

  it("rejects a failure reported with a stale token and changes nothing", async () => {
    const ctx = fresh();
    const { dagId } = await ctx.engine.submit(ctx.tenant, { nodes: [{ id: "a", agent: "ag", retry: { maxAttempts: 3, backoffMs: 0 } }] });
    const first = await claimOne(ctx, dagId, "a");
    await ctx.engine.fail(ctx.tenant, { dagId, nodeId: "a", leaseToken: first.leaseToken }, boom);
    await ctx.engine.reconcile();
    const second = await claimOne(ctx, dagId, "a");
    expect(second.attempt).toBe(2);
    await expectRejectedUnchanged(ctx, dagId, () => ctx.engine.fail(ctx.tenant, { dagId, nodeId: "a", leaseToken: first.leaseToken }, boom), ConflictError);
  });

  it("changes nothing when the same failure is reported twice", async () => {
    const ctx = fresh();
    const { dagId } = await ctx.engine.submit(ctx.tenant, { nodes: [{ id: "a", agent: "ag", retry: { maxAttempts: 3, backoffMs: 5000 } }] });
    const t = await claimOne(ctx, dagId, "a");
    await ctx.engine.fail(ctx.tenant, { dagId, nodeId: "a", leaseToken: t.leaseToken }, boom);
    const before = await snapshot(ctx, dagId);
    let second: unknown;
    try {
      second = await ctx.engine.fail(ctx.tenant, { dagId, nodeId: "a", leaseToken: t.leaseToken }, boom);
    } catch (err) {
      second = err;
    }
    // Either answer is honest: "duplicate" or a conflict; a second retry scheduled is not.
    if (second instanceof Error) expect(second).toBeInstanceOf(ConflictError);
    else expect(second).toMatchObject({ duplicate: true });
    expect(await snapshot(ctx, dagId)).toEqual(before);
  });

  it("rejects a late report from a worker whose lease expired and was reclaimed by reconcile", async () => {
    const ctx = fresh();
    const { dagId } = await ctx.engine.submit(ctx.tenant, { nodes: [{ id: "a", agent: "ag", retry: { maxAttempts: 3, backoffMs: 5000 } }] });
    const lost = await ctx.engine.claim(ctx.tenant, "ag", { leaseMs: 1000 });
    ctx.clock.now += 1000;
    expect((await ctx.engine.reconcile()).expiredLeases).toBe(1);
    expect(node(await ctx.engine.getRun(ctx.tenant, dagId), "a").status).toBe("retrying");
    const token = lost[0]!.leaseToken;
    await expectRejectedUnchanged(ctx, dagId, () => ctx.engine.fail(ctx.tenant, { dagId, nodeId: "a", leaseToken: token }, boom, { retryable: false }), ConflictError);
    await expectRejectedUnchanged(ctx, dagId, () => ctx.engine.complete(ctx.tenant, { dagId, nodeId: "a", leaseToken: token }, 1), ConflictError);
    await expectRejectedUnchanged(ctx, dagId, () => ctx.engine.heartbeat(ctx.tenant, { dagId, nodeId: "a", leaseToken: token }, 1000), ConflictError);
  });

  it("rejects a failure report for a node that is not running", async () => {
    const ctx = fresh();
    const { dagId } = await ctx.engine.submit(ctx.tenant, { nodes: [{ id: "a", agent: "ag" }, { id: "b", agent: "ag", deps: ["a"] }] });
    await expectRejectedUnchanged(ctx, dagId, () => ctx.engine.fail(ctx.tenant, { dagId, nodeId: "b", leaseToken: "1.AAAAAAAAAAAAAAAAAAAA" }, boom), ConflictError);
    const a = await claimOne(ctx, dagId, "a");
    await ctx.engine.complete(ctx.tenant, { dagId, nodeId: "a", leaseToken: a.leaseToken }, 1);
    const err = await rejection(ctx.engine.fail(ctx.tenant, { dagId, nodeId: "a", leaseToken: a.leaseToken }, boom));
    expect(err).toBeInstanceOf(ConflictError);
    expect(node(await ctx.engine.getRun(ctx.tenant, dagId), "a").status).toBe("succeeded");
  });
});
