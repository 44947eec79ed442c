import { describe, expect, it } from "vitest";
import { ConflictError } from "@weft/core";
import { backends } from "@weft/test-support";
import { claimOne, diamond, expectRejectedUnchanged, node, rejection, snapshot, statuses, useEngines } from "./harness.js";

describe.each(backends)("complete on %s", (name) => {
  const { fresh } = useEngines(name);

  it("releases a child only when every dependency has succeeded, returning the newly ready nodes", async () => {
    const ctx = fresh();
    const { tenant, engine } = ctx;
    const { dagId } = await engine.submit(tenant, diamond());
    const a = await claimOne(ctx, dagId, "a");
    const ra = await engine.complete(tenant, { dagId, nodeId: "a", leaseToken: a.leaseToken }, "A");
    expect({ ...ra, ready: [...ra.ready].sort() }).toEqual({ duplicate: false, ready: ["b", "c"], runStatus: "running" });

    const b = await claimOne(ctx, dagId, "b");
    const c = await claimOne(ctx, dagId, "c");
    expect(await engine.complete(tenant, { dagId, nodeId: "b", leaseToken: b.leaseToken }, "B")).toMatchObject({ duplicate: false, ready: [], runStatus: "running" });
    expect(node(await engine.getRun(tenant, dagId), "d").status).toBe("pending");
    expect(await engine.complete(tenant, { dagId, nodeId: "c", leaseToken: c.leaseToken }, "C")).toMatchObject({ ready: ["d"], runStatus: "running" });

    const d = await claimOne(ctx, dagId, "d");
    expect(await engine.complete(tenant, { dagId, nodeId: "d", leaseToken: d.leaseToken }, "D")).toMatchObject({ duplicate: false, ready: [], runStatus: "succeeded" });
    const run = await engine.getRun(tenant, dagId);
    expect(run.status).toBe("succeeded");
    expect(run.finishedAt).toBe(ctx.clock.now);
    expect(run.counts).toMatchObject({ succeeded: 4, pending: 0, ready: 0, running: 0 });
  });

  it("stores the output, readable with the run", async () => {
    const ctx = fresh();
    const { dagId } = await ctx.engine.submit(ctx.tenant, diamond());
    const a = await claimOne(ctx, dagId, "a");
    const output = { text: "héllo", list: [1, 2, { deep: null }], ok: true };
    await ctx.engine.complete(ctx.tenant, { dagId, nodeId: "a", leaseToken: a.leaseToken }, output);
    const run = await ctx.engine.getRun(ctx.tenant, dagId, { include: { output: true } });
    expect(node(run, "a").output).toEqual(output);
  });

  it("says a second identical completion is a duplicate and changes nothing", async () => {
    const ctx = fresh();
    const { dagId } = await ctx.engine.submit(ctx.tenant, diamond());
    const a = await claimOne(ctx, dagId, "a");
    await ctx.engine.complete(ctx.tenant, { dagId, nodeId: "a", leaseToken: a.leaseToken }, { v: 1 });
    await claimOne(ctx, dagId, "b"); // the run moves on before the retry arrives
    const before = await snapshot(ctx, dagId);
    ctx.clock.advance(50);
    const again = await ctx.engine.complete(ctx.tenant, { dagId, nodeId: "a", leaseToken: a.leaseToken }, { v: 1 });
    expect(again).toMatchObject({ duplicate: true, runStatus: "running" });
    expect(await snapshot(ctx, dagId)).toEqual(before);
  });

  it("never lets a second completion with another output overwrite the first", async () => {
    const ctx = fresh();
    const { dagId } = await ctx.engine.submit(ctx.tenant, diamond());
    const a = await claimOne(ctx, dagId, "a");
    await ctx.engine.complete(ctx.tenant, { dagId, nodeId: "a", leaseToken: a.leaseToken }, { v: 1 });
    await expectRejectedUnchanged(ctx, dagId, () => ctx.engine.complete(ctx.tenant, { dagId, nodeId: "a", leaseToken: a.leaseToken }, { v: 2 }), ConflictError);
    expect(node(await ctx.engine.getRun(ctx.tenant, dagId), "a").output).toEqual({ v: 1 });
  });

  it("rejects the token of an expired attempt once the node was re-run, and changes nothing", async () => {
    const ctx = fresh();
    const spec = { nodes: [{ id: "a", agent: "ag", retry: { maxAttempts: 3, backoffMs: 100 } }] };
    const { dagId } = await ctx.engine.submit(ctx.tenant, spec);
    const first = await claimOne(ctx, dagId, "a", 1000);
    ctx.clock.advance(1001);
    expect((await ctx.engine.reconcile()).expiredLeases).toBe(1);
    ctx.clock.advance(200);
    await ctx.engine.reconcile();
    const second = await claimOne(ctx, dagId, "a", 1000);
    expect(second.attempt).toBe(2);
    expect(second.leaseToken.startsWith("2.")).toBe(true);
    const err = await expectRejectedUnchanged(ctx, dagId, () => ctx.engine.complete(ctx.tenant, { dagId, nodeId: "a", leaseToken: first.leaseToken }, "late"), ConflictError);
    expect((err as ConflictError).details?.current).toMatchObject({ status: "running", attempt: 2 });
    expect(await ctx.engine.complete(ctx.tenant, { dagId, nodeId: "a", leaseToken: second.leaseToken }, "on time")).toMatchObject({ duplicate: false, runStatus: "succeeded" });
  });

  it("rejects a forged token on a running node and changes nothing", async () => {
    const ctx = fresh();
    const { dagId } = await ctx.engine.submit(ctx.tenant, diamond());
    const a = await claimOne(ctx, dagId, "a");
    const forged = `1.${a.leaseToken.slice(2).split("").reverse().join("")}x`;
    await expectRejectedUnchanged(ctx, dagId, () => ctx.engine.complete(ctx.tenant, { dagId, nodeId: "a", leaseToken: forged }, "x"), ConflictError);
  });

  // The lease field is "token|expiresAt|worker|deadline" (a succeeded node keeps the token
  // alone): the token must be its first part exactly, not a longer string that starts with it.
  it("rejects the live token with more lease fields after it, running or succeeded, and changes nothing", async () => {
    const ctx = fresh();
    const { dagId } = await ctx.engine.submit(ctx.tenant, diamond());
    const a = await claimOne(ctx, dagId, "a");
    for (const longer of [`${a.leaseToken}|${a.leaseExpiresAt}`, `${a.leaseToken}|`]) {
      await expectRejectedUnchanged(ctx, dagId, () => ctx.engine.complete(ctx.tenant, { dagId, nodeId: "a", leaseToken: longer }, "x"), ConflictError);
      await expectRejectedUnchanged(ctx, dagId, () => ctx.engine.heartbeat(ctx.tenant, { dagId, nodeId: "a", leaseToken: longer }), ConflictError);
    }
    await ctx.engine.complete(ctx.tenant, a, "A");
    await expectRejectedUnchanged(ctx, dagId, () => ctx.engine.complete(ctx.tenant, { dagId, nodeId: "a", leaseToken: `${a.leaseToken}|` }, "A"), ConflictError);
    expect(await ctx.engine.complete(ctx.tenant, a, "A")).toMatchObject({ duplicate: true });
  });

  it("rejects completing a node that was never claimed and changes nothing", async () => {
    const ctx = fresh();
    const { dagId } = await ctx.engine.submit(ctx.tenant, diamond());
    await expectRejectedUnchanged(ctx, dagId, () => ctx.engine.complete(ctx.tenant, { dagId, nodeId: "a", leaseToken: "1.AAAAAAAAAAAAAAAAAAAA" }, "x"), ConflictError);
    await expectRejectedUnchanged(ctx, dagId, () => ctx.engine.complete(ctx.tenant, { dagId, nodeId: "b", leaseToken: "1.AAAAAAAAAAAAAAAAAAAA" }, "x"), ConflictError);
  });

  it("claims the worker's next task in the same call when claimNext is asked", async () => {
    const ctx = fresh();
    const spec = { nodes: [{ id: "a", agent: "ag" }, { id: "b", agent: "ag", deps: ["a"], input: "for-b" }] };
    const { dagId } = await ctx.engine.submit(ctx.tenant, spec);
    const a = await claimOne(ctx, dagId, "a");
    const r = await ctx.engine.complete(ctx.tenant, { dagId, nodeId: "a", leaseToken: a.leaseToken }, 1, {
      claimNext: { agent: "ag", leaseMs: 3000, workerId: "w2" },
    });
    expect(r.ready).toEqual(["b"]);
    expect(r.next).toHaveLength(1);
    expect(r.next?.[0]).toMatchObject({ dagId, nodeId: "b", attempt: 1, input: "for-b", leaseExpiresAt: ctx.clock.now + 3000 });
    expect(node(await ctx.engine.getRun(ctx.tenant, dagId), "b")).toMatchObject({ status: "running", workerId: "w2" });
    const b = r.next![0]!;
    expect(await ctx.engine.complete(ctx.tenant, { dagId, nodeId: "b", leaseToken: b.leaseToken }, 2, { claimNext: { agent: "ag" } })).toMatchObject({
      runStatus: "succeeded",
      next: [],
    });
  });

  it("records the completing worker as the actor of node.succeeded", async () => {
    const ctx = fresh();
    const { dagId } = await ctx.engine.submit(ctx.tenant, diamond());
    const a = await claimOne(ctx, dagId, "a", 1000, "w-claim");
    await ctx.engine.complete(ctx.tenant, { dagId, nodeId: "a", leaseToken: a.leaseToken }, 1, { workerId: "w-done" });
    const page = await ctx.engine.events(ctx.tenant, dagId, { limit: 1000 });
    const ev = page.events.find((e) => e.type === "node.succeeded");
    expect(ev).toMatchObject({ node: "a", attempt: 1, actor: "w-done", from: "running" });
  });

  it("rejects completing nodes of a finished run", async () => {
    const ctx = fresh();
    const { dagId } = await ctx.engine.submit(ctx.tenant, { nodes: [{ id: "a", agent: "ag" }] });
    const a = await claimOne(ctx, dagId, "a");
    await ctx.engine.complete(ctx.tenant, { dagId, nodeId: "a", leaseToken: a.leaseToken }, 1);
    expect(statuses(await ctx.engine.getRun(ctx.tenant, dagId))).toEqual({ a: "succeeded" });
    expect(await rejection(ctx.engine.complete(ctx.tenant, { dagId, nodeId: "a", leaseToken: "2.AAAAAAAAAAAAAAAAAAAA" }, 1))).toBeInstanceOf(ConflictError);
  });
});
