import { beforeAll, describe, expect, it } from "vitest";
import { ConflictError } from "@weft/core";
import type { Task } from "@weft/core";
import type { RedisPort } from "@weft/core/redis";
import { backends } from "@weft/test-support";
import { allEvents, peer, useEngines, type EngineCtx } from "./harness.js";
import { countBy, logViolations } from "./invariants.js";

const CONNECTIONS = 10;

/** Settles every promise; returns fulfilled values and rejections apart. */
async function settle<T>(ps: Promise<T>[]): Promise<{ ok: T[]; errors: unknown[] }> {
  const rs = await Promise.allSettled(ps);
  return {
    ok: rs.flatMap((r) => (r.status === "fulfilled" ? [r.value] : [])),
    errors: rs.flatMap((r) => (r.status === "rejected" ? [r.reason] : [])),
  };
}

function later<T>(ms: number, fn: () => Promise<T>): Promise<T> {
  return new Promise((resolve, reject) => setTimeout(() => fn().then(resolve, reject), ms));
}

function fanOutIn(width: number) {
  return {
    nodes: [
      { id: "root", agent: "ag" },
      ...Array.from({ length: width }, (_, i) => ({ id: `m${i}`, agent: "ag", deps: ["root"] })),
      { id: "sink", agent: "ag", deps: Array.from({ length: width }, (_, i) => `m${i}`) },
    ],
  };
}

describe.each(backends)("concurrency on %s", (name) => {
  const { fresh, backend } = useEngines(name);
  let ports: RedisPort[] = [];
  beforeAll(() => {
    ports = Array.from({ length: CONNECTIONS }, () => backend().redis());
  });
  /** One engine per connection, all on the same keys and clock. */
  const workers = (ctx: EngineCtx) => ports.map((p) => peer(ctx, p).engine);

  it("lets exactly one of 100 concurrent claims of one node win", async () => {
    const ctx = fresh();
    const es = workers(ctx);
    const { dagId } = await ctx.engine.submit(ctx.tenant, fanOutIn(2));
    const rs = await Promise.allSettled(
      Array.from({ length: 100 }, (_, i) => es[i % CONNECTIONS]!.claimNode(ctx.tenant, dagId, "root", { workerId: `w${i}` })),
    );
    const winners = rs.flatMap((r, i) => (r.status === "fulfilled" ? [i] : []));
    expect(winners).toHaveLength(1);
    for (const r of rs) if (r.status === "rejected") expect(r.reason).toBeInstanceOf(ConflictError);
    const started = (await allEvents(ctx.engine, ctx.tenant, dagId)).filter((e) => e.type === "node.started");
    expect(started).toHaveLength(1);
    expect(started[0]!.data?.workerId).toBe(`w${winners[0]}`);
  });

  it("hands each ready node to exactly one of 100 concurrent batch claims", async () => {
    const ctx = fresh();
    const es = workers(ctx);
    const { dagId } = await ctx.engine.submit(ctx.tenant, { nodes: Array.from({ length: 150 }, (_, i) => ({ id: `n${i}`, agent: "ag" })) });
    const r = await settle(Array.from({ length: 100 }, (_, i) => es[i % CONNECTIONS]!.claim(ctx.tenant, "ag", { max: 3, workerId: `w${i}` })));
    expect(r.errors).toEqual([]);
    const tasks = r.ok.flat();
    expect(tasks).toHaveLength(150);
    expect(new Set(tasks.map((t) => t.nodeId)).size).toBe(150);
    expect(new Set(tasks.map((t) => t.leaseToken)).size).toBe(150);
    expect((await ctx.engine.getRun(ctx.tenant, dagId)).counts.running).toBe(150);
  });

  it("accepts exactly one success per node when 100 completions race, duplicates and forgeries included", async () => {
    const ctx = fresh();
    const es = workers(ctx);
    const { dagId } = await ctx.engine.submit(ctx.tenant, { nodes: Array.from({ length: 25 }, (_, i) => ({ id: `n${i}`, agent: "ag" })) });
    const tasks = await ctx.engine.claim(ctx.tenant, "ag", { max: 25 });
    expect(tasks).toHaveLength(25);
    // Per node: three identical completions on different connections and one forged token.
    const calls = tasks.flatMap((t, i) => [
      ...[0, 1, 2].map((k) => ({ t, token: t.leaseToken, e: es[(i + k) % CONNECTIONS]! })),
      { t, token: `${t.attempt}.forged${i}xxxxxxxxxxxxxxxx`, e: es[(i + 3) % CONNECTIONS]! },
    ]);
    expect(calls).toHaveLength(100);
    const results = await Promise.allSettled(calls.map((c) => c.e.complete(ctx.tenant, { dagId, nodeId: c.t.nodeId, leaseToken: c.token }, { node: c.t.nodeId })));
    const accepted = new Map<string, number>();
    results.forEach((r, i) => {
      const c = calls[i]!;
      if (c.token !== c.t.leaseToken) {
        expect(r.status).toBe("rejected");
        if (r.status === "rejected") expect(r.reason).toBeInstanceOf(ConflictError);
        return;
      }
      expect(r.status).toBe("fulfilled");
      if (r.status === "fulfilled" && !r.value.duplicate) accepted.set(c.t.nodeId, (accepted.get(c.t.nodeId) ?? 0) + 1);
    });
    expect([...accepted.values()]).toEqual(Array(25).fill(1));
    const events = await allEvents(ctx.engine, ctx.tenant, dagId);
    expect([...countBy(events, "node.succeeded").values()]).toEqual(Array(25).fill(1));
    expect((await ctx.engine.getRun(ctx.tenant, dagId)).status).toBe("succeeded");
    expect(events.filter((e) => e.type === "run.succeeded")).toHaveLength(1);
  });

  it("runs a 1 -> 100 -> 1 DAG with 10 racing workers that double-report: each node succeeds once, the sink starts last", async () => {
    const ctx = fresh();
    const es = workers(ctx);
    const spec = fanOutIn(100);
    const { dagId } = await ctx.engine.submit(ctx.tenant, spec);
    const work = async (w: number) => {
      const e = es[w]!;
      for (let round = 0; round < 500; round++) {
        const tasks = await e.claim(ctx.tenant, "ag", { max: 5, workerId: `w${w}` });
        if (tasks.length === 0) {
          if ((await e.getRun(ctx.tenant, dagId)).status !== "running") return;
          await new Promise((r) => setTimeout(r, 2));
          continue;
        }
        // Each completion is sent twice at once, over two connections (a retried HTTP call).
        const twin = es[(w + 1) % CONNECTIONS]!;
        await Promise.all(
          tasks.flatMap((t: Task) => [
            e.complete(ctx.tenant, { dagId, nodeId: t.nodeId, leaseToken: t.leaseToken }, t.nodeId),
            twin.complete(ctx.tenant, { dagId, nodeId: t.nodeId, leaseToken: t.leaseToken }, t.nodeId),
          ]),
        );
      }
      throw new Error(`worker ${w} did not see the run finish`);
    };
    await Promise.all(es.map((_, w) => work(w)));
    const run = await ctx.engine.getRun(ctx.tenant, dagId);
    expect(run.status).toBe("succeeded");
    expect(run.counts.succeeded).toBe(102);
    const events = await allEvents(ctx.engine, ctx.tenant, dagId);
    expect(logViolations(spec.nodes, events)).toEqual([]);
    expect([...countBy(events, "node.succeeded").values()].every((n) => n === 1)).toBe(true);
    expect([...countBy(events, "node.started").values()].every((n) => n === 1)).toBe(true);
    expect(countBy(events, "node.ready").get("sink")).toBe(1);
  });

  it("never keeps two live leases when completions race reconcile at lease expiry", async () => {
    const ctx = fresh();
    const es = workers(ctx);
    const nodes = Array.from({ length: 50 }, (_, i) => ({ id: `n${i}`, agent: "ag", retry: { maxAttempts: 3, backoffMs: 0 } }));
    const { dagId } = await ctx.engine.submit(ctx.tenant, { nodes });
    const first = await ctx.engine.claim(ctx.tenant, "ag", { max: 50, leaseMs: 1000 });
    ctx.clock.advance(1000); // every lease is now due for expiry
    // 50 completions with the first tokens, 10 reconciles and 40 claims (which sweep too),
    // started over the same 10 ms so that some completions land before the sweep, some after.
    const completions = first.map((t, i) => later(2 * (i % 5), () => es[i % CONNECTIONS]!.complete(ctx.tenant, { dagId, nodeId: t.nodeId, leaseToken: t.leaseToken }, "first")));
    const sweeps = es.map((e, i) => later(4 + (i % 2), () => e.reconcile()));
    const claims = Array.from({ length: 40 }, (_, i) => later(5 + (i % 3), () => es[i % CONNECTIONS]!.claim(ctx.tenant, "ag", { max: 3, leaseMs: 1000 })));
    const [done] = await Promise.all([Promise.allSettled(completions), Promise.all(sweeps), Promise.all(claims)]);
    for (const r of done) if (r.status === "rejected") expect(r.reason).toBeInstanceOf(ConflictError);

    const events = await allEvents(ctx.engine, ctx.tenant, dagId);
    expect(logViolations(nodes, events)).toEqual([]);
    const run = await ctx.engine.getRun(ctx.tenant, dagId);
    done.forEach((r, i) => {
      const n = run.nodes.find((x) => x.id === first[i]!.nodeId)!;
      if (r.status === "fulfilled") {
        // An accepted first completion means the expired lease was never retried.
        expect(n).toMatchObject({ status: "succeeded", attempt: 1 });
      } else {
        expect(["retrying", "ready", "running"]).toContain(n.status);
        expect(n.attempt).toBeGreaterThanOrEqual(1);
      }
    });
  });
});
