import { describe, expect, it } from "vitest";
import { ConflictError, PayloadTooLargeError, ValidationError } from "@weft/core";
import { foldEvents } from "@weft/core/sdk";
import { backends } from "@weft/test-support";
import { allEvents, allOutbox, claimOne, expectRejectedUnchanged, node, rejection, statuses, useEngines } from "./harness.js";

/** plan -> draft: the planner adds researchers and makes draft wait for them. */
const plan = () => ({
  nodes: [
    { id: "plan", agent: "planner" },
    { id: "draft", agent: "writer", deps: ["plan"] },
  ],
});
const researchers = (n: number, deps: string[] = ["plan"]) =>
  Array.from({ length: n }, (_, i) => ({ id: `r${i}`, agent: "researcher", deps, input: { q: i } }));

describe.each(backends)("growing a run on %s", (name) => {
  const { fresh } = useEngines(name);

  it("adds nodes on completion before it releases the completed node's children", async () => {
    const ctx = fresh();
    const { engine, tenant } = ctx;
    const { dagId } = await engine.submit(tenant, plan());
    const p = await claimOne(ctx, dagId, "plan");
    const r = await engine.complete(tenant, { dagId, nodeId: "plan", leaseToken: p.leaseToken }, { n: 3 }, {
      add: { nodes: researchers(3), deps: { draft: ["r0", "r1", "r2"] } },
    });
    expect(r).toMatchObject({ duplicate: false, runStatus: "running" });
    expect([...r.ready].sort()).toEqual(["r0", "r1", "r2"]);
    const run = await engine.getRun(tenant, dagId);
    expect(statuses(run)).toEqual({ plan: "succeeded", draft: "pending", r0: "ready", r1: "ready", r2: "ready" });
    expect(node(run, "r1")).toMatchObject({ agent: "researcher", deps: ["plan"], addedBy: { node: "plan", attempt: 1 } });
    expect(node(run, "draft").deps).toEqual(["plan", "r0", "r1", "r2"]);
    expect(node(run, "plan").addedBy).toBeUndefined();

    for (const id of ["r0", "r1"]) {
      const t = await claimOne(ctx, dagId, id);
      expect((await engine.complete(tenant, { dagId, nodeId: id, leaseToken: t.leaseToken }, id)).ready).toEqual([]);
    }
    const t2 = await claimOne(ctx, dagId, "r2");
    expect(t2.input).toEqual({ q: 2 });
    expect((await engine.complete(tenant, { dagId, nodeId: "r2", leaseToken: t2.leaseToken }, "r2")).ready).toEqual(["draft"]);
    expect(await engine.parentOutputs(tenant, dagId, "draft")).toEqual({ plan: { n: 3 }, r0: "r0", r1: "r1", r2: "r2" });
    const d = await claimOne(ctx, dagId, "draft");
    expect((await engine.complete(tenant, { dagId, nodeId: "draft", leaseToken: d.leaseToken }, "D")).runStatus).toBe("succeeded");
    expect((await engine.getRun(tenant, dagId)).counts.succeeded).toBe(5);

    const events = await allEvents(engine, tenant, dagId);
    const added = events.filter((e) => e.type === "node.added");
    expect(added.map((e) => e.node)).toEqual(["r0", "r1", "r2"]);
    expect(added[0]).toMatchObject({ actor: "plan", data: { agent: "researcher", addedBy: { node: "plan", attempt: 1 } } });
    // Seqs stay dense and the added nodes' lives fold to the live state.
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    const folded = foldEvents([{ id: "plan" }, { id: "draft" }], events);
    expect(Object.fromEntries(Object.entries(folded.nodes).map(([k, v]) => [k, v.status]))).toEqual(statuses(await engine.getRun(tenant, dagId)));
    // Before the addition the run had two nodes: history shows the DAG as it was.
    const seqOfAdd = added[0]!.seq;
    expect(Object.keys(foldEvents([], events, seqOfAdd - 1).nodes)).toEqual([]);
    expect(Object.keys(foldEvents([{ id: "plan" }, { id: "draft" }], events, seqOfAdd - 1).nodes)).toEqual(["plan", "draft"]);
    const ready = (await allOutbox(engine)).filter((e) => e.type === "NodeReady" && e.dagId === dagId).map((e) => e.nodeId);
    expect(ready).toEqual(expect.arrayContaining(["r0", "r1", "r2", "draft"]));
  });

  it("makes a new node that depends only on succeeded nodes ready at once, and one on the adder wait for it when extending", async () => {
    const ctx = fresh();
    const { engine, tenant } = ctx;
    const { dagId } = await engine.submit(tenant, plan());
    const p = await claimOne(ctx, dagId, "plan");
    const ext = await engine.extend(tenant, { dagId, nodeId: "plan", leaseToken: p.leaseToken }, { nodes: researchers(2), deps: { draft: ["r0", "r1"] } });
    expect(ext).toEqual({ duplicate: false, added: ["r0", "r1"], ready: [] });
    expect(statuses(await engine.getRun(tenant, dagId))).toMatchObject({ r0: "pending", r1: "pending" });
    // The same extension again within the attempt adds nothing.
    expect(await engine.extend(tenant, { dagId, nodeId: "plan", leaseToken: p.leaseToken }, { nodes: researchers(2), deps: { draft: ["r0", "r1"] } })).toEqual({
      duplicate: true,
      added: [],
      ready: [],
    });
    const r = await engine.complete(tenant, { dagId, nodeId: "plan", leaseToken: p.leaseToken }, "P");
    expect([...r.ready].sort()).toEqual(["r0", "r1"]);
    expect(node(await engine.getRun(tenant, dagId), "draft").status).toBe("pending");
  });

  it("fences additions by the lease: a stale token adds nothing", async () => {
    const ctx = fresh();
    const { engine, tenant } = ctx;
    const { dagId } = await engine.submit(tenant, { nodes: [{ id: "plan", agent: "planner", retry: { maxAttempts: 3, backoffMs: 0 } }] });
    const first = await claimOne(ctx, dagId, "plan", 100);
    ctx.clock.advance(200);
    await engine.reconcile();
    const second = await claimOne(ctx, dagId, "plan");
    expect(second.attempt).toBe(2);
    await expectRejectedUnchanged(ctx, dagId, () => engine.extend(tenant, { dagId, nodeId: "plan", leaseToken: first.leaseToken }, { nodes: researchers(1) }), ConflictError);
    await expectRejectedUnchanged(
      ctx,
      dagId,
      () => engine.complete(tenant, { dagId, nodeId: "plan", leaseToken: first.leaseToken }, "late", { add: { nodes: researchers(1) } }),
      ConflictError,
    );
  });

  it("says the same completion with the same additions is a duplicate, and with other additions a conflict", async () => {
    const ctx = fresh();
    const { engine, tenant } = ctx;
    const { dagId } = await engine.submit(tenant, plan());
    const p = await claimOne(ctx, dagId, "plan");
    const add = { nodes: researchers(2), deps: { draft: ["r0", "r1"] } };
    await engine.complete(tenant, { dagId, nodeId: "plan", leaseToken: p.leaseToken }, "P", { add });
    const again = await engine.complete(tenant, { dagId, nodeId: "plan", leaseToken: p.leaseToken }, "P", { add });
    expect(again).toMatchObject({ duplicate: true, ready: [] });
    expect((await engine.getRun(tenant, dagId)).nodes).toHaveLength(4);
    await expectRejectedUnchanged(ctx, dagId, () => engine.complete(tenant, { dagId, nodeId: "plan", leaseToken: p.leaseToken }, "P", { add: { nodes: researchers(3) } }), ConflictError);
    await expectRejectedUnchanged(ctx, dagId, () => engine.complete(tenant, { dagId, nodeId: "plan", leaseToken: p.leaseToken }, "P"), ConflictError);
  });

  it("refuses an addition that would close a cycle, with the cycle's path, and changes nothing", async () => {
    const ctx = fresh();
    const { engine, tenant } = ctx;
    const { dagId } = await engine.submit(tenant, {
      nodes: [
        { id: "a", agent: "ag" },
        { id: "b", agent: "ag", deps: ["a"] },
        { id: "c", agent: "ag", deps: ["b"] },
      ],
    });
    const a = await claimOne(ctx, dagId, "a");
    // b -> c exists; c -> x -> b would close b -> c -> x -> b.
    const err = await expectRejectedUnchanged(
      ctx,
      dagId,
      () => engine.extend(tenant, { dagId, nodeId: "a", leaseToken: a.leaseToken }, { nodes: [{ id: "x", agent: "ag", deps: ["c"] }], deps: { b: ["x"] } }),
      ValidationError,
    );
    expect(err).toMatchObject({ field: "deps.b", details: { cycle: ["x", "b", "c", "x"] } });
    expect(err.message).toContain("x -> b -> c -> x");
    const direct = await expectRejectedUnchanged(ctx, dagId, () => engine.addNodes(tenant, dagId, { deps: { b: ["c"] } }), ValidationError);
    expect(direct).toMatchObject({ details: { cycle: ["c", "b", "c"] } });
  });

  it("names what is wrong with an addition: taken ids, missing deps, targets that are not pending, the node limit", async () => {
    const ctx = fresh();
    const { engine, tenant } = ctx;
    const { dagId } = await engine.submit(tenant, plan());
    const p = await claimOne(ctx, dagId, "plan");
    const cases: [unknown, abstract new (...a: never[]) => Error, string][] = [
      [{ nodes: [{ id: "draft", agent: "x" }] }, ConflictError, "add.nodes[0].id"],
      // More new nodes than the run has: taken ids are found from its order, not one by one.
      [{ nodes: [{ id: "n", agent: "x" }, { id: "m", agent: "x" }, { id: "plan", agent: "x" }] }, ConflictError, "add.nodes[2].id"],
      [{ nodes: [{ id: "n", agent: "x", deps: ["nope"] }] }, ValidationError, "add.nodes[0].deps[0]"],
      [{ deps: { plan: ["draft"] } }, ConflictError, "add.deps.plan"],
      [{ deps: { ghost: ["plan"] } }, ValidationError, "add.deps.ghost"],
      [{ deps: { draft: ["plan"] } }, ValidationError, "add.deps.draft[0]"],
      [{ nodes: [{ id: "n", agent: "x", deps: ["m"] }, { id: "m", agent: "x", deps: ["n"] }] }, ValidationError, "add.nodes[0].deps"],
      [{ nodes: [{ id: "n", agent: "x" }, { id: "n", agent: "x" }] }, ValidationError, "add.nodes[1].id"],
      [{ nodes: [{ id: "n", agent: "x", deps: ["plan"], join: { min: 2 } }] }, ValidationError, "add.nodes[0].join.min"],
      [{ nodes: [{ id: "n", agent: 7 }] }, ValidationError, "add.nodes[0].agent"],
      [{ nodes: [{ id: "n", agent: "x", input: "é".repeat(200_000) }] }, PayloadTooLargeError, "add.nodes[0].input"],
      [{ nodes: Array.from({ length: 9_999 }, (_, i) => ({ id: `n${i}`, agent: "x" })) }, PayloadTooLargeError, "add.nodes"],
    ];
    for (const [add, type, field] of cases) {
      const err = await expectRejectedUnchanged(ctx, dagId, () => engine.complete(tenant, { dagId, nodeId: "plan", leaseToken: p.leaseToken }, "P", { add: add as never }), type);
      expect(err, JSON.stringify(add).slice(0, 80)).toMatchObject({ field });
    }
    const e = await rejection(engine.complete(tenant, { dagId, nodeId: "plan", leaseToken: p.leaseToken }, "P", { add: { deps: { plan: ["draft"] } } }));
    expect(e.message).toContain("plan is running");
  });

  it("makes a node added to a paused run ready but neither queues nor announces it until the run resumes", async () => {
    const ctx = fresh();
    const { engine, tenant } = ctx;
    const { dagId } = await engine.submit(tenant, { nodes: [{ id: "a", agent: "held" }] });
    await engine.pause(tenant, dagId);
    expect(await engine.addNodes(tenant, dagId, { nodes: [{ id: "n1", agent: "held" }, { id: "n2", agent: "held", deps: ["n1"] }] })).toEqual({ added: ["n1", "n2"], ready: ["n1"] });
    expect(statuses(await engine.getRun(tenant, dagId))).toMatchObject({ n1: "ready", n2: "pending" });
    expect(await engine.claim(tenant, "held", { max: 10 })).toEqual([]);
    const announced = async () => (await allOutbox(engine)).filter((e) => e.type === "NodeReady" && e.dagId === dagId).map((e) => e.nodeId);
    expect(await announced()).toEqual(["a"]);
    expect((await allEvents(engine, tenant, dagId)).filter((e) => e.node === "n1").map((e) => e.type)).toEqual(["node.added", "node.ready"]);
    await engine.resume(tenant, dagId);
    // Resume announces every ready node of the run, n1 among them, once.
    expect((await announced()).filter((n) => n === "n1")).toEqual(["n1"]);
    expect((await engine.claim(tenant, "held", { max: 10 })).map((t) => t.nodeId).sort()).toEqual(["a", "n1"]);
  });

  it("adds from outside while the run runs, and refuses once it has ended", async () => {
    const ctx = fresh();
    const { engine, tenant } = ctx;
    const { dagId } = await engine.submit(tenant, plan());
    expect(await engine.addNodes(tenant, dagId, { nodes: [{ id: "extra", agent: "ag" }], deps: { draft: ["extra"] } }, { actor: "orchestrator" })).toEqual({
      added: ["extra"],
      ready: ["extra"],
    });
    expect(node(await engine.getRun(tenant, dagId), "extra").addedBy).toEqual({ actor: "orchestrator" });
    await engine.cancel(tenant, dagId);
    const err = await expectRejectedUnchanged(ctx, dagId, () => engine.addNodes(tenant, dagId, { nodes: [{ id: "late", agent: "ag" }] }), ConflictError);
    expect(err.message).toContain("has ended");
  });

  it("rewinding the adder removes what it added, and it adds anew", async () => {
    const ctx = fresh();
    const { engine, tenant } = ctx;
    const { dagId } = await engine.submit(tenant, plan());
    const p = await claimOne(ctx, dagId, "plan");
    await engine.complete(tenant, { dagId, nodeId: "plan", leaseToken: p.leaseToken }, "P", { add: { nodes: researchers(2), deps: { draft: ["r0", "r1"] } } });
    const r0 = await claimOne(ctx, dagId, "r0");
    // r0 adds a follow-up of its own: it goes with r0.
    await engine.complete(tenant, { dagId, nodeId: "r0", leaseToken: r0.leaseToken }, "R0", { add: { nodes: [{ id: "deeper", agent: "researcher", deps: ["r0"] }] } });
    await claimOne(ctx, dagId, "r1");
    const reset = await engine.rewind(tenant, dagId, "plan");
    expect([...(reset.removed ?? [])].sort()).toEqual(["deeper", "r0", "r1"]);
    const run = await engine.getRun(tenant, dagId);
    expect(statuses(run)).toEqual({ plan: "ready", draft: "pending" });
    expect(node(run, "draft").deps).toEqual(["plan"]);
    const events = await allEvents(engine, tenant, dagId);
    expect(events.filter((e) => e.type === "node.removed").map((e) => e.node).sort()).toEqual(["deeper", "r0", "r1"]);
    // The folded log agrees with the run, and the old lease of r1 is void.
    const folded = foldEvents(run.nodes, events);
    expect(Object.keys(folded.nodes).sort()).toEqual(["draft", "plan"]);
    const p2 = await claimOne(ctx, dagId, "plan");
    const again = await engine.complete(tenant, { dagId, nodeId: "plan", leaseToken: p2.leaseToken }, "P2", { add: { nodes: researchers(1), deps: { draft: ["r0"] } } });
    expect(again.ready).toEqual(["r0"]);
    const t = await claimOne(ctx, dagId, "r0");
    expect((await engine.complete(tenant, { dagId, nodeId: "r0", leaseToken: t.leaseToken }, "R0")).ready).toEqual(["draft"]);
  });
});

describe.each(backends)("joins and per-node onFailure on %s", (name) => {
  const { fresh } = useEngines(name);
  const three = (extra: Record<string, unknown> = {}) => ({
    nodes: [
      ...["a", "b", "c"].map((id) => ({ id, agent: "researcher", onFailure: "continue", retry: { maxAttempts: 1, backoffMs: 0 } })),
      { id: "draft", agent: "writer", deps: ["a", "b", "c"], join: { min: 2 } },
      { id: "other", agent: "x", retry: { maxAttempts: 1, backoffMs: 0 } },
    ],
    ...extra,
  });

  it("starts a join as soon as k deps succeeded, and its parents say which did not", async () => {
    const ctx = fresh();
    const { engine, tenant } = ctx;
    const { dagId } = await engine.submit(tenant, three());
    const a = await claimOne(ctx, dagId, "a");
    await engine.fail(tenant, { dagId, nodeId: "a", leaseToken: a.leaseToken }, { message: "no source" });
    const b = await claimOne(ctx, dagId, "b");
    expect((await engine.complete(tenant, { dagId, nodeId: "b", leaseToken: b.leaseToken }, "B")).ready).toEqual([]);
    const c = await claimOne(ctx, dagId, "c");
    expect((await engine.complete(tenant, { dagId, nodeId: "c", leaseToken: c.leaseToken }, "C")).ready).toEqual(["draft"]);
    expect(await engine.parents(tenant, dagId, "draft")).toEqual({ outputs: { b: "B", c: "C" }, notSucceeded: { a: "failed" } });
    const d = await claimOne(ctx, dagId, "draft");
    await engine.complete(tenant, { dagId, nodeId: "draft", leaseToken: d.leaseToken }, "D");
    const o = await claimOne(ctx, dagId, "other");
    // The failure of a was absorbed by draft's join: the run succeeds.
    expect((await engine.complete(tenant, { dagId, nodeId: "other", leaseToken: o.leaseToken }, "O")).runStatus).toBe("succeeded");
    expect((await engine.getRun(tenant, dagId)).counts).toMatchObject({ failed: 1, succeeded: 4 });
  });

  it("starts a join before its slow deps finish", async () => {
    const ctx = fresh();
    const { engine, tenant } = ctx;
    const { dagId } = await engine.submit(tenant, three());
    for (const id of ["a", "b"]) {
      const t = await claimOne(ctx, dagId, id);
      await engine.complete(tenant, { dagId, nodeId: id, leaseToken: t.leaseToken }, id);
    }
    expect(node(await engine.getRun(tenant, dagId), "draft").status).toBe("ready");
    expect(node(await engine.getRun(tenant, dagId), "c").status).toBe("ready");
  });

  it("fails the run once the join can no longer be met (fail-fast run), and a node's own failure with onFailure=continue does not", async () => {
    const ctx = fresh();
    const { engine, tenant } = ctx;
    const { dagId } = await engine.submit(tenant, three());
    const a = await claimOne(ctx, dagId, "a");
    expect((await engine.fail(tenant, { dagId, nodeId: "a", leaseToken: a.leaseToken }, { message: "x" })).runStatus).toBe("running");
    const b = await claimOne(ctx, dagId, "b");
    expect((await engine.fail(tenant, { dagId, nodeId: "b", leaseToken: b.leaseToken }, { message: "x" })).runStatus).toBe("failed");
    expect(statuses(await engine.getRun(tenant, dagId))).toMatchObject({ a: "failed", b: "failed", c: "cancelled", draft: "cancelled", other: "cancelled" });
  });

  it("skips a join that can no longer be met when the run continues, and any other failure still fails a fail-fast run", async () => {
    const ctx = fresh();
    const { engine, tenant } = ctx;
    const { dagId } = await engine.submit(tenant, three({ onFailure: "continue" }));
    for (const id of ["a", "b"]) {
      const t = await claimOne(ctx, dagId, id);
      await engine.fail(tenant, { dagId, nodeId: id, leaseToken: t.leaseToken }, { message: "x" });
    }
    expect(node(await engine.getRun(tenant, dagId), "draft").status).toBe("skipped");

    const ff = fresh();
    const run2 = await ff.engine.submit(ff.tenant, three());
    const o = await claimOne(ff, run2.dagId, "other");
    expect((await ff.engine.fail(ff.tenant, { dagId: run2.dagId, nodeId: "other", leaseToken: o.leaseToken }, { message: "x" })).runStatus).toBe("failed");
  });

  it("redrives a run whose join was not met: the failed deps run again and the join waits for its quorum anew", async () => {
    const ctx = fresh();
    const { engine, tenant } = ctx;
    const { dagId } = await engine.submit(tenant, three());
    for (const id of ["a", "b"]) {
      const t = await claimOne(ctx, dagId, id);
      await engine.fail(tenant, { dagId, nodeId: id, leaseToken: t.leaseToken }, { message: "x" });
    }
    const r = await engine.redrive(tenant, dagId);
    expect([...r.ready].sort()).toEqual(["a", "b", "c", "other"]);
    for (const id of ["a", "c"]) {
      const t = await claimOne(ctx, dagId, id);
      await engine.complete(tenant, { dagId, nodeId: id, leaseToken: t.leaseToken }, id);
    }
    expect(node(await engine.getRun(tenant, dagId), "draft").status).toBe("ready");
  });

  it("refuses a rewind that would leave a reset node waiting forever on a failed dep it keeps, and changes nothing", async () => {
    const ctx = fresh();
    const { engine, tenant } = ctx;
    // b fails for good; a succeeds; d needs both (plain) and j needs both (a join of 2): both are skipped.
    const { dagId } = await engine.submit(tenant, {
      onFailure: "continue",
      nodes: [
        { id: "a", agent: "x" },
        { id: "b", agent: "x", retry: { maxAttempts: 1, backoffMs: 0 } },
        { id: "d", agent: "x", deps: ["a", "b"] },
        { id: "j", agent: "x", deps: ["a", "b"], join: { min: 2 } },
      ],
    });
    const a = await claimOne(ctx, dagId, "a");
    await engine.complete(tenant, { dagId, nodeId: "a", leaseToken: a.leaseToken }, "A");
    const b = await claimOne(ctx, dagId, "b");
    expect((await engine.fail(tenant, { dagId, nodeId: "b", leaseToken: b.leaseToken }, { message: "no" })).runStatus).toBe("failed");
    const err = await expectRejectedUnchanged(ctx, dagId, () => engine.rewind(tenant, dagId, "a"), ConflictError);
    expect(err.message).toContain("node d could never run again: its dep b stays failed; rewind them too");
    // Rewinding b as well (a redrive) lets both run.
    expect([...(await engine.redrive(tenant, dagId)).reset].sort()).toEqual(["b", "d", "j"]);
  });

  it("gives a pending join new deps that have not succeeded yet, and it waits for its quorum among all of them", async () => {
    const ctx = fresh();
    const { engine, tenant } = ctx;
    const { dagId } = await engine.submit(tenant, {
      nodes: [{ id: "a", agent: "x" }, { id: "b", agent: "x" }, { id: "j", agent: "x", deps: ["a", "b"], join: { min: 2 } }],
    });
    expect(await engine.addNodes(tenant, dagId, { nodes: [{ id: "c", agent: "x", deps: ["a"] }], deps: { j: ["c"] } })).toEqual({ added: ["c"], ready: [] });
    for (const id of ["a", "c"]) {
      const t = await claimOne(ctx, dagId, id);
      await engine.complete(tenant, { dagId, nodeId: id, leaseToken: t.leaseToken }, id);
    }
    expect(node(await engine.getRun(tenant, dagId), "j")).toMatchObject({ status: "ready", deps: ["a", "b", "c"] });
  });

  it("refuses a join that asks for more successes than it has deps", async () => {
    const ctx = fresh();
    const err = await rejection(ctx.engine.submit(ctx.tenant, { nodes: [{ id: "a", agent: "x" }, { id: "b", agent: "x", deps: ["a"], join: { min: 2 } }] }));
    expect(err).toMatchObject({ field: "nodes[1].join.min" });
  });
});
