import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ConflictError, NotFoundError, ValidationError } from "@weft/core";
import type { Addition } from "@weft/core";
import { NODE_STATUS_OF, RUN_STATUS_OF } from "@weft/core/sdk";
import type { RunEvent, RunStatus, Task } from "@weft/core";
import { createReadThrough, type RunAt } from "@weft/core";
import type { ColdStore } from "@weft/core";
import type { BackendName } from "@weft/test-support";
import { allEvents, useEngines, type EngineCtx } from "./harness.js";

/**
 * History of runs that agents grow: random runs whose nodes add nodes and deps (on completion,
 * by extension, from outside), with failures, rewinds, redrives and lease expiries. The run's
 * history is read at every seq of its log and must be the run as it was then: what the run
 * read as (GET) just after each step, and a replay of the log up to that seq.
 */

const LEASE_MS = 1000;

/** Hot runs only: this cold store has nothing, so history reads Redis. */
const EMPTY_COLD: ColdStore = {
  putRun: async () => {},
  getRun: async () => null,
  getEvents: async () => null,
  listRuns: async () => ({ runs: [] }),
};

interface SubmittedNode {
  id: string;
  agent: string;
  deps: string[];
  retry: { maxAttempts: number; backoffMs: number };
}

const dagArb = fc.integer({ min: 1, max: 10 }).chain((n) =>
  fc.array(fc.record({ deps: fc.uniqueArray(fc.nat(), { maxLength: 2 }), maxAttempts: fc.integer({ min: 1, max: 2 }) }), { minLength: n, maxLength: n }).map((raw) =>
    raw.map(
      (r, i): SubmittedNode => ({
        id: `n${i}`,
        agent: i % 2 ? "beta" : "alpha",
        deps: i === 0 ? [] : [...new Set(r.deps.map((d) => `n${d % i}`))],
        retry: { maxAttempts: r.maxAttempts, backoffMs: 0 },
      }),
    ),
  ),
);

type Action =
  | { kind: "claim"; pick: number }
  | { kind: "complete"; pick: number; grow?: number[] }
  | { kind: "extend"; pick: number; grow: number[] }
  | { kind: "outside"; grow: number[] }
  | { kind: "fail"; pick: number }
  | { kind: "rewind"; pick: number }
  | { kind: "redrive" }
  | { kind: "expire"; ms: number };

const grow = fc.array(fc.nat(1000), { minLength: 6, maxLength: 6 });
const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant("claim" as const), pick: fc.nat(1000) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("complete" as const), pick: fc.nat(1000) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("complete" as const), pick: fc.nat(1000), grow }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("extend" as const), pick: fc.nat(1000), grow }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("outside" as const), grow }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("fail" as const), pick: fc.nat(1000) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("rewind" as const), pick: fc.nat(1000) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("redrive" as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("expire" as const), ms: fc.integer({ min: 0, max: 2000 }) }) },
);

/** The part of a run history must reproduce: its status, and each node's agent, deps, status and attempt. */
interface Picture {
  status: RunStatus;
  nodes: Record<string, { agent: string; deps: string[]; status: string; attempt: number }>;
}

function pictureOf(r: { status: RunStatus; nodes: { id: string; agent: string; deps: string[]; status: string; attempt: number }[] }): Picture {
  return { status: r.status, nodes: Object.fromEntries(r.nodes.map((n) => [n.id, { agent: n.agent, deps: n.deps, status: n.status, attempt: n.attempt }])) };
}

/**
 * The test's own replay of a log: the picture after every seq, in one pass. Submitted nodes
 * come from the spec; `node.added` brings a node with its agent and deps, `node.deps_added`
 * more deps, `node.removed` takes the node out of the run and out of every dep list.
 */
function replay(submitted: SubmittedNode[], events: RunEvent[]): Map<number, Picture> {
  const nodes = new Map(submitted.map((n) => [n.id, { agent: n.agent, deps: [...n.deps], status: "pending", attempt: 0 }]));
  let status: RunStatus = "running";
  const out = new Map<number, Picture>();
  for (const e of events) {
    const n = e.node === undefined ? undefined : nodes.get(e.node);
    if (e.type === "node.added") {
      nodes.set(e.node!, { agent: (e.data?.agent as string | undefined) ?? "", deps: [...((e.data?.deps as string[] | undefined) ?? [])], status: "pending", attempt: 0 });
    } else if (e.type === "node.deps_added") {
      n!.deps.push(...(e.data!.deps as string[]));
    } else if (e.type === "node.removed") {
      nodes.delete(e.node!);
      for (const x of nodes.values()) x.deps = x.deps.filter((d) => d !== e.node);
    } else if (RUN_STATUS_OF[e.type]) {
      status = RUN_STATUS_OF[e.type]!;
    } else if (n && NODE_STATUS_OF[e.type]) {
      n.status = NODE_STATUS_OF[e.type]!;
      if (e.attempt !== undefined) n.attempt = e.attempt;
    }
    out.set(e.seq, { status, nodes: Object.fromEntries([...nodes].map(([id, x]) => [id, { ...x, deps: [...x.deps] }])) });
  }
  return out;
}

/** A refusal an addition, a rewind or a redrive may meet: typed, and it changes nothing. */
const refused = (err: unknown) => err instanceof ConflictError || err instanceof ValidationError || err instanceof NotFoundError;

class Grower {
  held: Task[] = [];
  /** The run as GET read it just after each step, by the last seq of its log then. */
  seen = new Map<number, Picture>();
  lastSeq = 0;
  added = 0;
  /** Nodes whose completion or extension added nodes: rewinding one removes them. */
  adders: string[] = [];
  current: Picture = { status: "running", nodes: {} };

  constructor(
    readonly ctx: EngineCtx,
    readonly dagId: string,
  ) {}

  /** Reads the run and the end of its log (nothing else writes between the two). */
  async observe() {
    const { engine, tenant } = this.ctx;
    for (;;) {
      const page = await engine.events(tenant, this.dagId, { after: this.lastSeq, limit: 1000 });
      if (page.events.length === 0) break;
      this.lastSeq = page.cursor;
    }
    this.current = pictureOf(await engine.getRun(tenant, this.dagId));
    this.seen.set(this.lastSeq, this.current);
  }

  /** 1 to 2 new nodes on known nodes (the adder often), and sometimes new deps of a node (often refused). */
  addition(r: number[], adder?: string): Addition {
    const known = Object.keys(this.current.nodes);
    const pick = (x: number) => known[x % known.length]!;
    const ids = Array.from({ length: 1 + (r[0]! % 2) }, () => `g${this.added++}`);
    const nodes = ids.map((id, i) => {
      const pool = [...(adder ? [adder] : []), pick(r[1]! + i), ...ids.slice(0, i)];
      const deps = [...new Set(pool.filter((_, k) => k === 0 || (r[2]! >> (k + i)) & 1))];
      return { id, agent: (r[3]! + i) % 2 ? "beta" : "alpha", deps, retry: { maxAttempts: 2, backoffMs: 0 }, onFailure: "continue" as const };
    });
    const target = r[4]! % 2 ? { deps: { [pick(r[5]!)]: [ids[ids.length - 1]!] } } : {};
    return { nodes, ...target };
  }

  async apply(a: Action) {
    const { engine, tenant } = this.ctx;
    const dagId = this.dagId;
    const take = (pick: number) => (this.held.length ? this.held.splice(pick % this.held.length, 1)[0] : undefined);
    const tolerate = async (p: Promise<unknown>) => {
      try {
        await p;
        return true;
      } catch (err) {
        expect(refused(err), String(err)).toBe(true);
        return false;
      }
    };
    switch (a.kind) {
      case "claim":
        for (const agent of ["alpha", "beta"]) this.held.push(...(await engine.claim(tenant, agent, { max: 1 + (a.pick % 3), leaseMs: LEASE_MS })));
        break;
      case "complete": {
        const t = take(a.pick);
        if (!t) break;
        const add = a.grow ? this.addition(a.grow, t.nodeId) : undefined;
        const ok = await tolerate(engine.complete(tenant, { dagId, nodeId: t.nodeId, leaseToken: t.leaseToken }, { by: t.nodeId }, add ? { add } : undefined));
        if (ok && add) this.adders.push(t.nodeId);
        if (!ok && add) await tolerate(engine.complete(tenant, { dagId, nodeId: t.nodeId, leaseToken: t.leaseToken }, { by: t.nodeId }));
        break;
      }
      case "extend": {
        const t = this.held[a.pick % Math.max(1, this.held.length)];
        if (t && (await tolerate(engine.extend(tenant, { dagId, nodeId: t.nodeId, leaseToken: t.leaseToken }, this.addition(a.grow, t.nodeId))))) this.adders.push(t.nodeId);
        break;
      }
      case "outside":
        await tolerate(engine.addNodes(tenant, dagId, this.addition(a.grow), { actor: "orchestrator" }));
        break;
      case "fail": {
        const t = take(a.pick);
        if (t) await tolerate(engine.fail(tenant, { dagId, nodeId: t.nodeId, leaseToken: t.leaseToken }, { message: "random" }, { retryable: false }));
        break;
      }
      case "rewind": {
        // Half the time an adder (if it is still in the run), else any node.
        const adders = this.adders.filter((id) => this.current.nodes[id]);
        const ids = a.pick % 2 && adders.length ? adders : Object.keys(this.current.nodes);
        await tolerate(engine.rewind(tenant, dagId, ids[a.pick % ids.length]!, { actor: "ops" }));
        break;
      }
      case "redrive":
        await tolerate(engine.redrive(tenant, dagId, { actor: "ops" }));
        break;
      case "expire":
        this.ctx.clock.advance(a.ms);
        await engine.reconcile();
        break;
    }
    await this.observe();
  }

  /** Claims and completes everything (abandoned leases expire) until the run ends. */
  async finish(limit: number) {
    for (let i = 0; i < limit && this.current.status === "running"; i++) {
      const before = this.lastSeq;
      while (this.held.length) await this.apply({ kind: "complete", pick: 0 });
      await this.apply({ kind: "claim", pick: 2 });
      while (this.held.length) await this.apply({ kind: "complete", pick: 0 });
      if (this.lastSeq === before) await this.apply({ kind: "expire", ms: 10_000 });
    }
  }
}

async function checkGrownHistory(ctx: EngineCtx, submitted: SubmittedNode[], actions: Action[]) {
  const rt = createReadThrough({ engine: ctx.engine, cold: EMPTY_COLD });
  const { dagId } = await ctx.engine.submit(ctx.tenant, { onFailure: "continue", nodes: submitted.map((n) => ({ ...n, deps: n.deps.length ? n.deps : undefined })) });
  const g = new Grower(ctx, dagId);
  await g.observe();
  for (const a of actions) await g.apply(a);
  await g.finish(40);
  expect(g.current.status, "the run terminates").not.toBe("running");

  const events = await allEvents(ctx.engine, ctx.tenant, dagId);
  const replayed = replay(submitted, events);
  const history = new Map<number, RunAt>();
  for (const e of events) history.set(e.seq, await rt.history(ctx.tenant, dagId, e.seq));
  for (const [seq, h] of history) {
    expect(h.seq).toBe(seq);
    expect(pictureOf(h), `history at seq ${seq} vs the log replayed to it`).toEqual(replayed.get(seq));
  }
  for (const [seq, live] of g.seen) expect(pictureOf(history.get(seq)!), `history at seq ${seq} vs the run as read then`).toEqual(live);
  return events;
}

/** Runs per backend: the REST bridge and the cluster are slower, and the single node covers most cases. */
const runsOn: Record<BackendName, number> = { single: 20, cluster: 6, upstash: 6 };

describe.each(Object.keys(runsOn) as BackendName[])("history of a growing run on %s", (name) => {
  const { fresh } = useEngines(name);

  it("is, at every seq, the run as it was then: nodes added on completion, by extension and from outside, deps added, nodes a rewind removed", async () => {
    const kinds = new Set<string>();
    await fc.assert(
      fc.asyncProperty(dagArb, fc.array(actionArb, { minLength: 10, maxLength: 50 }), async (dag, actions) => {
        for (const e of await checkGrownHistory(fresh(), dag, actions)) kinds.add(e.type);
      }),
      { numRuns: runsOn[name], endOnFailure: true },
    );
    // The runs did grow (and shrink): otherwise this proves nothing about additions. The generator is
    // the same on every backend; 6 random runs need not include a rewind of an adder, 20 do in practice.
    if (name === "single") for (const k of ["node.added", "node.deps_added", "node.removed"]) expect(kinds, k).toContain(k);
    else expect(kinds, "node.added").toContain("node.added");
  });
});
