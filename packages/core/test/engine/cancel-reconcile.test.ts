import { describe, expect, it } from "vitest";
import { ConflictError } from "@weft/core";
import { backends } from "@weft/test-support";
import {
  allEvents,
  allOutbox,
  claimOne,
  diamond,
  expectRejectedUnchanged,
  node,
  snapshot,
  statuses,
  terminalEvents,
  useEngines,
} from "./harness.js";

describe.each(backends)("cancel, reconcile and the run's end on %s", (name) => {
  const { fresh, backend } = useEngines(name);

  describe("cancel", () => {
    it("cancels every non-terminal node, keeps finished ones, and rejects later completions", async () => {
      const ctx = fresh();
      const { dagId } = await ctx.engine.submit(ctx.tenant, diamond());
      const a = await claimOne(ctx, dagId, "a");
      await ctx.engine.complete(ctx.tenant, { dagId, nodeId: "a", leaseToken: a.leaseToken }, 1);
      const b = await claimOne(ctx, dagId, "b");
      ctx.clock.advance(5);
      expect(await ctx.engine.cancel(ctx.tenant, dagId, { reason: "user asked", actor: "u1" })).toEqual({ status: "cancelled", changed: true });
      const run = await ctx.engine.getRun(ctx.tenant, dagId);
      expect(run.status).toBe("cancelled");
      expect(run.finishedAt).toBe(ctx.clock.now);
      expect(statuses(run)).toEqual({ a: "succeeded", b: "cancelled", c: "cancelled", d: "cancelled" });
      expect(run.counts).toMatchObject({ succeeded: 1, cancelled: 3, running: 0, ready: 0, pending: 0 });
      const cancelled = (await allEvents(ctx.engine, ctx.tenant, dagId)).filter((e) => e.type === "node.cancelled");
      expect(cancelled.map((e) => [e.node, e.from]).sort()).toEqual([["b", "running"], ["c", "ready"], ["d", "pending"]]);
      for (const e of cancelled) expect(e).toMatchObject({ actor: "u1", at: ctx.clock.now, data: { reason: "user asked" } });
      await expectRejectedUnchanged(ctx, dagId, () => ctx.engine.complete(ctx.tenant, { dagId, nodeId: "b", leaseToken: b.leaseToken }, 1), ConflictError);
      await expectRejectedUnchanged(ctx, dagId, () => ctx.engine.heartbeat(ctx.tenant, { dagId, nodeId: "b", leaseToken: b.leaseToken }, 1000), ConflictError);
      expect(await ctx.engine.claim(ctx.tenant, "ag", { max: 10 })).toEqual([]);
    });

    it("changes nothing when cancelled twice", async () => {
      const ctx = fresh();
      const { dagId } = await ctx.engine.submit(ctx.tenant, diamond());
      await ctx.engine.cancel(ctx.tenant, dagId);
      const before = await snapshot(ctx, dagId);
      expect(await ctx.engine.cancel(ctx.tenant, dagId)).toEqual({ status: "cancelled", changed: false });
      expect(await snapshot(ctx, dagId)).toEqual(before);
    });

    it("leaves a finished run as it ended", async () => {
      const ctx = fresh();
      const { dagId } = await ctx.engine.submit(ctx.tenant, { nodes: [{ id: "a", agent: "ag" }] });
      const a = await claimOne(ctx, dagId, "a");
      await ctx.engine.complete(ctx.tenant, { dagId, nodeId: "a", leaseToken: a.leaseToken }, 1);
      const before = await snapshot(ctx, dagId);
      expect(await ctx.engine.cancel(ctx.tenant, dagId)).toEqual({ status: "succeeded", changed: false });
      expect(await snapshot(ctx, dagId)).toEqual(before);
    });

    it("cancels a retrying node so that its due retry never makes it ready", async () => {
      const ctx = fresh();
      const { dagId } = await ctx.engine.submit(ctx.tenant, { nodes: [{ id: "a", agent: "ag", retry: { maxAttempts: 3, backoffMs: 1000 } }] });
      const a = await claimOne(ctx, dagId, "a");
      await ctx.engine.fail(ctx.tenant, { dagId, nodeId: "a", leaseToken: a.leaseToken }, { message: "x" });
      await ctx.engine.cancel(ctx.tenant, dagId);
      ctx.clock.advance(10_000);
      await ctx.engine.reconcile();
      expect(node(await ctx.engine.getRun(ctx.tenant, dagId), "a").status).toBe("cancelled");
      expect(await ctx.engine.claim(ctx.tenant, "ag")).toEqual([]);
    });
  });

  describe("reconcile", () => {
    it("leaves live leases alone and retries an expired one, then rejects the old token", async () => {
      const ctx = fresh();
      const { dagId } = await ctx.engine.submit(ctx.tenant, { nodes: [{ id: "a", agent: "ag", retry: { maxAttempts: 2, backoffMs: 400 } }] });
      const a = await claimOne(ctx, dagId, "a", 1000);
      ctx.clock.advance(999);
      expect(await ctx.engine.reconcile()).toEqual({ expiredLeases: 0, retriesDue: 0, waitsDue: 0, shards: backend().shardCount });
      ctx.clock.advance(1);
      expect((await ctx.engine.reconcile()).expiredLeases).toBe(1);
      const n = node(await ctx.engine.getRun(ctx.tenant, dagId), "a");
      expect(n.status).toBe("retrying");
      const ev = (await allEvents(ctx.engine, ctx.tenant, dagId)).at(-1);
      expect(ev).toMatchObject({ type: "node.retrying", node: "a", attempt: 1, actor: "reconcile", from: "running", at: ctx.clock.now });
      await expectRejectedUnchanged(ctx, dagId, () => ctx.engine.complete(ctx.tenant, { dagId, nodeId: "a", leaseToken: a.leaseToken }, 1), ConflictError);
      ctx.clock.advance(400);
      expect((await ctx.engine.reconcile()).retriesDue).toBe(1);
      expect(node(await ctx.engine.getRun(ctx.tenant, dagId), "a").status).toBe("ready");
    });

    it("fails a node whose lease expires on its last attempt, and fails the run", async () => {
      const ctx = fresh();
      const { dagId } = await ctx.engine.submit(ctx.tenant, {
        nodes: [{ id: "a", agent: "ag", retry: { maxAttempts: 1, backoffMs: 0 } }, { id: "b", agent: "ag", deps: ["a"] }],
      });
      await claimOne(ctx, dagId, "a", 1000);
      ctx.clock.advance(1000);
      expect((await ctx.engine.reconcile()).expiredLeases).toBe(1);
      const run = await ctx.engine.getRun(ctx.tenant, dagId);
      expect(statuses(run)).toEqual({ a: "failed", b: "cancelled" });
      expect(run.status).toBe("failed");
    });

    it("handles more expired leases than its per-call limit", async () => {
      const ctx = fresh();
      const nodes = Array.from({ length: 7 }, (_, i) => ({ id: `n${i}`, agent: "ag", retry: { maxAttempts: 2, backoffMs: 100 } }));
      const { dagId } = await ctx.engine.submit(ctx.tenant, { nodes });
      expect(await ctx.engine.claim(ctx.tenant, "ag", { max: 7, leaseMs: 50 })).toHaveLength(7);
      ctx.clock.advance(50);
      expect((await ctx.engine.reconcile({ limit: 2 })).expiredLeases).toBe(7);
      ctx.clock.advance(100);
      expect((await ctx.engine.reconcile({ limit: 2 })).retriesDue).toBe(7);
      expect((await ctx.engine.getRun(ctx.tenant, dagId)).counts.ready).toBe(7);
    });
  });

  describe("the run's end", () => {
    it("is reached exactly once, with per-status counts, whatever arrives afterwards", async () => {
      const ctx = fresh();
      const { dagId } = await ctx.engine.submit(ctx.tenant, diamond({ onFailure: "continue" }));
      const a = await claimOne(ctx, dagId, "a");
      await ctx.engine.complete(ctx.tenant, { dagId, nodeId: "a", leaseToken: a.leaseToken }, 1);
      const b = await claimOne(ctx, dagId, "b");
      const c = await claimOne(ctx, dagId, "c");
      await ctx.engine.complete(ctx.tenant, { dagId, nodeId: "b", leaseToken: b.leaseToken }, 1);
      const r = await ctx.engine.fail(ctx.tenant, { dagId, nodeId: "c", leaseToken: c.leaseToken }, { message: "no" }, { retryable: false });
      expect(r.runStatus).toBe("failed");
      // Late and repeated reports, a cancel and a reconcile after the end.
      await ctx.engine.complete(ctx.tenant, { dagId, nodeId: "b", leaseToken: b.leaseToken }, 1);
      await ctx.engine.fail(ctx.tenant, { dagId, nodeId: "c", leaseToken: c.leaseToken }, { message: "no" }, { retryable: false }).catch(() => undefined);
      await ctx.engine.cancel(ctx.tenant, dagId);
      ctx.clock.advance(1_000_000);
      await ctx.engine.reconcile();

      const run = await ctx.engine.getRun(ctx.tenant, dagId);
      expect(run.status).toBe("failed");
      expect(run.counts).toEqual({ pending: 0, ready: 0, running: 0, succeeded: 2, failed: 1, retrying: 0, skipped: 1, cancelled: 0, waiting: 0 });
      const events = await allEvents(ctx.engine, ctx.tenant, dagId);
      const ends = terminalEvents(events);
      expect(ends).toHaveLength(1);
      expect(ends[0]).toMatchObject({ type: "run.failed", data: { counts: run.counts } });
      expect(events.at(-1)).toEqual(ends[0]);
      const dagEvents = (await allOutbox(ctx.engine)).filter((e) => e.type.startsWith("Dag"));
      expect(dagEvents.map((e) => [e.type, e.dagId])).toEqual([["DagFailed", dagId]]);
    });

    it("lists a running and a finished run with the counts their nodes have", async () => {
      const ctx = fresh();
      const running = await ctx.engine.submit(ctx.tenant, diamond());
      const a = await claimOne(ctx, running.dagId, "a");
      await ctx.engine.complete(ctx.tenant, { dagId: running.dagId, nodeId: "a", leaseToken: a.leaseToken }, 1);
      const ended = await ctx.engine.submit(ctx.tenant, diamond({ onFailure: "continue" }));
      const a2 = await claimOne(ctx, ended.dagId, "a");
      await ctx.engine.fail(ctx.tenant, { dagId: ended.dagId, nodeId: "a", leaseToken: a2.leaseToken }, { message: "no" }, { retryable: false });
      const listed = Object.fromEntries((await ctx.engine.listHotRuns(ctx.tenant, { limit: 10 })).map((r) => [r.dagId, r.counts]));
      for (const dagId of [running.dagId, ended.dagId]) expect(listed[dagId]).toEqual((await ctx.engine.getRun(ctx.tenant, dagId)).counts);
      expect(listed[running.dagId]).toMatchObject({ succeeded: 1, ready: 2, pending: 1 });
      expect(listed[ended.dagId]).toMatchObject({ failed: 1, skipped: 3, succeeded: 0 });
    });

    it("is cancelled, not failed, when a cancel ends it", async () => {
      const ctx = fresh();
      const { dagId } = await ctx.engine.submit(ctx.tenant, diamond());
      await ctx.engine.cancel(ctx.tenant, dagId);
      const ends = terminalEvents(await allEvents(ctx.engine, ctx.tenant, dagId));
      expect(ends).toHaveLength(1);
      expect(ends[0]).toMatchObject({ type: "run.cancelled", data: { counts: { cancelled: 4 } } });
    });
  });
});
