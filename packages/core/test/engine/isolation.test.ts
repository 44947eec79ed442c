import { describe, expect, it } from "vitest";
import { ConflictError, NotFoundError, ValidationError } from "@weft/core";
import type { Task } from "@weft/core";
import { backends } from "@weft/test-support";
import { claimOne, diamond, expectRejectedUnchanged, rejection, snapshot, useEngines, type EngineCtx } from "./harness.js";

const FORGED = "1.AAAAAAAAAAAAAAAAAAAAAA";

/** diamond with a succeeded, b running, c ready, d pending: one node in every live status. */
async function midRun(ctx: EngineCtx) {
  const { dagId } = await ctx.engine.submit(ctx.tenant, diamond({ id: "shared-id" }));
  const a = await claimOne(ctx, dagId, "a");
  await ctx.engine.complete(ctx.tenant, { dagId, nodeId: "a", leaseToken: a.leaseToken }, "A");
  const b = await claimOne(ctx, dagId, "b");
  return { dagId, a, b };
}

type Invalid = [string, (ctx: EngineCtx, r: { dagId: string; a: Task; b: Task }) => Promise<unknown>, abstract new (...a: never[]) => Error];

const invalid: Invalid[] = [
  ["claimNode of a succeeded node", (c, r) => c.engine.claimNode(c.tenant, r.dagId, "a"), ConflictError],
  ["claimNode of a pending node", (c, r) => c.engine.claimNode(c.tenant, r.dagId, "d"), ConflictError],
  ["claimNode of a running node", (c, r) => c.engine.claimNode(c.tenant, r.dagId, "b"), ConflictError],
  ["complete of a ready node", (c, r) => c.engine.complete(c.tenant, { dagId: r.dagId, nodeId: "c", leaseToken: FORGED }, 1), ConflictError],
  ["complete of a pending node", (c, r) => c.engine.complete(c.tenant, { dagId: r.dagId, nodeId: "d", leaseToken: FORGED }, 1), ConflictError],
  ["complete with another node's token", (c, r) => c.engine.complete(c.tenant, { dagId: r.dagId, nodeId: "b", leaseToken: r.a.leaseToken }, 1), ConflictError],
  ["complete with a token of the right attempt but wrong secret", (c, r) => c.engine.complete(c.tenant, { dagId: r.dagId, nodeId: "b", leaseToken: `${r.b.leaseToken}x` }, 1), ConflictError],
  ["heartbeat of a succeeded node", (c, r) => c.engine.heartbeat(c.tenant, { dagId: r.dagId, nodeId: "a", leaseToken: r.a.leaseToken }, 1000), ConflictError],
  ["heartbeat with another node's token", (c, r) => c.engine.heartbeat(c.tenant, { dagId: r.dagId, nodeId: "b", leaseToken: r.a.leaseToken }, 1000), ConflictError],
  ["fail of a succeeded node", (c, r) => c.engine.fail(c.tenant, { dagId: r.dagId, nodeId: "a", leaseToken: r.a.leaseToken }, { message: "late" }), ConflictError],
  ["fail of a ready node", (c, r) => c.engine.fail(c.tenant, { dagId: r.dagId, nodeId: "c", leaseToken: FORGED }, { message: "x" }), ConflictError],
  ["complete of an unknown node", (c, r) => c.engine.complete(c.tenant, { dagId: r.dagId, nodeId: "zz", leaseToken: r.b.leaseToken }, 1), NotFoundError],
  ["heartbeat of an unknown node", (c, r) => c.engine.heartbeat(c.tenant, { dagId: r.dagId, nodeId: "zz", leaseToken: r.b.leaseToken }, 1000), NotFoundError],
  ["complete with an empty token", (c, r) => c.engine.complete(c.tenant, { dagId: r.dagId, nodeId: "b", leaseToken: "" }, 1), ValidationError],
  ["complete with an output that is not JSON", (c, r) => c.engine.complete(c.tenant, { dagId: r.dagId, nodeId: "b", leaseToken: r.b.leaseToken }, { n: 1n }), ValidationError],
  ["fail without an error message", (c, r) => c.engine.fail(c.tenant, { dagId: r.dagId, nodeId: "b", leaseToken: r.b.leaseToken }, {} as { message: string }), ValidationError],
  ["claim of zero nodes", (c) => c.engine.claim(c.tenant, "ag", { max: 0 }), ValidationError],
  ["claim with a negative lease", (c) => c.engine.claim(c.tenant, "ag", { leaseMs: -1 }), ValidationError],
  ["heartbeat with a bad lease length", (c, r) => c.engine.heartbeat(c.tenant, { dagId: r.dagId, nodeId: "b", leaseToken: r.b.leaseToken }, 0), ValidationError],
  ["a node id that is not an id", (c, r) => c.engine.claimNode(c.tenant, r.dagId, "a:b|c"), ValidationError],
];

describe.each(backends)("isolation and rejected transitions on %s", (name) => {
  const { fresh } = useEngines(name);

  describe("invalid transitions are rejected without changing state", () => {
    it.each(invalid)("%s", async (_, call, errorClass) => {
      const ctx = fresh();
      const r = await midRun(ctx);
      await expectRejectedUnchanged(ctx, r.dagId, () => call(ctx, r), errorClass);
    });

    it("names the offending field in validation errors", async () => {
      const ctx = fresh();
      const r = await midRun(ctx);
      expect(await rejection(ctx.engine.claim(ctx.tenant, "ag", { max: 0 }))).toMatchObject({ field: "max" });
      expect(await rejection(ctx.engine.complete(ctx.tenant, { dagId: r.dagId, nodeId: "b", leaseToken: r.b.leaseToken }, { n: 1n }))).toMatchObject({ field: expect.stringMatching(/(^|\.)output$/) });
      expect(await rejection(ctx.engine.claimNode(ctx.tenant, r.dagId, "a:b|c"))).toMatchObject({ field: "nodeId" });
      // A lease that is not one: the field it lacks is named, never a TypeError.
      expect(await rejection(ctx.engine.complete(ctx.tenant, undefined as never, 1))).toMatchObject({ field: "dagId" });
      expect(await rejection(ctx.engine.fail(ctx.tenant, undefined as never, { message: "x" }))).toMatchObject({ field: "dagId" });
      expect(await rejection(ctx.engine.complete(ctx.tenant, { dagId: r.dagId, nodeId: "b" } as never, 1))).toMatchObject({ field: "leaseToken" });
      expect(await rejection(ctx.engine.fail(ctx.tenant, { dagId: r.dagId, leaseToken: r.b.leaseToken } as never, { message: "x" }))).toMatchObject({ field: "nodeId" });
    });

    it("still lets the live lease complete after every rejected attempt", async () => {
      const ctx = fresh();
      const r = await midRun(ctx);
      for (const [, call] of invalid) await call(ctx, r).catch(() => undefined);
      // The claimed task itself is its lease.
      expect(await ctx.engine.complete(ctx.tenant, r.b, "B")).toMatchObject({ duplicate: false, ready: [] });
    });
  });

  describe("tenant isolation", () => {
    it("answers not found for another tenant's run, on every operation, and changes nothing", async () => {
      const ctx = fresh();
      const r = await midRun(ctx);
      const other = "someone-else";
      const e = ctx.engine;
      const before = await snapshot(ctx, r.dagId);
      const calls: [string, () => Promise<unknown>][] = [
        ["getRun", () => e.getRun(other, r.dagId)],
        ["events", () => e.events(other, r.dagId)],
        ["claimNode", () => e.claimNode(other, r.dagId, "c")],
        ["heartbeat", () => e.heartbeat(other, { dagId: r.dagId, nodeId: "b", leaseToken: r.b.leaseToken }, 1000)],
        ["complete", () => e.complete(other, { dagId: r.dagId, nodeId: "b", leaseToken: r.b.leaseToken }, "stolen")],
        ["fail", () => e.fail(other, { dagId: r.dagId, nodeId: "b", leaseToken: r.b.leaseToken }, { message: "x" }, { retryable: false })],
        ["cancel", () => e.cancel(other, r.dagId)],
      ];
      for (const [label, call] of calls) {
        expect(await rejection(call()), label).toBeInstanceOf(NotFoundError);
      }
      expect(await e.claim(other, "ag", { max: 10 })).toEqual([]);
      expect(await snapshot(ctx, r.dagId)).toEqual(before);
    });

    it("keeps the same run id and idempotency key apart per tenant", async () => {
      const ctx = fresh();
      const r = await midRun(ctx);
      const before = await snapshot(ctx, r.dagId);
      const mine = await ctx.engine.submit("other-tenant", diamond({ id: "shared-id" }));
      expect(mine).toMatchObject({ dagId: "shared-id", created: true, ready: ["a"] });
      const k1 = await ctx.engine.submit(ctx.tenant, diamond({ idempotencyKey: "k" }));
      const k2 = await ctx.engine.submit("other-tenant", diamond({ idempotencyKey: "k" }));
      expect(k2.created).toBe(true);
      expect((await ctx.engine.getRun("other-tenant", k2.dagId)).tenant).toBe("other-tenant");
      expect((await ctx.engine.getRun(ctx.tenant, k1.dagId)).tenant).toBe(ctx.tenant);
      const after = await snapshot(ctx, r.dagId);
      expect(after.run).toEqual(before.run);
      expect(after.events).toEqual(before.events);
    });
  });
});
