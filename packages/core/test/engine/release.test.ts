import { describe, expect, it } from "vitest";
import { ConflictError, NotFoundError } from "@weft/core";
import { backends } from "@weft/test-support";
import { allEvents, allOutbox, claimOne, diamond, expectRejectedUnchanged, expectSoundLog, node, rejection, useEngines } from "./harness.js";

describe.each(backends)("release and parent outputs on %s", (name) => {
  const { fresh } = useEngines(name);

  it("gives a lease back: the node is ready at once, logged, in the outbox, and the next claim gets it", async () => {
    const ctx = fresh();
    const spec = diamond();
    const { dagId } = await ctx.engine.submit(ctx.tenant, spec);
    const [t] = await ctx.engine.claim(ctx.tenant, "ag", { max: 1, workerId: "leaving" });
    const outboxBefore = (await allOutbox(ctx.engine)).length;

    expect(await ctx.engine.release(ctx.tenant, { dagId, nodeId: "a", leaseToken: t!.leaseToken })).toEqual({ status: "ready", attempt: 1 });
    const run = await ctx.engine.getRun(ctx.tenant, dagId);
    expect(node(run, "a")).toMatchObject({ status: "ready", attempt: 1 });
    expect(node(run, "a").workerId).toBeUndefined();
    const events = await allEvents(ctx.engine, ctx.tenant, dagId);
    expect(events.at(-1)).toMatchObject({ type: "node.released", node: "a", attempt: 1, from: "running", actor: "leaving" });
    const outbox = await allOutbox(ctx.engine);
    expect(outbox.slice(outboxBefore)).toMatchObject([{ type: "NodeReady", dagId, nodeId: "a", agent: "ag", attempt: 1 }]);

    const [again] = await ctx.engine.claim(ctx.tenant, "ag", { max: 5, workerId: "next" });
    expect(again).toMatchObject({ nodeId: "a", attempt: 2 });
    await ctx.engine.complete(ctx.tenant, { dagId, nodeId: "a", leaseToken: again!.leaseToken }, { ok: true });
    await expectSoundLog(ctx, dagId, spec.nodes);
  });

  it("rejects a stale or repeated release without changing anything, and fences the released token", async () => {
    const ctx = fresh();
    const { dagId } = await ctx.engine.submit(ctx.tenant, diamond());
    const first = await claimOne(ctx, dagId, "a");
    await ctx.engine.release(ctx.tenant, { dagId, nodeId: "a", leaseToken: first.leaseToken });
    // Released, then the same token again: the node is ready, the token is dead.
    await expectRejectedUnchanged(ctx, dagId, () => ctx.engine.release(ctx.tenant, { dagId, nodeId: "a", leaseToken: first.leaseToken }), ConflictError);
    const second = await claimOne(ctx, dagId, "a");
    await expectRejectedUnchanged(ctx, dagId, () => ctx.engine.release(ctx.tenant, { dagId, nodeId: "a", leaseToken: first.leaseToken }), ConflictError);
    await expectRejectedUnchanged(ctx, dagId, () => ctx.engine.complete(ctx.tenant, { dagId, nodeId: "a", leaseToken: first.leaseToken }, "late"), ConflictError);
    await expectRejectedUnchanged(ctx, dagId, () => ctx.engine.heartbeat(ctx.tenant, { dagId, nodeId: "a", leaseToken: first.leaseToken }), ConflictError);
    // A node that is not running (pending b) cannot be released either.
    await expectRejectedUnchanged(ctx, dagId, () => ctx.engine.release(ctx.tenant, { dagId, nodeId: "b", leaseToken: second.leaseToken }), ConflictError);
    await ctx.engine.complete(ctx.tenant, { dagId, nodeId: "a", leaseToken: second.leaseToken }, 1);
    await expectRejectedUnchanged(ctx, dagId, () => ctx.engine.release(ctx.tenant, { dagId, nodeId: "a", leaseToken: second.leaseToken }), ConflictError);
    expect(await rejection(ctx.engine.release(ctx.tenant, { dagId: "nope", nodeId: "a", leaseToken: second.leaseToken }))).toBeInstanceOf(NotFoundError);
    expect(await rejection(ctx.engine.release(ctx.tenant, { dagId, nodeId: "zz", leaseToken: second.leaseToken }))).toBeInstanceOf(NotFoundError);
  });

  it("does not spend the retry budget: a node with one attempt still gets its real attempt after releases", async () => {
    const ctx = fresh();
    const { dagId } = await ctx.engine.submit(ctx.tenant, { nodes: [{ id: "a", agent: "ag", retry: { maxAttempts: 2, backoffMs: 0 } }] });
    for (let i = 1; i <= 3; i++) {
      const t = await claimOne(ctx, dagId, "a");
      expect(t.attempt).toBe(i);
      await ctx.engine.release(ctx.tenant, { dagId, nodeId: "a", leaseToken: t.leaseToken });
    }
    // Two real attempts remain: the first failure retries, the second fails the node.
    const t4 = await claimOne(ctx, dagId, "a");
    expect((await ctx.engine.fail(ctx.tenant, { dagId, nodeId: "a", leaseToken: t4.leaseToken }, { message: "x" })).status).toBe("retrying");
    const t5 = await claimOne(ctx, dagId, "a");
    expect(t5.attempt).toBe(5);
    expect((await ctx.engine.fail(ctx.tenant, { dagId, nodeId: "a", leaseToken: t5.leaseToken }, { message: "x" })).status).toBe("failed");
  });

  it("a released lease is out of the lease index: reconcile does not fail it later", async () => {
    const ctx = fresh();
    const { dagId } = await ctx.engine.submit(ctx.tenant, { nodes: [{ id: "a", agent: "ag" }] });
    const t = await claimOne(ctx, dagId, "a", 1000);
    await ctx.engine.release(ctx.tenant, { dagId, nodeId: "a", leaseToken: t.leaseToken });
    ctx.clock.advance(5000);
    expect((await ctx.engine.reconcile()).expiredLeases).toBe(0);
    expect(node(await ctx.engine.getRun(ctx.tenant, dagId), "a")).toMatchObject({ status: "ready", attempt: 1 });
  });

  it("reads the outputs of a node's dependencies by id", async () => {
    const ctx = fresh();
    const { dagId } = await ctx.engine.submit(ctx.tenant, diamond());
    expect(await ctx.engine.parentOutputs(ctx.tenant, dagId, "a")).toEqual({});
    const a = await claimOne(ctx, dagId, "a");
    await ctx.engine.complete(ctx.tenant, { dagId, nodeId: "a", leaseToken: a.leaseToken }, { plan: [1, 2] });
    const b = await claimOne(ctx, dagId, "b");
    await ctx.engine.complete(ctx.tenant, { dagId, nodeId: "b", leaseToken: b.leaseToken }, "from b");
    expect(await ctx.engine.parentOutputs(ctx.tenant, dagId, "b")).toEqual({ a: { plan: [1, 2] } });
    // c has not succeeded yet: d sees only what exists.
    expect(await ctx.engine.parentOutputs(ctx.tenant, dagId, "d")).toEqual({ b: "from b" });
    const c = await claimOne(ctx, dagId, "c");
    await ctx.engine.complete(ctx.tenant, { dagId, nodeId: "c", leaseToken: c.leaseToken }, null);
    expect(await ctx.engine.parentOutputs(ctx.tenant, dagId, "d")).toEqual({ b: "from b", c: null });
    expect(await rejection(ctx.engine.parentOutputs(ctx.tenant, dagId, "zz"))).toBeInstanceOf(NotFoundError);
    expect(await rejection(ctx.engine.parentOutputs(ctx.tenant, "nope", "a"))).toBeInstanceOf(NotFoundError);
    expect(await rejection(ctx.engine.parentOutputs("other-tenant", dagId, "b"))).toBeInstanceOf(NotFoundError);
  });
});
