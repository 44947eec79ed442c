import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ConflictError, ValidationError, WeftError } from "@weft/core";
import type { Addition } from "@weft/core";
import { foldEvents } from "@weft/core/sdk";
import type { RunStatus, Task } from "@weft/core";
import type { BackendName } from "@weft/test-support";
import { allEvents, useEngines, type EngineCtx } from "./harness.js";
import { logViolations } from "./invariants.js";

const AGENTS = ["alpha", "beta"];
const LEASE_MS = 1000;

interface NodeDef {
  id: string;
  agent?: string;
  deps: string[];
  retry?: { maxAttempts: number; backoffMs: number; maxBackoffMs: number };
  join?: { min: number };
  onFailure?: "continue" | "fail-fast";
  /** A wait node: no agent; ended by a random signal or its timeout. */
  wait?: { timeoutMs?: number; onTimeout: "fail" | "succeed"; output?: unknown };
}

/** Random DAGs: mostly small, sometimes up to 500 nodes; each node depends on up to 3 earlier ones. */
const dagArb = fc
  .oneof({ weight: 3, arbitrary: fc.integer({ min: 1, max: 25 }) }, { weight: 1, arbitrary: fc.integer({ min: 26, max: 500 }) })
  .chain((n) =>
    fc.tuple(
      fc.array(
        fc.record({
          deps: fc.uniqueArray(fc.nat(), { maxLength: 3 }),
          agent: fc.nat(AGENTS.length - 1),
          maxAttempts: fc.integer({ min: 1, max: 3 }),
          backoffMs: fc.integer({ min: 0, max: 500 }),
          // 0: no join; else join.min = 1 + (join - 1) % deps (when it has 2+ deps).
          join: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 3 }) }),
          tolerant: fc.boolean(),
          // One node in six waits for a signal; some of those time out (fail or succeed).
          wait: fc.option(fc.record({ timeoutMs: fc.option(fc.integer({ min: 100, max: 3000 }), { nil: undefined }), succeed: fc.boolean() }), { freq: 5, nil: undefined }),
        }),
        { minLength: n, maxLength: n },
      ),
      fc.constantFrom("fail-fast" as const, "continue" as const),
    ),
  )
  .map(([raw, onFailure]) => {
    const nodes: NodeDef[] = raw.map((r, i) => {
      const deps = i === 0 ? [] : [...new Set(r.deps.map((d) => `n${d % i}`))];
      const policy = {
        ...(r.join && deps.length > 1 ? { join: { min: 1 + ((r.join - 1) % deps.length) } } : {}),
        ...(r.tolerant ? { onFailure: "continue" as const } : {}),
      };
      if (r.wait) {
        const wait = { onTimeout: r.wait.succeed ? ("succeed" as const) : ("fail" as const), ...(r.wait.timeoutMs ? { timeoutMs: r.wait.timeoutMs } : {}) };
        return { id: `n${i}`, deps, wait: r.wait.succeed ? { ...wait, output: { timedOut: i } } : wait, ...policy };
      }
      return { id: `n${i}`, agent: AGENTS[r.agent]!, deps, retry: { maxAttempts: r.maxAttempts, backoffMs: r.backoffMs, maxBackoffMs: 2000 }, ...policy };
    });
    return { nodes, onFailure };
  });

type Action =
  | { kind: "claim"; pick: number }
  | { kind: "complete"; pick: number; twice: boolean; grow?: number[] }
  | { kind: "outside"; grow: number[] }
  | { kind: "fail"; pick: number; retryable: boolean }
  | { kind: "stale"; pick: number }
  | { kind: "heartbeat"; pick: number }
  | { kind: "release"; pick: number }
  | { kind: "signal"; pick: number; reject: boolean; repeat: boolean }
  | { kind: "suspend"; pick: number; timeoutMs: number }
  | { kind: "expire"; ms: number };

const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("claim" as const), pick: fc.nat(1000) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("complete" as const), pick: fc.nat(1000), twice: fc.boolean() }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant("complete" as const), pick: fc.nat(1000), twice: fc.boolean(), grow: fc.array(fc.nat(1000), { minLength: 8, maxLength: 8 }) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("outside" as const), grow: fc.array(fc.nat(1000), { minLength: 8, maxLength: 8 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("fail" as const), pick: fc.nat(1000), retryable: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("stale" as const), pick: fc.nat(1000) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("heartbeat" as const), pick: fc.nat(1000) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("release" as const), pick: fc.nat(1000) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("expire" as const), ms: fc.integer({ min: 0, max: 3000 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("signal" as const), pick: fc.nat(1000), reject: fc.boolean(), repeat: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("suspend" as const), pick: fc.nat(1000), timeoutMs: fc.integer({ min: 50, max: 3000 }) }) },
);

/**
 * Drives one run through random claims, completions (some sent twice), failures, releases,
 * stale reports and lease expiries, then to its end, checking each answer the engine gives
 * against what the client can know for sure.
 */
class Driver {
  /** Tasks claimed and not yet reported; `fresh` when claimed after the last clock move. */
  held: { task: Task; fresh: boolean }[] = [];
  /** Tokens whose attempt ended by a report the engine accepted: always stale from then on. */
  retired: Task[] = [];
  /** Tasks whose worker "died": never reported, their leases left to expire. */
  abandoned: Task[] = [];
  accepted = new Map<string, number>();
  runStatus: RunStatus = "running";
  /** Every node of the run as the driver knows it (the submitted ones, then each accepted addition's). */
  known: string[];
  added = 0;

  constructor(
    readonly ctx: EngineCtx,
    readonly dagId: string,
    /** Random numbers 0..99 deciding each report of the final phase. */
    readonly dice: Iterator<number>,
    /** Percent of final-phase reports that are failures; as many again are abandoned. */
    readonly failRate: number,
    submitted: string[],
  ) {
    this.known = [...submitted];
  }

  /**
   * A random addition from 8 numbers: 1 to 3 new nodes, each depending on up to two known
   * nodes (any status), the adder or an earlier new one, sometimes a join; and sometimes
   * new deps of a known node (often not pending, or closing a cycle: then refused whole).
   */
  addition(r: number[], adder?: string): Addition {
    const pickKnown = (x: number) => this.known[x % this.known.length]!;
    const count = 1 + (r[0]! % 3);
    const ids = Array.from({ length: count }, () => `g${this.added++}`);
    const nodes = ids.map((id, i) => {
      const pool = [...(adder ? [adder] : []), pickKnown(r[1]! + i), pickKnown(r[2]! * (i + 1)), ...ids.slice(0, i)];
      const deps = [...new Set(pool.filter((_, k) => (r[3]! >> (k + i)) & 1 || k === 0))].slice(0, 3);
      const join = deps.length > 1 && r[4]! % 3 === 0 ? { join: { min: 1 + (r[4]! % deps.length) } } : {};
      return { id, agent: AGENTS[(r[5]! + i) % AGENTS.length]!, deps, retry: { maxAttempts: 2, backoffMs: 0 }, ...join, ...(r[6]! % 2 ? { onFailure: "continue" as const } : {}) };
    });
    const target = r[7]! % 2 ? { deps: { [pickKnown(r[7]!)]: [ids[ids.length - 1]!, ...(r[7]! % 4 === 1 ? [pickKnown(r[1]! + 7)] : [])] } } : {};
    return { nodes, ...target };
  }

  /** The refusals an addition may meet (a target not pending, a cycle, a dep that failed): nothing applied. */
  private refusedAddition(err: unknown): boolean {
    return err instanceof WeftError && (err instanceof ValidationError || err instanceof ConflictError) && err.field !== undefined;
  }

  private accept(add: Addition | undefined) {
    for (const n of add?.nodes ?? []) this.known.push(n.id);
  }

  async outside(r: number[]) {
    const add = this.addition(r);
    const before = (await this.ctx.engine.getRun(this.ctx.tenant, this.dagId)).nodes.length;
    try {
      const res = await this.ctx.engine.addNodes(this.ctx.tenant, this.dagId, add);
      expect(res.added).toEqual(add.nodes!.map((n) => n.id));
      this.accept(add);
    } catch (err) {
      const ended = err instanceof ConflictError && /has ended/.test(err.message);
      expect(ended || this.refusedAddition(err), String(err)).toBe(true);
      expect((await this.ctx.engine.getRun(this.ctx.tenant, this.dagId)).nodes.length, "a refused addition adds nothing").toBe(before);
    }
  }

  private roll(): number {
    return this.dice.next().value as number;
  }

  /** Moves the clock and lets reconcile expire leases and release due retries. */
  async advance(ms: number) {
    this.ctx.clock.advance(ms);
    for (const h of this.held) h.fresh = false;
    await this.ctx.engine.reconcile();
    this.runStatus = (await this.ctx.engine.getRun(this.ctx.tenant, this.dagId)).status;
  }

  private take(pick: number) {
    if (this.held.length === 0) return undefined;
    return this.held.splice(pick % this.held.length, 1)[0];
  }

  async claim(agent: string, max: number) {
    const tasks = await this.ctx.engine.claim(this.ctx.tenant, agent, { max, leaseMs: LEASE_MS });
    for (const task of tasks) {
      expect(task.dagId).toBe(this.dagId);
      this.held.push({ task, fresh: true });
    }
    return tasks.length;
  }

  async complete(h: { task: Task; fresh: boolean }, twice: boolean, grow?: number[]) {
    const { engine, tenant } = this.ctx;
    const t = h.task;
    const mustSucceed = h.fresh && this.runStatus === "running";
    let add = grow ? this.addition(grow, t.nodeId) : undefined;
    let r;
    try {
      r = await engine.complete(tenant, { dagId: this.dagId, nodeId: t.nodeId, leaseToken: t.leaseToken }, { from: t.leaseToken }, add ? { add } : undefined);
    } catch (err) {
      if (add && this.refusedAddition(err)) {
        // Refused whole: the node is still running and completes without it.
        add = undefined;
        r = await engine.complete(tenant, { dagId: this.dagId, nodeId: t.nodeId, leaseToken: t.leaseToken }, { from: t.leaseToken }).catch((e: unknown) => e as Error);
      } else r = err as Error;
    }
    if (r instanceof Error) {
      const err = r;
      expect(err).toBeInstanceOf(ConflictError);
      expect(mustSucceed, `fresh lease ${t.nodeId}#${t.attempt} was rejected on a running run`).toBe(false);
      return;
    }
    expect(r.duplicate).toBe(false);
    this.accept(add);
    this.accepted.set(t.nodeId, (this.accepted.get(t.nodeId) ?? 0) + 1);
    this.runStatus = r.runStatus;
    if (twice) {
      const again = await engine.complete(tenant, { dagId: this.dagId, nodeId: t.nodeId, leaseToken: t.leaseToken }, { from: t.leaseToken }, add ? { add } : undefined);
      expect(again.duplicate).toBe(true);
    }
  }

  async apply(a: Action) {
    const { engine, tenant } = this.ctx;
    switch (a.kind) {
      case "claim":
        await this.claim(AGENTS[a.pick % AGENTS.length]!, 1 + (a.pick % 4));
        return;
      case "complete": {
        const h = this.take(a.pick);
        if (h) await this.complete(h, a.twice, a.grow);
        return;
      }
      case "outside":
        await this.outside(a.grow);
        return;
      case "fail": {
        const h = this.take(a.pick);
        if (h) await this.fail(h, a.retryable);
        return;
      }
      case "stale": {
        const t = this.retired[a.pick % Math.max(1, this.retired.length)];
        if (!t) return;
        await expect(engine.complete(tenant, { dagId: this.dagId, nodeId: t.nodeId, leaseToken: t.leaseToken }, "stale")).rejects.toBeInstanceOf(ConflictError);
        return;
      }
      case "heartbeat": {
        const h = this.held[a.pick % Math.max(1, this.held.length)];
        if (!h) return;
        await engine.heartbeat(tenant, { dagId: this.dagId, nodeId: h.task.nodeId, leaseToken: h.task.leaseToken }, LEASE_MS).catch((err) => {
          expect(err).toBeInstanceOf(ConflictError);
        });
        return;
      }
      case "release": {
        const h = this.take(a.pick);
        if (!h) return;
        try {
          await engine.release(tenant, { dagId: this.dagId, nodeId: h.task.nodeId, leaseToken: h.task.leaseToken });
        } catch (err) {
          expect(err).toBeInstanceOf(ConflictError);
          expect(h.fresh && this.runStatus === "running", `fresh lease ${h.task.nodeId}#${h.task.attempt} release rejected`).toBe(false);
          return;
        }
        this.retired.push(h.task);
        return;
      }
      case "signal":
        await this.signal(a.pick, a.reject, a.repeat);
        return;
      case "suspend": {
        const h = this.take(a.pick);
        if (!h) return;
        try {
          await engine.suspend(tenant, h.task, { timeoutMs: a.timeoutMs });
        } catch (err) {
          expect(err).toBeInstanceOf(ConflictError);
          expect(h.fresh && this.runStatus === "running", `fresh lease ${h.task.nodeId}#${h.task.attempt} suspend rejected`).toBe(false);
          return;
        }
        this.retired.push(h.task);
        return;
      }
      case "expire":
        await this.advance(a.ms);
        return;
    }
  }

  /** Signals one waiting node (if any): it must win while the node waits; the same signalId again is a duplicate. */
  async signal(pick: number, reject: boolean, repeat: boolean) {
    const { engine, tenant } = this.ctx;
    const run = await engine.getRun(tenant, this.dagId);
    const waiting = run.nodes.filter((n) => n.status === "waiting");
    const n = waiting[pick % Math.max(1, waiting.length)];
    if (!n) return;
    const sig = reject ? { error: { message: "rejected" }, signalId: `s${pick}` } : { output: { ok: pick }, signalId: `s${pick}` };
    const r = await engine.signal(tenant, this.dagId, n.id, sig);
    expect(r.duplicate).toBe(false);
    this.runStatus = r.runStatus === "paused" ? "running" : r.runStatus;
    if (repeat) expect((await engine.signal(tenant, this.dagId, n.id, sig)).duplicate).toBe(true);
    await expect(engine.signal(tenant, this.dagId, n.id, { output: "late", signalId: `other-${pick}` })).rejects.toBeInstanceOf(ConflictError);
  }

  async fail(h: { task: Task; fresh: boolean }, retryable: boolean) {
    const t = h.task;
    let r;
    try {
      r = await this.ctx.engine.fail(this.ctx.tenant, { dagId: this.dagId, nodeId: t.nodeId, leaseToken: t.leaseToken }, { message: "random" }, { retryable });
    } catch (err) {
      expect(err).toBeInstanceOf(ConflictError);
      expect(h.fresh && this.runStatus === "running", `fresh lease ${t.nodeId}#${t.attempt} failure rejected on a running run`).toBe(false);
      return;
    }
    // An expired lease that reconcile already ended answers "duplicate"; a live one never does.
    if (h.fresh) expect(r.duplicate).toBe(false);
    this.runStatus = r.runStatus;
    this.retired.push(t);
  }

  /**
   * Claims and reports everything until the run ends: most reports are completions (some
   * sent twice), `failRate`% failures and as many abandoned leases. When nothing is ready the
   * clock jumps past every lease and backoff, and each abandoned lease's late completion
   * must then be rejected.
   */
  async finish(limit: number) {
    const { engine, tenant } = this.ctx;
    for (let i = 0; i < limit; i++) {
      while (this.held.length) {
        const h = this.held.pop()!;
        const d = this.roll();
        if (d < this.failRate) await this.fail(h, d % 2 === 0);
        else if (d < 2 * this.failRate) this.abandoned.push(h.task);
        else await this.complete(h, d % 7 === 0);
      }
      let claimed = 0;
      for (const agent of AGENTS) claimed += await this.claim(agent, 100);
      if (claimed > 0) continue;
      const run = await engine.getRun(tenant, this.dagId);
      if (run.status !== "running") return run;
      // Waits without a timeout get a signal; the others are left to time out below.
      for (const n of run.nodes) if (n.status === "waiting" && !n.wait?.timeoutAt) await this.signal(run.nodes.indexOf(n) + this.roll(), this.roll() < 20, false);
      await this.advance(10_000);
      for (const t of this.abandoned.splice(0)) {
        await expect(engine.complete(tenant, { dagId: this.dagId, nodeId: t.nodeId, leaseToken: t.leaseToken }, "too late")).rejects.toBeInstanceOf(ConflictError);
      }
    }
    return engine.getRun(tenant, this.dagId);
  }
}

/** One random run, driven to its end, then checked against its own event log. */
async function checkRun(
  ctx: EngineCtx,
  { nodes, onFailure }: { nodes: NodeDef[]; onFailure: "fail-fast" | "continue" },
  actions: Action[],
  failRate: number,
  dice: fc.Stream<number>,
) {
  const spec = { onFailure, nodes: nodes.map((n) => ({ ...n, deps: n.deps.length ? n.deps : undefined })) };
  const { dagId } = await ctx.engine.submit(ctx.tenant, spec);
  const d = new Driver(ctx, dagId, dice[Symbol.iterator](), failRate, nodes.map((n) => n.id));
  for (const a of actions) await d.apply(a);
  const run = await d.finish(8 * nodes.length + 50);

  expect(run.status, "the run terminates").not.toBe("running");
  const events = await allEvents(ctx.engine, ctx.tenant, dagId);
  expect(logViolations(nodes, events)).toEqual([]);
  for (const [nodeId, n] of d.accepted) {
    expect(n, `accepted successes of ${nodeId}`).toBe(1);
    expect(run.nodes.find((x) => x.id === nodeId)?.status).toBe("succeeded");
  }
  const folded = foldEvents(nodes, events);
  expect(folded.status).toBe(run.status);
  expect(folded.counts).toEqual(run.counts);
  expect(folded.nodes).toEqual(Object.fromEntries(run.nodes.map((x) => [x.id, { status: x.status, attempt: x.attempt }])));
}

/** Runs per backend: the REST bridge and the cluster are slower, and the single node covers most cases. */
const runsOn: Record<BackendName, number> = { single: 30, cluster: 8, upstash: 6 };

describe.each(Object.keys(runsOn) as BackendName[])("engine properties on %s", (name) => {
  const { fresh } = useEngines(name);

  it("keeps deps (and joins) before starts, one success per node, always terminates, its log folds to its state, also while it grows", async () => {
    const inputs = [
      dagArb,
      fc.array(actionArb, { maxLength: 120, size: "medium" }),
      fc.integer({ min: 0, max: 25 }),
      fc.infiniteStream(fc.nat(99)),
    ] as const;
    // endOnFailure: shrinking against Redis is slow; the seed and path printed replay the case.
    await fc.assert(
      fc.asyncProperty(...inputs, (dag, actions, failRate, dice) => checkRun(fresh(), dag, actions, failRate, dice)),
      { numRuns: runsOn[name], endOnFailure: true },
    );
  });
});
