import { describe, expect, it } from "vitest";
import { ID_RULE, LEASE_TOKEN_RULE, LIMITS } from "@weft/core/checks";
import { ConflictError, NotFoundError, SchemaError, ValidationError } from "@weft/core";
import { backends } from "@weft/test-support";
import { allEvents, allOutbox, diamond, expectRejectedUnchanged, node, rejection, snapshot, statuses, useEngines } from "./harness.js";

const TOKEN = /^(\d+)\.([A-Za-z0-9_-]{16,})$/;

describe.each(backends)("submit, claim and heartbeat on %s", (name) => {
  const { fresh } = useEngines(name);

  describe("submit", () => {
    it("makes the roots ready and leaves every other node pending", async () => {
      const ctx = fresh();
      const r = await ctx.engine.submit(ctx.tenant, diamond());
      expect(r).toMatchObject({ status: "running", ready: ["a"], created: true });
      const run = await ctx.engine.getRun(ctx.tenant, r.dagId);
      expect(run.status).toBe("running");
      expect(run.tenant).toBe(ctx.tenant);
      expect(run.createdAt).toBe(ctx.clock.now);
      expect(statuses(run)).toEqual({ a: "ready", b: "pending", c: "pending", d: "pending" });
      expect(run.counts).toEqual({ pending: 3, ready: 1, running: 0, succeeded: 0, failed: 0, retrying: 0, skipped: 0, cancelled: 0, waiting: 0 });
    });

    it("uses an explicit id as the dagId", async () => {
      const ctx = fresh();
      const r = await ctx.engine.submit(ctx.tenant, { ...diamond(), id: "run-7" });
      expect(r.dagId).toBe("run-7");
      expect((await ctx.engine.getRun(ctx.tenant, "run-7")).dagId).toBe("run-7");
    });

    it("returns the same run for the same idempotencyKey and changes nothing", async () => {
      const ctx = fresh();
      const first = await ctx.engine.submit(ctx.tenant, diamond({ idempotencyKey: "k-1" }));
      await ctx.engine.claim(ctx.tenant, "ag", { leaseMs: 10_000 });
      const before = await snapshot(ctx, first.dagId);
      const again = await ctx.engine.submit(ctx.tenant, diamond({ idempotencyKey: "k-1" }));
      expect(again).toMatchObject({ dagId: first.dagId, created: false, status: "running", ready: [] });
      expect(await snapshot(ctx, first.dagId)).toEqual(before);
    });

    it("gives different idempotency keys different runs", async () => {
      const ctx = fresh();
      const a = await ctx.engine.submit(ctx.tenant, diamond({ idempotencyKey: "k-1" }));
      const b = await ctx.engine.submit(ctx.tenant, diamond({ idempotencyKey: "k-2" }));
      expect(b.dagId).not.toBe(a.dagId);
      expect(b.created).toBe(true);
    });

    it("treats resubmitting an explicit id with the same definition as a replay", async () => {
      const ctx = fresh();
      await ctx.engine.submit(ctx.tenant, diamond({ id: "same" }));
      const again = await ctx.engine.submit(ctx.tenant, diamond({ id: "same" }));
      expect(again).toMatchObject({ dagId: "same", created: false, ready: ["a"] });
      expect((await allEvents(ctx.engine, ctx.tenant, "same")).filter((e) => e.type === "run.submitted")).toHaveLength(1);
    });

    it("rejects an explicit id reused with a different definition as a conflict, changing nothing", async () => {
      const ctx = fresh();
      await ctx.engine.submit(ctx.tenant, diamond({ id: "same" }));
      const other = { id: "same", nodes: [{ id: "only", agent: "ag" }] };
      await expectRejectedUnchanged(ctx, "same", () => ctx.engine.submit(ctx.tenant, other), ConflictError);
    });

    it("rejects an invalid spec with a ValidationError naming the field and writes nothing", async () => {
      const ctx = fresh();
      const cyclic = { id: "bad", nodes: [{ id: "x", agent: "ag", deps: ["y"] }, { id: "y", agent: "ag", deps: ["x"] }] };
      const err = await rejection(ctx.engine.submit(ctx.tenant, cyclic));
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).field).toMatch(/nodes/);
      expect(await rejection(ctx.engine.getRun(ctx.tenant, "bad"))).toBeInstanceOf(NotFoundError);
      expect(await allOutbox(ctx.engine)).toEqual([]);
    });
  });

  describe("claim", () => {
    const spec = {
      nodes: [
        ...["x1", "x2", "x3", "x4", "x5"].map((id) => ({ id, agent: "x", input: { id } })),
        { id: "y1", agent: "y" },
        { id: "y2", agent: "y" },
      ],
    };

    it("checks ids, bounds and lease tokens by the rules the HTTP schemas use (checks.ts): a SchemaError naming the field", async () => {
      const ctx = fresh();
      const { dagId } = await ctx.engine.submit(ctx.tenant, { nodes: [{ id: "a", agent: "x" }] });
      const bad: [Promise<unknown>, string, string][] = [
        [ctx.engine.claim(ctx.tenant, "x", { workerId: "w 1" }), "workerId", ID_RULE],
        [ctx.engine.claim(ctx.tenant, "x", { max: LIMITS.claimMax + 1 }), "max", `from 1 to ${LIMITS.claimMax}`],
        [ctx.engine.claim(ctx.tenant, "x", { leaseMs: LIMITS.maxDurationMs + 1 }), "leaseMs", `from 1 to ${LIMITS.maxDurationMs}`],
        [ctx.engine.claimNode(ctx.tenant, dagId, "a".repeat(129)), "nodeId", ID_RULE],
        [ctx.engine.heartbeat(ctx.tenant, { dagId, nodeId: "a", leaseToken: "1.\ud800" }), "leaseToken", LEASE_TOKEN_RULE],
      ];
      for (const [call, field, rule] of bad) {
        const err = await rejection(call);
        expect(err, field).toBeInstanceOf(SchemaError);
        expect(err).toMatchObject({ field, message: expect.stringContaining(rule) });
      }
      expect(statuses(await ctx.engine.getRun(ctx.tenant, dagId))).toEqual({ a: "ready" });
    });

    it("hands out at most max ready nodes of the agent, each with a distinct unguessable lease", async () => {
      const ctx = fresh();
      const { dagId } = await ctx.engine.submit(ctx.tenant, spec);
      const tasks = await ctx.engine.claim(ctx.tenant, "x", { max: 3, leaseMs: 5000, workerId: "w1" });
      expect(tasks).toHaveLength(3);
      for (const t of tasks) {
        expect(t).toMatchObject({ dagId, agent: "x", attempt: 1, leaseExpiresAt: ctx.clock.now + 5000 });
        expect(t.leaseToken).toMatch(TOKEN);
        expect(t.leaseToken.split(".")[0]).toBe("1");
        expect(t.input).toEqual({ id: t.nodeId });
      }
      expect(new Set(tasks.map((t) => t.leaseToken)).size).toBe(3);
      expect(new Set(tasks.map((t) => t.leaseToken.split(".")[1])).size).toBe(3);
      const rest = await ctx.engine.claim(ctx.tenant, "x", { max: 10, leaseMs: 5000 });
      expect(rest).toHaveLength(2);
      const all = [...tasks, ...rest].map((t) => t.nodeId).sort();
      expect(all).toEqual(["x1", "x2", "x3", "x4", "x5"]);
      expect(await ctx.engine.claim(ctx.tenant, "x", { max: 10 })).toEqual([]);
    });

    it("never returns another agent's nodes", async () => {
      const ctx = fresh();
      const { dagId } = await ctx.engine.submit(ctx.tenant, spec);
      expect(await ctx.engine.claim(ctx.tenant, "z", { max: 10 })).toEqual([]);
      const ys = await ctx.engine.claim(ctx.tenant, "y", { max: 10 });
      expect(ys.map((t) => t.nodeId).sort()).toEqual(["y1", "y2"]);
      const run = await ctx.engine.getRun(ctx.tenant, dagId);
      expect(run.counts).toMatchObject({ ready: 5, running: 2 });
    });

    it("moves claimed nodes to running with the worker and lease recorded", async () => {
      const ctx = fresh();
      const { dagId } = await ctx.engine.submit(ctx.tenant, spec);
      const [t] = await ctx.engine.claim(ctx.tenant, "y", { leaseMs: 7000, workerId: "w9" });
      const n = node(await ctx.engine.getRun(ctx.tenant, dagId), t!.nodeId);
      expect(n).toMatchObject({ status: "running", attempt: 1, workerId: "w9", leaseExpiresAt: ctx.clock.now + 7000 });
    });

    it("gives every lease of one claim its own token, across runs and shards", async () => {
      const ctx = fresh();
      // 12 runs spread over every shard the backend has (6 on the cluster).
      for (let i = 0; i < 12; i++) await ctx.engine.submit(ctx.tenant, { id: `r${i}`, nodes: [{ id: "n", agent: "q" }] });
      const tasks = await ctx.engine.claim(ctx.tenant, "q", { max: 20 });
      expect(tasks).toHaveLength(12);
      expect(new Set(tasks.map((t) => t.dagId)).size).toBe(12);
      expect(new Set(tasks.map((t) => t.leaseToken)).size).toBe(12);
    });
  });

  describe("claimNode", () => {
    it("claims one given ready node", async () => {
      const ctx = fresh();
      const { dagId } = await ctx.engine.submit(ctx.tenant, diamond());
      const t = await ctx.engine.claimNode(ctx.tenant, dagId, "a", { leaseMs: 4000, workerId: "push" });
      expect(t).toMatchObject({ dagId, nodeId: "a", agent: "ag", attempt: 1, input: { n: 1 }, leaseExpiresAt: ctx.clock.now + 4000 });
      expect(t.leaseToken).toMatch(TOKEN);
      // The ready-queue entry must not hand the same node out a second time.
      expect(await ctx.engine.claim(ctx.tenant, "ag", { max: 10 })).toEqual([]);
    });

    it("is a conflict carrying the current status when the node is pending, and changes nothing", async () => {
      const ctx = fresh();
      const { dagId } = await ctx.engine.submit(ctx.tenant, diamond());
      const err = await expectRejectedUnchanged(ctx, dagId, () => ctx.engine.claimNode(ctx.tenant, dagId, "b"), ConflictError);
      expect((err as ConflictError).details?.current).toMatchObject({ status: "pending" });
    });

    it("is a conflict carrying the current status when the node is already running", async () => {
      const ctx = fresh();
      const { dagId } = await ctx.engine.submit(ctx.tenant, diamond());
      await ctx.engine.claimNode(ctx.tenant, dagId, "a");
      const err = await expectRejectedUnchanged(ctx, dagId, () => ctx.engine.claimNode(ctx.tenant, dagId, "a"), ConflictError);
      expect((err as ConflictError).details?.current).toMatchObject({ status: "running" });
    });

    it("is not found for an unknown node or run", async () => {
      const ctx = fresh();
      const { dagId } = await ctx.engine.submit(ctx.tenant, diamond());
      await expectRejectedUnchanged(ctx, dagId, () => ctx.engine.claimNode(ctx.tenant, dagId, "nope"), NotFoundError);
      expect(await rejection(ctx.engine.claimNode(ctx.tenant, "no-such-run", "a"))).toBeInstanceOf(NotFoundError);
    });
  });

  describe("heartbeat", () => {
    it("extends the lease from now so reconcile leaves the node running", async () => {
      const ctx = fresh();
      const { dagId } = await ctx.engine.submit(ctx.tenant, diamond());
      const t = await ctx.engine.claimNode(ctx.tenant, dagId, "a", { leaseMs: 1000 });
      ctx.clock.advance(800);
      const hb = await ctx.engine.heartbeat(ctx.tenant, { dagId, nodeId: "a", leaseToken: t.leaseToken }, 1000);
      expect(hb.leaseExpiresAt).toBe(ctx.clock.now + 1000);
      ctx.clock.advance(800); // past the original expiry, before the new one
      expect((await ctx.engine.reconcile()).expiredLeases).toBe(0);
      const n = node(await ctx.engine.getRun(ctx.tenant, dagId), "a");
      expect(n).toMatchObject({ status: "running", attempt: 1, leaseExpiresAt: hb.leaseExpiresAt });
      await expect(ctx.engine.complete(ctx.tenant, { dagId, nodeId: "a", leaseToken: t.leaseToken }, 1)).resolves.toMatchObject({ duplicate: false });
    });

    it("never extends a lease past the node's timeoutMs", async () => {
      const ctx = fresh();
      const { dagId } = await ctx.engine.submit(ctx.tenant, { nodes: [{ id: "a", agent: "ag", timeoutMs: 1500 }] });
      const started = ctx.clock.now;
      const t = await ctx.engine.claimNode(ctx.tenant, dagId, "a", { leaseMs: 1000 });
      expect(t.leaseExpiresAt).toBe(started + 1000);
      ctx.clock.advance(900);
      expect((await ctx.engine.heartbeat(ctx.tenant, { dagId, nodeId: "a", leaseToken: t.leaseToken }, 1000)).leaseExpiresAt).toBe(started + 1500);
      ctx.clock.advance(600);
      expect((await ctx.engine.reconcile()).expiredLeases).toBe(1);
      expect(node(await ctx.engine.getRun(ctx.tenant, dagId), "a").status).not.toBe("running");
    });

    it("rejects a heartbeat on a lease that reconcile already expired", async () => {
      const ctx = fresh();
      const { dagId } = await ctx.engine.submit(ctx.tenant, { nodes: [{ id: "a", agent: "ag", retry: { maxAttempts: 2, backoffMs: 1000 } }] });
      const t = await ctx.engine.claimNode(ctx.tenant, dagId, "a", { leaseMs: 1000 });
      ctx.clock.advance(1000);
      await ctx.engine.reconcile();
      await expectRejectedUnchanged(ctx, dagId, () => ctx.engine.heartbeat(ctx.tenant, { dagId, nodeId: "a", leaseToken: t.leaseToken }, 1000), ConflictError);
    });

    it("logs node.heartbeat with the attempt and the new expiry", async () => {
      const ctx = fresh();
      const { dagId } = await ctx.engine.submit(ctx.tenant, diamond());
      const t = await ctx.engine.claimNode(ctx.tenant, dagId, "a", { leaseMs: 1000, workerId: "w1" });
      ctx.clock.advance(10);
      const hb = await ctx.engine.heartbeat(ctx.tenant, { dagId, nodeId: "a", leaseToken: t.leaseToken }, 2000);
      const last = (await allEvents(ctx.engine, ctx.tenant, dagId)).at(-1);
      expect(last).toMatchObject({ type: "node.heartbeat", node: "a", attempt: 1, at: ctx.clock.now, data: { leaseExpiresAt: hb.leaseExpiresAt } });
    });

    it("rejects a stale token as a conflict and changes nothing", async () => {
      const ctx = fresh();
      const { dagId } = await ctx.engine.submit(ctx.tenant, diamond());
      const t = await ctx.engine.claimNode(ctx.tenant, dagId, "a", { leaseMs: 1000 });
      const forged = `1.${"A".repeat(t.leaseToken.length - 2)}`;
      await expectRejectedUnchanged(ctx, dagId, () => ctx.engine.heartbeat(ctx.tenant, { dagId, nodeId: "a", leaseToken: forged }, 5000), ConflictError);
    });

    it("rejects a heartbeat on a node that is not running and changes nothing", async () => {
      const ctx = fresh();
      const { dagId } = await ctx.engine.submit(ctx.tenant, diamond());
      await expectRejectedUnchanged(ctx, dagId, () => ctx.engine.heartbeat(ctx.tenant, { dagId, nodeId: "a", leaseToken: "1.AAAAAAAAAAAAAAAAAAAA" }, 5000), ConflictError);
    });
  });
});
