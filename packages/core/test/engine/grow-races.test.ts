import { describe, expect, it } from "vitest";
import { ValidationError } from "@weft/core";
import type { Addition } from "@weft/core";
import { backends } from "@weft/test-support";
import { allEvents, claimOne, peer, statuses, useEngines, type EngineCtx } from "./harness.js";
import { logViolations } from "./invariants.js";

const PENDING = 10;

/** A path from a node back to itself along deps, if the run has one. */
function cycle(deps: Map<string, string[]>): string[] | undefined {
  const state = new Map<string, 1 | 2>();
  for (const start of deps.keys()) {
    const stack: [string, number][] = [[start, 0]];
    const path: string[] = [];
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      const [id, i] = top;
      if (i === 0) {
        if (state.get(id) === 2) {
          stack.pop();
          continue;
        }
        if (state.get(id) === 1) return [...path.slice(path.indexOf(id)), id];
        state.set(id, 1);
        path.push(id);
      }
      const next = (deps.get(id) ?? [])[i];
      if (next === undefined) {
        state.set(id, 2);
        path.pop();
        stack.pop();
      } else {
        top[1] = i + 1;
        stack.push([next, 0]);
      }
    }
  }
  return undefined;
}

describe.each(backends)("concurrent additions to one run on %s", (name) => {
  const { fresh, backend } = useEngines(name);

  it("applies every accepted one of 50 racing extensions whole, never lets a pair close a cycle, and rejected ones change nothing", async () => {
    const ctx = fresh();
    const { tenant } = ctx;
    const targets = Array.from({ length: PENDING }, (_, i) => `p${i}`);
    const { dagId } = await ctx.engine.submit(tenant, {
      nodes: [{ id: "hub", agent: "ag" }, ...targets.map((id) => ({ id, agent: "ag", deps: ["hub"] }))],
    });
    const hub = await claimOne(ctx, dagId, "hub", 60_000);
    // Ten connections, so the calls really race at Redis.
    const peers: EngineCtx[] = Array.from({ length: 10 }, () => peer(ctx, backend().redis()));
    const calls: { add: Addition; pair?: number }[] = [];
    for (let k = 0; k < 10; k++) {
      const [a, b] = [targets[k % PENDING]!, targets[(k + 3) % PENDING]!];
      // A pair of direct edges a <- b and b <- a: each alone is fine, together a cycle.
      calls.push({ add: { deps: { [a]: [b] } }, pair: k }, { add: { deps: { [b]: [a] } }, pair: k });
      // A pair through new nodes: a -> x -> b and b -> y -> a.
      calls.push(
        { add: { nodes: [{ id: `x${k}`, agent: "ag", deps: [a] }], deps: { [b]: [`x${k}`] } }, pair: 10 + k },
        { add: { nodes: [{ id: `y${k}`, agent: "ag", deps: [b] }], deps: { [a]: [`y${k}`] } }, pair: 10 + k },
      );
      // And one that closes nothing: always accepted.
      calls.push({ add: { nodes: [{ id: `free${k}`, agent: "ag", deps: ["hub"] }, { id: `free${k}b`, agent: "ag", deps: [`free${k}`] }] } });
    }
    expect(calls).toHaveLength(50);
    const results = await Promise.allSettled(
      calls.map(({ add }, i) => {
        const e = peers[i % peers.length]!.engine;
        return i % 2 ? e.extend(tenant, { dagId, nodeId: "hub", leaseToken: hub.leaseToken }, add) : e.addNodes(tenant, dagId, add);
      }),
    );
    for (const r of results) if (r.status === "rejected") expect(r.reason).toBeInstanceOf(ValidationError);
    const run = await ctx.engine.getRun(tenant, dagId);
    const deps = new Map(run.nodes.map((n) => [n.id, n.deps]));
    expect(cycle(deps)).toBeUndefined();
    const has = (to: string, from: string) => (deps.get(to) ?? []).includes(from);
    results.forEach((r, i) => {
      const { add } = calls[i]!;
      const applied = [
        ...(add.nodes ?? []).map((n) => deps.has(n.id) && n.deps!.every((d) => has(n.id, d))),
        ...Object.entries(add.deps ?? {}).flatMap(([to, from]) => from.map((f) => has(to, f))),
      ];
      // Whole or nothing: every part of an accepted one is in the run, no part of a rejected one.
      expect(applied.every((x) => x === (r.status === "fulfilled")), `call ${i}: ${JSON.stringify(add)} ${r.status}`).toBe(true);
    });
    // Of each pair exactly one wins; the lone ones always do.
    for (let pair = 0; pair < 20; pair++) {
      const won = results.filter((r, i) => calls[i]!.pair === pair && r.status === "fulfilled").length;
      expect(won, `pair ${pair}`).toBe(1);
    }
    expect(results.filter((r, i) => calls[i]!.pair === undefined && r.status === "rejected")).toEqual([]);
    // The log never shows a cycle, and the run still runs to its end.
    expect(logViolations([{ id: "hub" }, ...targets.map((id) => ({ id, deps: ["hub"] }))], await allEvents(ctx.engine, tenant, dagId))).toEqual([]);
    await ctx.engine.complete(tenant, { dagId, nodeId: "hub", leaseToken: hub.leaseToken }, "H");
    for (let tasks = await ctx.engine.claim(tenant, "ag", { max: 100 }); tasks.length; tasks = await ctx.engine.claim(tenant, "ag", { max: 100 })) {
      for (const t of tasks) await ctx.engine.complete(tenant, { dagId, nodeId: t.nodeId, leaseToken: t.leaseToken }, t.nodeId);
    }
    const end = await ctx.engine.getRun(tenant, dagId);
    expect(end.status).toBe("succeeded");
    expect(Object.values(statuses(end)).every((s) => s === "succeeded")).toBe(true);
  });
});
