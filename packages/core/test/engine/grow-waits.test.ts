import { describe, expect, it } from "vitest";
import { ConflictError, NotFoundError, ValidationError } from "@weft/core";
import { backends } from "@weft/test-support";
import { allEvents, allOutbox, claimOne, expectLogFoldsToRun, expectRejectedUnchanged, expectSoundLog, node, rejection, statuses, useEngines } from "./harness.js";

const SECRET = "a test signing secret of 32+ characters";

/** plan -> draft, as a planner's run starts. */
const plan = () => ({
  nodes: [
    { id: "plan", agent: "planner" },
    { id: "draft", agent: "writer", deps: ["plan"] },
  ],
});

describe.each(backends)("added wait nodes on %s", (name) => {
  const { fresh } = useEngines(name);

  it("an approval node added on completion waits, is never claimed, and a signal releases the node that now waits for it", async () => {
    const ctx = fresh();
    const { engine, tenant } = ctx;
    const { dagId } = await engine.submit(tenant, plan());
    const p = await claimOne(ctx, dagId, "plan");
    const r = await engine.complete(tenant, { dagId, nodeId: "plan", leaseToken: p.leaseToken }, { outline: 1 }, {
      add: { nodes: [{ id: "approve", deps: ["plan"], input: { question: "go on?" }, wait: { timeoutMs: 60_000 } }], deps: { draft: ["approve"] } },
    });
    // Waiting is not ready: no agent is told to run it.
    expect(r.ready).toEqual([]);
    const run = await engine.getRun(tenant, dagId);
    expect(statuses(run)).toEqual({ plan: "succeeded", draft: "pending", approve: "waiting" });
    expect(node(run, "approve")).toMatchObject({ agent: "", addedBy: { node: "plan", attempt: 1 }, wait: { gen: 1, timeoutMs: 60_000, onTimeout: "fail", timeoutAt: ctx.clock.now + 60_000 } });
    const added = (await allEvents(engine, tenant, dagId)).find((e) => e.type === "node.added")!;
    expect(added).toMatchObject({ node: "approve", data: { wait: true, deps: ["plan"], addedBy: { node: "plan", attempt: 1 } } });
    const outbox = (await allOutbox(engine)).filter((e) => e.dagId === dagId);
    expect(outbox.filter((e) => e.type === "NodeWaiting")).toMatchObject([{ nodeId: "approve", waitGen: 1 }]);
    expect(outbox.filter((e) => e.type === "NodeReady").map((e) => e.nodeId)).toEqual(["plan"]);
    expect(await engine.claim(tenant, "writer", { max: 10 })).toEqual([]);
    await expectRejectedUnchanged(ctx, dagId, () => engine.claimNode(tenant, dagId, "approve"), ConflictError);

    expect(await engine.signal(tenant, dagId, "approve", { output: { approved: true }, by: "ed" })).toEqual({ status: "succeeded", runStatus: "running", duplicate: false });
    expect(statuses(await engine.getRun(tenant, dagId))).toMatchObject({ approve: "succeeded", draft: "ready" });
    const d = await claimOne(ctx, dagId, "draft");
    expect(await engine.parentOutputs(tenant, dagId, "draft")).toEqual({ plan: { outline: 1 }, approve: { approved: true } });
    expect((await engine.complete(tenant, { dagId, nodeId: "draft", leaseToken: d.leaseToken }, "D")).runStatus).toBe("succeeded");
    await expectSoundLog(ctx, dagId, plan().nodes);
  });

  it("a wait node added from outside without deps waits at once; its timeout ends it with the default output", async () => {
    const ctx = fresh();
    const { engine, tenant } = ctx;
    const { dagId } = await engine.submit(tenant, plan());
    const gate = { id: "gate", wait: { timeoutMs: 1000, onTimeout: "succeed" as const, output: { approved: "by default" } } };
    expect(await engine.addNodes(tenant, dagId, { nodes: [gate], deps: { draft: ["gate"] } })).toEqual({ added: ["gate"], ready: [] });
    expect(node(await engine.getRun(tenant, dagId), "gate")).toMatchObject({ status: "waiting", addedBy: { actor: "api" } });
    const p = await claimOne(ctx, dagId, "plan");
    expect((await engine.complete(tenant, { dagId, nodeId: "plan", leaseToken: p.leaseToken }, "P")).ready).toEqual([]);
    ctx.clock.advance(999);
    expect((await engine.reconcile()).waitsDue).toBe(0);
    ctx.clock.advance(1);
    expect((await engine.reconcile()).waitsDue).toBe(1);
    const run = await engine.getRun(tenant, dagId);
    expect(node(run, "gate")).toMatchObject({ status: "succeeded", output: { approved: "by default" }, signal: { via: "timeout" } });
    expect(node(run, "draft").status).toBe("ready");
    await expectSoundLog(ctx, dagId, plan().nodes);
  });

  it("a wait node a running node adds by extension waits for that node, then for a signal by its token", async () => {
    const ctx = fresh({ signingSecret: SECRET, publicUrl: "https://api.example.com/" });
    const { engine, tenant } = ctx;
    const { dagId } = await engine.submit(tenant, plan());
    const p = await claimOne(ctx, dagId, "plan");
    const ext = await engine.extend(tenant, { dagId, nodeId: "plan", leaseToken: p.leaseToken }, { nodes: [{ id: "ok", deps: ["plan"], wait: { key: "review-7" } }], deps: { draft: ["ok"] } });
    expect(ext).toEqual({ duplicate: false, added: ["ok"], ready: [] });
    expect(node(await engine.getRun(tenant, dagId), "ok").status).toBe("pending");
    await engine.complete(tenant, { dagId, nodeId: "plan", leaseToken: p.leaseToken }, "P");
    expect(node(await engine.getRun(tenant, dagId), "ok").status).toBe("waiting");
    const [announced] = (await allOutbox(engine)).filter((e) => e.type === "NodeWaiting" && e.dagId === dagId);
    expect(announced!.signalUrl).toBe(`https://api.example.com/v1/signals/${announced!.signalToken}`);
    expect(await engine.signalByToken(announced!.signalToken!, { output: "yes", by: "slack:U1" })).toMatchObject({ status: "succeeded", dagId, nodeId: "ok" });
    expect(node(await engine.getRun(tenant, dagId), "draft").status).toBe("ready");
    await expectSoundLog(ctx, dagId, plan().nodes);
  });

  it("a pending wait node whose join the new deps meet starts waiting (extensions and additions reach the waits index)", async () => {
    const ctx = fresh();
    const { engine, tenant } = ctx;
    const { dagId } = await engine.submit(tenant, {
      nodes: [
        { id: "a", agent: "ag" },
        { id: "b", agent: "ag" },
        { id: "gate", deps: ["a"], join: { min: 1 }, wait: { key: "k1" } },
      ],
    });
    const b = await claimOne(ctx, dagId, "b");
    await engine.complete(tenant, { dagId, nodeId: "b", leaseToken: b.leaseToken }, "B");
    const a = await claimOne(ctx, dagId, "a");
    expect(await engine.extend(tenant, { dagId, nodeId: "a", leaseToken: a.leaseToken }, { deps: { gate: ["b"] } })).toEqual({ duplicate: false, added: [], ready: [] });
    expect(node(await engine.getRun(tenant, dagId), "gate").status).toBe("waiting");
    expect(await engine.signalKey(tenant, "k1", { output: 1 })).toMatchObject({ signalled: 1 });
    expect(node(await engine.getRun(tenant, dagId), "gate").status).toBe("succeeded");
  });

  it("rewinding the adder removes its waiting node with its wait: no timeout fires later, its token is void", async () => {
    const ctx = fresh({ signingSecret: SECRET });
    const { engine, tenant } = ctx;
    const { dagId } = await engine.submit(tenant, plan());
    const p = await claimOne(ctx, dagId, "plan");
    await engine.complete(tenant, { dagId, nodeId: "plan", leaseToken: p.leaseToken }, "P", { add: { nodes: [{ id: "approve", deps: ["plan"], wait: { timeoutMs: 500, key: "k2" } }], deps: { draft: ["approve"] } } });
    const [announced] = (await allOutbox(engine)).filter((e) => e.type === "NodeWaiting" && e.dagId === dagId);
    expect((await engine.rewind(tenant, dagId, "plan")).removed).toEqual(["approve"]);
    expect(statuses(await engine.getRun(tenant, dagId))).toEqual({ plan: "ready", draft: "pending" });
    ctx.clock.advance(1000);
    expect((await engine.reconcile()).waitsDue).toBe(0);
    expect(await rejection(engine.signalByToken(announced!.signalToken!, { output: 1 }))).toBeInstanceOf(NotFoundError);
    expect(await engine.signalKey(tenant, "k2", { output: 1 })).toMatchObject({ signalled: 0 });
    // (The log checker does not model rewinds; the fold does.)
    await expectLogFoldsToRun(ctx, dagId, plan().nodes);
  });

  it("refuses an added wait node with an agent, retry or timeoutMs, naming the field under add.", async () => {
    const ctx = fresh();
    const { engine, tenant } = ctx;
    const { dagId } = await engine.submit(tenant, plan());
    const p = await claimOne(ctx, dagId, "plan");
    for (const [extra, field] of [
      [{ agent: "x" }, "add.nodes[0].agent"],
      [{ retry: { maxAttempts: 2, backoffMs: 0 } }, "add.nodes[0].retry"],
      [{ timeoutMs: 10 }, "add.nodes[0].timeoutMs"],
    ] as const) {
      const err = await expectRejectedUnchanged(
        ctx,
        dagId,
        () => engine.complete(tenant, { dagId, nodeId: "plan", leaseToken: p.leaseToken }, "P", { add: { nodes: [{ id: "w", wait: {}, ...extra }] } }),
        ValidationError,
      );
      expect(err).toMatchObject({ field });
    }
  });
});
