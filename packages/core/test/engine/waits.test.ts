import { describe, expect, it } from "vitest";
import { ConflictError, NotFoundError, ValidationError } from "@weft/core";
import type { RunEvent } from "@weft/core";
import { backends } from "@weft/test-support";
import { allEvents, allOutbox, claimOne, expectLogFoldsToRun, expectRejectedUnchanged, expectSoundLog, node, rejection, statuses, terminalEvents, useEngines, type EngineCtx } from "./harness.js";

const SECRET = "a test signing secret of 32+ characters";

/** write -> approve (a wait node) -> publish, every agent node on agent "ag". */
function approval(wait: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) {
  return {
    nodes: [
      { id: "write", agent: "ag", input: { n: 1 } },
      { id: "approve", deps: ["write"], input: { question: "publish it?" }, wait },
      { id: "publish", agent: "ag", deps: ["approve"] },
    ],
    ...extra,
  };
}

async function toWaiting(ctx: EngineCtx, spec = approval()) {
  const { dagId } = await ctx.engine.submit(ctx.tenant, spec);
  const t = await claimOne(ctx, dagId, "write");
  await ctx.engine.complete(ctx.tenant, { dagId, nodeId: "write", leaseToken: t.leaseToken }, { text: "draft" });
  return dagId;
}

const ends = (events: RunEvent[], nodeId: string) =>
  events.filter((e) => e.node === nodeId && (e.type === "node.succeeded" || e.type === "node.failed" || e.type === "node.ready"));

describe.each(backends)("wait nodes and signals on %s", (name) => {
  const { fresh } = useEngines(name);

  it("a wait node whose deps are met waits, is never claimed, and is announced with its input", async () => {
    const ctx = fresh();
    const dagId = await toWaiting(ctx, approval({ timeoutMs: 60_000 }));
    const run = await ctx.engine.getRun(ctx.tenant, dagId);
    expect(node(run, "approve")).toMatchObject({ status: "waiting", agent: "", wait: { gen: 1, timeoutMs: 60_000, onTimeout: "fail", timeoutAt: ctx.clock.now + 60_000 } });
    expect(run.counts.waiting).toBe(1);
    const waiting = (await allEvents(ctx.engine, ctx.tenant, dagId)).find((e) => e.type === "node.waiting")!;
    expect(waiting).toMatchObject({ node: "approve", from: "pending", data: { gen: 1, timeoutAt: ctx.clock.now + 60_000, input: { question: "publish it?" } } });
    expect((await allOutbox(ctx.engine)).filter((e) => e.type === "NodeWaiting")).toMatchObject([{ dagId, nodeId: "approve", waitGen: 1 }]);
    expect(await ctx.engine.claim(ctx.tenant, "ag", { max: 10 })).toEqual([]);
    await expectRejectedUnchanged(ctx, dagId, () => ctx.engine.claimNode(ctx.tenant, dagId, "approve"), ConflictError);
  });

  it("a wait root waits from submit, and is not reported as ready", async () => {
    const ctx = fresh();
    const r = await ctx.engine.submit(ctx.tenant, { nodes: [{ id: "gate", wait: {} }, { id: "go", agent: "ag", deps: ["gate"] }] });
    expect(r.ready).toEqual([]);
    expect(statuses(await ctx.engine.getRun(ctx.tenant, r.dagId))).toEqual({ gate: "waiting", go: "pending" });
  });

  it("a signal's output succeeds the wait with it and releases its children; who, how and when is in the log and the run", async () => {
    const ctx = fresh();
    const dagId = await toWaiting(ctx);
    ctx.clock.advance(7);
    const r = await ctx.engine.signal(ctx.tenant, dagId, "approve", { output: { approved: true, note: "ok" }, by: "ana@example.com" });
    expect(r).toEqual({ status: "succeeded", runStatus: "running", duplicate: false });
    const run = await ctx.engine.getRun(ctx.tenant, dagId);
    expect(node(run, "approve")).toMatchObject({ status: "succeeded", output: { approved: true, note: "ok" }, signal: { via: "api", by: "ana@example.com", at: ctx.clock.now } });
    expect(node(run, "publish").status).toBe("ready");
    const log = await allEvents(ctx.engine, ctx.tenant, dagId);
    expect(ends(log, "approve")).toMatchObject([{ type: "node.succeeded", from: "waiting", actor: "ana@example.com", data: { signal: { via: "api", by: "ana@example.com" } } }]);
    expect((await allOutbox(ctx.engine)).map((e) => e.type)).toContain("NodeSucceeded");
    const [p] = await ctx.engine.claim(ctx.tenant, "ag");
    expect(p!.nodeId).toBe("publish");
    await ctx.engine.complete(ctx.tenant, { dagId, nodeId: "publish", leaseToken: p!.leaseToken }, "done");
    expect((await ctx.engine.getRun(ctx.tenant, dagId)).status).toBe("succeeded");
    await expectSoundLog(ctx, dagId, approval().nodes);
  });

  it("a signal's error fails the wait without a retry, and the run's failure policy applies", async () => {
    const ctx = fresh();
    const dagId = await toWaiting(ctx);
    const r = await ctx.engine.signal(ctx.tenant, dagId, "approve", { error: { message: "not good enough" }, by: "ed" });
    expect(r).toEqual({ status: "failed", runStatus: "failed", duplicate: false });
    const run = await ctx.engine.getRun(ctx.tenant, dagId);
    expect(statuses(run)).toEqual({ write: "succeeded", approve: "failed", publish: "cancelled" });
    expect(node(run, "approve").error).toEqual({ message: "not good enough" });
    await expectSoundLog(ctx, dagId, approval().nodes);

    const cont = fresh();
    const d2 = await toWaiting(cont, approval({}, { onFailure: "continue" }));
    await cont.engine.signal(cont.tenant, d2, "approve", { error: { message: "no" } });
    expect(statuses(await cont.engine.getRun(cont.tenant, d2))).toEqual({ write: "succeeded", approve: "failed", publish: "skipped" });
  });

  it("rejects a signal to a node that is not waiting, another tenant's node, a cancelled run, or a bad signal, without changing anything", async () => {
    const ctx = fresh();
    const { dagId } = await ctx.engine.submit(ctx.tenant, approval());
    await expectRejectedUnchanged(ctx, dagId, () => ctx.engine.signal(ctx.tenant, dagId, "approve", { output: 1 }), ConflictError); // pending
    await expectRejectedUnchanged(ctx, dagId, () => ctx.engine.signal(ctx.tenant, dagId, "write", { output: 1 }), ConflictError); // ready
    const t = await claimOne(ctx, dagId, "write");
    await expectRejectedUnchanged(ctx, dagId, () => ctx.engine.signal(ctx.tenant, dagId, "write", { output: 1 }), ConflictError); // running
    await ctx.engine.complete(ctx.tenant, { dagId, nodeId: "write", leaseToken: t.leaseToken }, 1);
    await expectRejectedUnchanged(ctx, dagId, () => ctx.engine.signal("someone-else", dagId, "approve", { output: 1 }), NotFoundError);
    await expectRejectedUnchanged(ctx, dagId, () => ctx.engine.signal(ctx.tenant, dagId, "nope", { output: 1 }), NotFoundError);
    await expectRejectedUnchanged(ctx, dagId, () => ctx.engine.signal(ctx.tenant, dagId, "approve", { output: 1, error: { message: "x" } }), ValidationError);
    await expectRejectedUnchanged(ctx, dagId, () => ctx.engine.signal(ctx.tenant, dagId, "approve", { error: { message: "" } }), ValidationError);
    await expectRejectedUnchanged(ctx, dagId, () => ctx.engine.signal(ctx.tenant, dagId, "approve", { by: "" }), ValidationError);
    await ctx.engine.cancel(ctx.tenant, dagId);
    expect(node(await ctx.engine.getRun(ctx.tenant, dagId), "approve").status).toBe("cancelled");
    const err = await expectRejectedUnchanged(ctx, dagId, () => ctx.engine.signal(ctx.tenant, dagId, "approve", { output: 1 }), ConflictError);
    expect((err as ConflictError).details).toMatchObject({ current: { status: "cancelled", runStatus: "cancelled" } });
  });

  it("of 20 concurrent signals exactly one wins; the rest are conflicts, or duplicates when they carry the same signalId", async () => {
    const ctx = fresh();
    const dagId = await toWaiting(ctx);
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => ctx.engine.signal(ctx.tenant, dagId, "approve", { output: { i }, by: `p${i}` })));
    const won = results.filter((r) => r.status === "fulfilled");
    expect(won).toHaveLength(1);
    for (const r of results) if (r.status === "rejected") expect(r.reason).toBeInstanceOf(ConflictError);
    expect(ends(await allEvents(ctx.engine, ctx.tenant, dagId), "approve")).toHaveLength(1);

    const same = fresh();
    const d2 = await toWaiting(same);
    const dup = await Promise.all(Array.from({ length: 20 }, () => same.engine.signal(same.tenant, d2, "approve", { output: "yes", signalId: "hook-1" })));
    expect(dup.filter((r) => !r.duplicate)).toHaveLength(1);
    expect(dup.filter((r) => r.duplicate)).toHaveLength(19);
    const other = await rejection(same.engine.signal(same.tenant, d2, "approve", { output: "yes", signalId: "hook-2" }));
    expect(other).toBeInstanceOf(ConflictError);
  });

  it("times out within one reconcile after its deadline, exactly once: fail fails it, succeed gives the default output", async () => {
    const ctx = fresh();
    const dagId = await toWaiting(ctx, approval({ timeoutMs: 1000 }));
    ctx.clock.advance(999);
    expect((await ctx.engine.reconcile()).waitsDue).toBe(0);
    expect(node(await ctx.engine.getRun(ctx.tenant, dagId), "approve").status).toBe("waiting");
    ctx.clock.advance(1);
    expect((await ctx.engine.reconcile()).waitsDue).toBe(1);
    const run = await ctx.engine.getRun(ctx.tenant, dagId);
    expect(run.status).toBe("failed");
    expect(node(run, "approve")).toMatchObject({ status: "failed", error: { code: "wait_timeout" }, signal: { via: "timeout" } });
    ctx.clock.advance(5000);
    expect((await ctx.engine.reconcile()).waitsDue).toBe(0);
    const log = await allEvents(ctx.engine, ctx.tenant, dagId);
    expect(ends(log, "approve")).toMatchObject([{ type: "node.failed", actor: "reconcile" }]);
    expect(terminalEvents(log)).toHaveLength(1);

    const ok = fresh();
    const d2 = await toWaiting(ok, approval({ timeoutMs: 50, onTimeout: "succeed", output: { approved: true, by: "default" } }));
    ok.clock.advance(50);
    await ok.engine.reconcile();
    const r2 = await ok.engine.getRun(ok.tenant, d2);
    expect(node(r2, "approve")).toMatchObject({ status: "succeeded", output: { approved: true, by: "default" }, signal: { via: "timeout" } });
    expect(node(r2, "publish").status).toBe("ready");
    await expectSoundLog(ok, d2, approval().nodes);
  });

  it("a signal and the timeout at the same moment end the wait once: whichever runs first", async () => {
    for (let i = 0; i < 4; i++) {
      const ctx = fresh();
      const dagId = await toWaiting(ctx, approval({ timeoutMs: 100 }));
      ctx.clock.advance(100);
      const [sig, rec] = await Promise.allSettled([ctx.engine.signal(ctx.tenant, dagId, "approve", { output: "yes" }), ctx.engine.reconcile()]);
      const log = await allEvents(ctx.engine, ctx.tenant, dagId);
      expect(ends(log, "approve")).toHaveLength(1);
      if (sig.status === "fulfilled") expect(ends(log, "approve")[0]!.type).toBe("node.succeeded");
      else {
        expect(sig.reason).toBeInstanceOf(ConflictError);
        expect(rec.status === "fulfilled" && rec.value.waitsDue).toBe(1);
      }
      await expectSoundLog(ctx, dagId, approval().nodes);
    }
  });
});

describe.each(backends)("signal tokens on %s", (name) => {
  const { fresh } = useEngines(name);

  it("a wait's token from NodeWaiting and from the log works once, then is void; a wrong token reveals nothing", async () => {
    const ctx = fresh({ signingSecret: SECRET, publicUrl: "https://api.example.com/" });
    const dagId = await toWaiting(ctx);
    const [announced] = (await allOutbox(ctx.engine)).filter((e) => e.type === "NodeWaiting");
    expect(announced!.signalToken).toMatch(/^[A-Za-z0-9_-]{60,}$/);
    expect(announced!.signalUrl).toBe(`https://api.example.com/v1/signals/${announced!.signalToken}`);
    const logged = (await allEvents(ctx.engine, ctx.tenant, dagId)).find((e) => e.type === "node.waiting")!;
    expect(logged.data?.signalUrl).toMatch(/^https:\/\/api\.example\.com\/v1\/signals\//);

    for (const bad of ["", "x", `${announced!.signalToken!.slice(0, -2)}AA`, "A".repeat(80)]) {
      const err = await expectRejectedUnchanged(ctx, dagId, () => ctx.engine.signalByToken(bad, { output: 1 }), NotFoundError);
      expect(err.message).toBe("no such signal");
    }
    const other = fresh({ signingSecret: "another secret, also 32+ characters long" });
    await expectRejectedUnchanged(ctx, dagId, () => other.engine.signalByToken(announced!.signalToken!, { output: 1 }), NotFoundError);

    expect(await ctx.engine.signalByToken(logged.data!.signalToken as string, { output: { ok: 1 }, by: "slack:U1", signalId: "s1" })).toEqual({
      status: "succeeded",
      runStatus: "running",
      duplicate: false,
      tenant: ctx.tenant,
      dagId,
      nodeId: "approve",
    });
    expect(node(await ctx.engine.getRun(ctx.tenant, dagId), "approve").signal).toMatchObject({ via: "url", by: "slack:U1" });
    // The same delivery again is a duplicate; any other use of a token of that wait is void.
    expect((await ctx.engine.signalByToken(announced!.signalToken!, { output: { ok: 1 }, signalId: "s1" })).duplicate).toBe(true);
    await expectRejectedUnchanged(ctx, dagId, () => ctx.engine.signalByToken(announced!.signalToken!, { output: 2 }), NotFoundError);
  });

  it("a token is void once the node ended otherwise (cancelled run)", async () => {
    const ctx = fresh({ signingSecret: SECRET });
    const dagId = await toWaiting(ctx);
    const token = (await allOutbox(ctx.engine)).find((e) => e.type === "NodeWaiting")!.signalToken!;
    await ctx.engine.cancel(ctx.tenant, dagId);
    await expectRejectedUnchanged(ctx, dagId, () => ctx.engine.signalByToken(token, { output: 1 }), NotFoundError);
  });

  it("without a signing secret there are no tokens, and none is accepted", async () => {
    const ctx = fresh();
    const dagId = await toWaiting(ctx);
    expect((await allOutbox(ctx.engine)).find((e) => e.type === "NodeWaiting")!.signalToken).toBeUndefined();
    const sealed = fresh({ signingSecret: SECRET });
    await toWaiting(sealed);
    const token = (await allOutbox(sealed.engine)).find((e) => e.type === "NodeWaiting")!.signalToken!;
    await expectRejectedUnchanged(ctx, dagId, () => ctx.engine.signalByToken(token, { output: 1 }), NotFoundError);
  });
});

describe.each(backends)("suspend, keys across runs and pause on %s", (name) => {
  const { fresh } = useEngines(name);

  it("an agent suspends: not a failure, its token void; a signal makes it ready and the next attempt carries it", async () => {
    const ctx = fresh({ signingSecret: SECRET });
    const spec = { nodes: [{ id: "book", agent: "ag", input: { trip: "Lisbon" }, retry: { maxAttempts: 1, backoffMs: 0 } }] };
    const { dagId } = await ctx.engine.submit(ctx.tenant, spec);
    const t1 = await claimOne(ctx, dagId, "book");
    const s = await ctx.engine.suspend(ctx.tenant, t1, { timeoutMs: 10_000 }, { input: { confirm: "300 EUR?" }, workerId: "w1" });
    expect(s).toMatchObject({ status: "waiting", attempt: 1, timeoutAt: ctx.clock.now + 10_000 });
    expect(s.signalToken).toBeTruthy();
    const run = await ctx.engine.getRun(ctx.tenant, dagId, { include: { input: true } });
    expect(node(run, "book")).toMatchObject({ status: "waiting", wait: { suspended: true, input: { confirm: "300 EUR?" } } });
    await expectRejectedUnchanged(ctx, dagId, () => ctx.engine.complete(ctx.tenant, { dagId, nodeId: "book", leaseToken: t1.leaseToken }, 1), ConflictError);
    await expectRejectedUnchanged(ctx, dagId, () => ctx.engine.suspend(ctx.tenant, t1, {}), ConflictError);
    const logged = (await allEvents(ctx.engine, ctx.tenant, dagId)).find((e) => e.type === "node.waiting")!;
    expect(logged).toMatchObject({ from: "running", attempt: 1, actor: "w1", data: { input: { confirm: "300 EUR?" } } });

    expect(await ctx.engine.signalByToken(s.signalToken!, { output: { yes: true }, by: "ana" })).toMatchObject({ status: "ready" });
    const [t2] = await ctx.engine.claim(ctx.tenant, "ag");
    expect(t2).toMatchObject({ nodeId: "book", attempt: 2, input: { trip: "Lisbon" }, signal: { via: "url", by: "ana", output: { yes: true } } });
    // maxAttempts 1, and yet a real attempt remains: the suspended one did not count.
    await ctx.engine.fail(ctx.tenant, { dagId, nodeId: "book", leaseToken: t2!.leaseToken }, { message: "flaky" }, { retryable: true });
    expect(node(await ctx.engine.getRun(ctx.tenant, dagId), "book").status).toBe("failed");
    await expectSoundLog(ctx, dagId, spec.nodes);
  });

  it("a suspended agent that times out fails (onTimeout fail) or resumes with the default (succeed)", async () => {
    const ctx = fresh();
    const { dagId } = await ctx.engine.submit(ctx.tenant, { nodes: [{ id: "a", agent: "ag" }, { id: "b", agent: "ag" }] });
    const ta = await claimOne(ctx, dagId, "a");
    const tb = await claimOne(ctx, dagId, "b");
    await ctx.engine.suspend(ctx.tenant, ta, { timeoutMs: 100 });
    await ctx.engine.suspend(ctx.tenant, tb, { timeoutMs: 100, onTimeout: "succeed", output: { decision: "default" } });
    ctx.clock.advance(100);
    expect((await ctx.engine.reconcile()).waitsDue).toBe(2);
    const run = await ctx.engine.getRun(ctx.tenant, dagId);
    expect(node(run, "a")).toMatchObject({ status: "failed", error: { code: "wait_timeout" } });
    // fail-fast cancelled b with a: check the succeed path on a run of its own.
    const ok = fresh();
    const r = await ok.engine.submit(ok.tenant, { nodes: [{ id: "b", agent: "ag" }] });
    await ok.engine.suspend(ok.tenant, await claimOne(ok, r.dagId, "b"), { timeoutMs: 100, onTimeout: "succeed", output: { decision: "default" } });
    ok.clock.advance(100);
    await ok.engine.reconcile();
    const [again] = await ok.engine.claim(ok.tenant, "ag");
    expect(again).toMatchObject({ nodeId: "b", attempt: 2, signal: { via: "timeout", output: { decision: "default" } } });
  });

  it("a signal by key ends every waiting node of the tenant on that key, in any run, and says how many", async () => {
    const ctx = fresh();
    const runs: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await ctx.engine.submit(ctx.tenant, { nodes: [{ id: "paid", wait: { key: i < 2 ? "invoice-123" : "invoice-9" } }, { id: "ship", agent: "ag", deps: ["paid"] }] });
      runs.push(r.dagId);
    }
    // Before anyone waits on it, a signal is not kept.
    expect((await ctx.engine.signalKey(ctx.tenant, "invoice-000", { output: 1 })).signalled).toBe(0);
    expect((await ctx.engine.signalKey("other-tenant", "invoice-123", { output: 1 })).signalled).toBe(0);
    const r = await ctx.engine.signalKey(ctx.tenant, "invoice-123", { output: { amount: 10 }, by: "stripe" });
    expect(r.signalled).toBe(2);
    expect(r.nodes.map((n) => n.dagId).sort()).toEqual(runs.slice(0, 2).sort());
    for (const [i, dagId] of runs.entries()) {
      const run = await ctx.engine.getRun(ctx.tenant, dagId);
      expect(node(run, "paid").status).toBe(i < 2 ? "succeeded" : "waiting");
      if (i < 2) expect(node(run, "paid").signal).toMatchObject({ via: "key", by: "stripe" });
    }
    expect((await ctx.engine.signalKey(ctx.tenant, "invoice-123", { output: 1 })).signalled).toBe(0);
  });

  it("pause holds claims and NodeReady; running attempts finish; resume releases each ready node once", async () => {
    const ctx = fresh();
    const spec = { nodes: [{ id: "a", agent: "ag" }, { id: "b", agent: "ag" }, { id: "c", agent: "ag", deps: ["a"] }] };
    const { dagId } = await ctx.engine.submit(ctx.tenant, spec);
    const ta = await claimOne(ctx, dagId, "a");
    expect(await ctx.engine.pause(ctx.tenant, dagId)).toEqual({ status: "paused", changed: true });
    expect(await ctx.engine.pause(ctx.tenant, dagId)).toEqual({ status: "paused", changed: false });
    const run = await ctx.engine.getRun(ctx.tenant, dagId);
    expect(run.status).toBe("paused");
    expect(run.pausedAt).toBe(ctx.clock.now);
    expect((await ctx.engine.listHotRuns(ctx.tenant, { limit: 10, status: "paused" })).map((r) => r.dagId)).toEqual([dagId]);
    const before = (await allOutbox(ctx.engine)).length;
    expect(await ctx.engine.claim(ctx.tenant, "ag", { max: 10 })).toEqual([]);
    await expectRejectedUnchanged(ctx, dagId, () => ctx.engine.claimNode(ctx.tenant, dagId, "b"), ConflictError);
    await ctx.engine.complete(ctx.tenant, { dagId, nodeId: "a", leaseToken: ta.leaseToken }, 1);
    expect(statuses(await ctx.engine.getRun(ctx.tenant, dagId))).toMatchObject({ a: "succeeded", b: "ready", c: "ready" });
    expect((await allOutbox(ctx.engine)).slice(before).filter((e) => e.type === "NodeReady")).toEqual([]);
    expect(await ctx.engine.claim(ctx.tenant, "ag", { max: 10 })).toEqual([]);

    expect(await ctx.engine.resume(ctx.tenant, dagId)).toEqual({ status: "running", changed: true });
    expect(await ctx.engine.resume(ctx.tenant, dagId)).toEqual({ status: "running", changed: false });
    const ready = (await allOutbox(ctx.engine)).slice(before).filter((e) => e.type === "NodeReady");
    expect(ready.map((e) => e.nodeId).sort()).toEqual(["b", "c"]);
    const tasks = await ctx.engine.claim(ctx.tenant, "ag", { max: 10 });
    expect(tasks.map((t) => t.nodeId).sort()).toEqual(["b", "c"]);
    for (const t of tasks) await ctx.engine.complete(ctx.tenant, { dagId, nodeId: t.nodeId, leaseToken: t.leaseToken }, 1);
    expect((await ctx.engine.getRun(ctx.tenant, dagId)).status).toBe("succeeded");
    await expectRejectedUnchanged(ctx, dagId, () => ctx.engine.pause(ctx.tenant, dagId), ConflictError);
    const log = await allEvents(ctx.engine, ctx.tenant, dagId);
    expect(log.filter((e) => e.type === "run.paused" || e.type === "run.resumed").map((e) => e.type)).toEqual(["run.paused", "run.resumed"]);
    await expectSoundLog(ctx, dagId, spec.nodes);
  });

  it("a redrive of a timed-out wait waits again, with a new generation (old tokens stay void)", async () => {
    const ctx = fresh({ signingSecret: SECRET });
    const dagId = await toWaiting(ctx, approval({ timeoutMs: 10 }));
    const old = (await allOutbox(ctx.engine)).find((e) => e.type === "NodeWaiting")!.signalToken!;
    ctx.clock.advance(10);
    await ctx.engine.reconcile();
    expect((await ctx.engine.getRun(ctx.tenant, dagId)).status).toBe("failed");
    const r = await ctx.engine.redrive(ctx.tenant, dagId);
    expect(r.reset.sort()).toEqual(["approve", "publish"]);
    expect(r.ready).toEqual([]);
    const run = await ctx.engine.getRun(ctx.tenant, dagId);
    expect(node(run, "approve")).toMatchObject({ status: "waiting", wait: { gen: 3, timeoutAt: ctx.clock.now + 10 } });
    expect(node(run, "approve").signal).toBeUndefined();
    await expectRejectedUnchanged(ctx, dagId, () => ctx.engine.signalByToken(old, { output: 1 }), NotFoundError);
    await ctx.engine.signal(ctx.tenant, dagId, "approve", { output: "yes" });
    expect(node(await ctx.engine.getRun(ctx.tenant, dagId), "publish").status).toBe("ready");
    await expectLogFoldsToRun(ctx, dagId, approval().nodes);
  });

  it("refuses a wait node with an agent, retry or timeoutMs, and a node with neither agent nor wait", async () => {
    const ctx = fresh();
    for (const [n, field] of [
      [{ id: "x", agent: "ag", wait: {} }, "nodes[0].agent"],
      [{ id: "x", wait: {}, retry: { maxAttempts: 2, backoffMs: 0 } }, "nodes[0].retry"],
      [{ id: "x", wait: { timeoutMs: 0 } }, "nodes[0].wait.timeoutMs"],
      [{ id: "x", wait: { onTimeout: "maybe" } }, "nodes[0].wait.onTimeout"],
      [{ id: "x", wait: { key: "a b" } }, "nodes[0].wait.key"],
      [{ id: "x" }, "nodes[0].agent"],
    ] as const) {
      const err = await rejection(ctx.engine.submit(ctx.tenant, { nodes: [n] }));
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).field).toBe(field);
    }
  });
});
