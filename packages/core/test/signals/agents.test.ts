import { describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { backends, prng, type Backend } from "@weft/test-support";
import { createEngine } from "@weft/core";
import type { Engine, RunView, Task } from "@weft/core";
import { SchemaError } from "@weft/core";
import { createSignals, type AgentSignal, type Signals } from "@weft/core/signals";
import { allEvents, fakeClock, rejection, useEngines } from "../engine/harness.js";

/**
 * Scaling signals (GET /v1/agents) against the truth: after every round of concurrent
 * claims, completions, failures with backoff, releases, heartbeats, expiring leases,
 * cancels, pauses and resumes, the per-agent counts equal what the runs themselves say.
 */
const WITHIN = 2_000;
let seq = 0;

function setup(redis: ReturnType<ReturnType<ReturnType<typeof useEngines>["backend"]>["redis"]>, shardCount: number) {
  const clock = fakeClock();
  const prefix = `ag${process.pid}x${++seq}`;
  // At least 3 shards on every backend: the signals are summed over shards.
  const engine = createEngine({ redis, prefix, shardCount: Math.max(3, shardCount), clock: () => clock.now });
  const signals = createSignals({ redis, keys: engine.keys, clock: () => clock.now });
  return { clock, engine, signals };
}

/** One run: plan -> 8 work (half retried with a backoff) -> sink. */
function spec(tag: string) {
  const work = Array.from({ length: 8 }, (_, i) => ({
    id: `w${i}`,
    agent: "work",
    deps: ["p"],
    retry: i % 2 ? { maxAttempts: 4, backoffMs: 5_000 } : { maxAttempts: 2, backoffMs: 0 },
  }));
  return { nodes: [{ id: "p", agent: "plan" }, ...work, { id: "s", agent: `sink-${tag}`, deps: work.map((w) => w.id) }] };
}

/** What the runs say, per agent: claimable ready nodes (since when), running, leases due within WITHIN. */
async function truth(engine: Engine, tenant: string, dagIds: string[], now: number): Promise<AgentSignal[]> {
  const by = new Map<string, AgentSignal>();
  const get = (agent: string) => {
    let a = by.get(agent);
    if (!a) by.set(agent, (a = { agent, ready: 0, oldestReadyAt: null, oldestReadyAgeMs: 0, running: 0, leasesExpiringSoon: 0 }));
    return a;
  };
  for (const dagId of dagIds) {
    const run: RunView = await engine.getRun(tenant, dagId);
    const paused = run.pausedAt !== undefined;
    let events: Awaited<ReturnType<typeof allEvents>> | undefined;
    for (const n of run.nodes) {
      if (n.status === "running") {
        const a = get(n.agent);
        a.running++;
        if (n.leaseExpiresAt! <= now + WITHIN) a.leasesExpiringSoon++;
      }
      if (n.status === "ready" && !paused) {
        const a = get(n.agent);
        a.ready++;
        events ??= await allEvents(engine, tenant, dagId);
        // Claimable since it was last made ready or released, or since its run resumed.
        let since = 0;
        for (const e of events) {
          if ((e.node === n.id && (e.type === "node.ready" || e.type === "node.released")) || e.type === "run.resumed") since = Math.max(since, e.at);
        }
        if (a.oldestReadyAt === null || since < a.oldestReadyAt) a.oldestReadyAt = since;
      }
    }
  }
  const out = [...by.values()].filter((a) => a.ready > 0 || a.running > 0).sort((x, y) => (x.agent < y.agent ? -1 : 1));
  for (const a of out) if (a.oldestReadyAt !== null) a.oldestReadyAgeMs = now - a.oldestReadyAt;
  return out;
}

async function expectTrue(signals: Signals, engine: Engine, tenant: string, dagIds: string[], now: number, what: string) {
  const got = await signals.agents(tenant, { withinMs: WITHIN });
  expect(got.at, what).toBe(now);
  expect(got.agents, what).toEqual(await truth(engine, tenant, dagIds, now));
  // One agent alone reads the same row (zeros for one with nothing).
  for (const a of got.agents.slice(0, 2)) expect((await signals.agents(tenant, { agent: a.agent, withinMs: WITHIN })).agents, what).toEqual([a]);
}

/** The scaling keys of an engine's prefix left on any node of the backend. */
async function agentKeys(backend: Backend, prefix: string): Promise<string[]> {
  const left: string[] = [];
  for (const node of backend.nodes) {
    const r = new Redis({ host: node.host, port: node.port, lazyConnect: true });
    await r.connect();
    left.push(...(await r.keys(`${prefix}:*:agent:*`)));
    r.disconnect();
  }
  return left;
}

describe.each(backends)("scaling signals on %s", (name) => {
  const { backend } = useEngines(name);

  it("match the true counts per agent while runs execute under load, and leave nothing behind", async () => {
    const redis = backend().redis();
    const { clock, engine, signals } = setup(redis, backend().shardCount);
    const tenant = "acme";
    const other = "globex";
    const rnd = prng(16);
    const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const dagIds: string[] = [];
    for (let i = 0; i < 10; i++) dagIds.push((await engine.submit(tenant, spec(String(i % 2)))).dagId);
    // Another tenant's runs with the same agent names count for it alone.
    const theirs = [(await engine.submit(other, spec("0"))).dagId];
    await engine.claim(other, "plan", { max: 1 });
    await expectTrue(signals, engine, tenant, dagIds, clock.now, "after submit");

    const held: Task[] = [];
    const agents = ["plan", "work", "work", "work", "sink-0", "sink-1"];
    for (let round = 0; round < 45; round++) {
      const ops: Promise<unknown>[] = [];
      for (let i = 0; i < 4; i++) {
        ops.push(
          engine.claim(tenant, pick(agents), { max: 1 + Math.floor(rnd() * 6), leaseMs: pick([500, 1_500, 60_000]) }).then((ts) => void held.push(...ts)),
        );
      }
      // What the workers do with what they hold: finish, fail (retry with backoff), give back, heartbeat, or nothing (the lease may expire).
      for (const t of held.splice(0, Math.floor(held.length * 0.7))) {
        const r = rnd();
        const lease = { dagId: t.dagId, nodeId: t.nodeId, leaseToken: t.leaseToken };
        const op =
          r < 0.55
            ? engine.complete(tenant, t, { ok: true })
            : r < 0.65
              ? engine.fail(tenant, t, { message: "flaky" })
              : r < 0.75
                ? engine.release(tenant, lease)
                : r < 0.87
                  ? engine.heartbeat(tenant, lease, pick([800, 30_000])).then(() => void held.push(t))
                  : Promise.resolve(void held.push(t));
        // A lease that expired meanwhile is a conflict now: the node was (or will be) retried.
        ops.push(op.catch(() => undefined));
      }
      if (round % 7 === 3) ops.push(engine.pause(tenant, pick(dagIds)).catch(() => undefined));
      if (round % 7 === 5) for (const d of dagIds) ops.push(engine.resume(tenant, d).catch(() => undefined));
      if (round === 12 || round === 20) ops.push(engine.cancel(tenant, pick(dagIds), { reason: "test" }));
      await Promise.all(ops);
      if (round % 3 === 2) {
        clock.advance(pick([400, 1_000, 3_000]));
        if (rnd() < 0.5) await engine.reconcile();
      }
      await expectTrue(signals, engine, tenant, dagIds, clock.now, `round ${round}`);
    }
    // A node ready on push delivery (claimNode) leaves ready too.
    const run = await engine.getRun(tenant, dagIds[0]!);
    const ready = run.pausedAt === undefined ? run.nodes.find((n) => n.status === "ready") : undefined;
    if (ready) {
      await engine.claimNode(tenant, dagIds[0]!, ready.id);
      await expectTrue(signals, engine, tenant, dagIds, clock.now, "after claimNode");
    }
    await expectTrue(signals, engine, other, theirs, clock.now, "the other tenant");

    // Every run ends (cancelled), is flushed and released: no count stays, no key stays.
    for (const d of [...dagIds]) await engine.cancel(tenant, d);
    await engine.cancel(other, theirs[0]!);
    expect((await signals.agents(tenant)).agents).toEqual([]);
    for (const d of dagIds) await engine.releaseRun(tenant, d, { ttlSeconds: 60, archivedAt: clock.now });
    expect((await signals.agents(tenant)).agents).toEqual([]);
    expect((await signals.agents(other)).agents).toEqual([]);
    expect(await signals.agents(tenant, { agent: "work" })).toEqual({
      at: clock.now,
      withinMs: 30_000,
      agents: [{ agent: "work", ready: 0, oldestReadyAt: null, oldestReadyAgeMs: 0, running: 0, leasesExpiringSoon: 0 }],
    });
    expect(await agentKeys(backend(), engine.keys.prefix)).toEqual([]);
  }, 120_000);

  it("counts retries waiting on backoff as not ready, and oldest age from when a node became claimable", async () => {
    const redis = backend().redis();
    const { clock, engine, signals } = setup(redis, backend().shardCount);
    const t = "initech";
    const { dagId } = await engine.submit(t, { nodes: [{ id: "a", agent: "x", retry: { maxAttempts: 3, backoffMs: 10_000 } }, { id: "b", agent: "x" }] });
    const submittedAt = clock.now;
    clock.advance(250);
    let s = (await signals.agents(t, { agent: "x" })).agents[0]!;
    expect(s).toEqual({ agent: "x", ready: 2, oldestReadyAt: submittedAt, oldestReadyAgeMs: 250, running: 0, leasesExpiringSoon: 0 });
    const [first] = await engine.claim(t, "x", { max: 1, leaseMs: 20_000 });
    const second = await engine.claimNode(t, dagId, first!.nodeId === "a" ? "b" : "a", { leaseMs: 1_000 });
    s = (await signals.agents(t, { agent: "x", withinMs: 5_000 })).agents[0]!;
    expect(s).toMatchObject({ ready: 0, oldestReadyAt: null, oldestReadyAgeMs: 0, running: 2, leasesExpiringSoon: 1 });
    const [a, b] = first!.nodeId === "a" ? [first!, second] : [second, first!];
    await engine.fail(t, a, { message: "again" });
    // Retrying with a 5-10 s backoff: neither ready nor running.
    expect((await signals.agents(t, { agent: "x", withinMs: 0 })).agents[0]).toMatchObject({ ready: 0, running: 1 });
    // Given back: ready again (since now), not running.
    clock.advance(5);
    await engine.release(t, { dagId, nodeId: "b", leaseToken: b.leaseToken });
    expect((await signals.agents(t, { agent: "x", withinMs: 0 })).agents[0]).toMatchObject({ ready: 1, oldestReadyAt: clock.now, running: 0 });
    // Suspended (waiting for a signal): in neither count.
    const b2 = await engine.claimNode(t, dagId, "b");
    expect((await signals.agents(t, { agent: "x", withinMs: 0 })).agents[0]).toMatchObject({ ready: 0, running: 1 });
    await engine.suspend(t, b2, { timeoutMs: 60_000 });
    expect((await signals.agents(t)).agents).toEqual([]);
    await engine.signal(t, dagId, "b", { output: "yes" });
    expect((await signals.agents(t)).agents).toEqual([{ agent: "x", ready: 1, oldestReadyAt: clock.now, oldestReadyAgeMs: 0, running: 0, leasesExpiringSoon: 0 }]);
    const [b3] = await engine.claim(t, "x");
    await engine.complete(t, b3!, "done");
    expect((await signals.agents(t)).agents).toEqual([]);
    clock.advance(10_001);
    await engine.reconcile();
    s = (await signals.agents(t, { agent: "x", withinMs: 0 })).agents[0]!;
    expect(s).toMatchObject({ ready: 1, oldestReadyAt: clock.now, running: 0 });
  });

  it("follow rewinds, redrives, nodes added from outside and a removed node", async () => {
    const { clock, engine, signals } = setup(backend().redis(), backend().shardCount);
    const t = "umbrella";
    const check = async (what: string) => expect((await signals.agents(t, { withinMs: WITHIN })).agents, what).toEqual(await truth(engine, t, [dagId], clock.now));
    const { dagId } = await engine.submit(t, { nodes: [{ id: "a", agent: "y" }, { id: "b", agent: "z", deps: ["a"] }, { id: "c", agent: "z" }] });
    const [c] = await engine.claim(t, "z", { leaseMs: 1_000 });
    const [a] = await engine.claim(t, "y");
    // a adds a node that is ready at once; then b is ready too.
    await engine.complete(t, a!, "ok", { add: { nodes: [{ id: "a2", agent: "y" }] } });
    await engine.addNodes(t, dagId, { nodes: [{ id: "o", agent: "y" }] });
    await check("after additions");
    clock.advance(10);
    // Rewinding a: a is ready again, b pending, a2 (added by a) removed; c keeps running.
    await engine.rewind(t, dagId, "a");
    await check("after rewind");
    expect((await signals.agents(t, { agent: "z" })).agents[0]).toMatchObject({ ready: 0, running: 1 });
    await engine.fail(t, c!, { message: "no" }, { retryable: false });
    await check("after fail-fast");
    expect((await signals.agents(t)).agents).toEqual([]);
    clock.advance(10);
    await engine.redrive(t, dagId);
    await check("after redrive");
    expect((await signals.agents(t)).agents.map((x) => [x.agent, x.ready, x.running])).toEqual([
      ["y", 2, 0],
      ["z", 1, 0],
    ]);
  });

  it("forget a node made ready and cancelled in the same script call (a reconcile: a retry due, then a lease expired fails the run)", async () => {
    const { clock, engine, signals } = setup(backend().redis(), backend().shardCount);
    const t = "hooli";
    const { dagId } = await engine.submit(t, {
      nodes: [
        { id: "a", agent: "x", retry: { maxAttempts: 2, backoffMs: 1_000, maxBackoffMs: 1_000 } },
        { id: "b", agent: "x", retry: { maxAttempts: 1, backoffMs: 0 } },
      ],
    });
    const a = await engine.claimNode(t, dagId, "a");
    const b = await engine.claimNode(t, dagId, "b", { leaseMs: 500 });
    expect(b.leaseExpiresAt).toBeGreaterThan(0);
    await engine.fail(t, a, { message: "again" });
    clock.advance(1_001);
    // One sweep: a's retry is due (ready), then b's lease has expired: b fails, fail-fast cancels a.
    expect(await engine.reconcile()).toMatchObject({ retriesDue: 1, expiredLeases: 1 });
    expect((await engine.getRun(t, dagId)).status).toBe("failed");
    expect((await signals.agents(t)).agents).toEqual([]);
    expect((await signals.agents(t, { agent: "x" })).agents[0]).toMatchObject({ ready: 0, running: 0 });
  });

  it("count an attempt of a paused run given back as ready only once the run resumes", async () => {
    const { clock, engine, signals } = setup(backend().redis(), backend().shardCount);
    const t = "vandelay";
    const { dagId } = await engine.submit(t, { nodes: [{ id: "a", agent: "x" }] });
    const a = await engine.claimNode(t, dagId, "a");
    await engine.pause(t, dagId);
    expect((await signals.agents(t, { agent: "x" })).agents[0]).toMatchObject({ ready: 0, running: 1 });
    await engine.release(t, a);
    expect((await signals.agents(t, { agent: "x" })).agents[0]).toMatchObject({ ready: 0, running: 0 });
    clock.advance(7);
    await engine.resume(t, dagId);
    expect((await signals.agents(t, { agent: "x" })).agents[0]).toMatchObject({ ready: 1, oldestReadyAt: clock.now, running: 0 });
  });

  it("list an agent whenever it has work: known from submit, additions and redrive; forgotten once nothing is in flight", async () => {
    const { engine, signals } = setup(backend().redis(), backend().shardCount);
    const t = "pied-piper";
    const names = async () => (await signals.agents(t)).agents.map((x) => `${x.agent}:${x.ready}/${x.running}`);
    const { dagId } = await engine.submit(t, { nodes: [{ id: "a", agent: "x" }, { id: "b", agent: "y", deps: ["a"] }, { id: "c", agent: "z", deps: ["b"] }] });
    expect(await names()).toEqual(["x:1/0"]);
    // a completes and its claimNext takes b in the same call: y is listed though b was never seen ready.
    const [a] = await engine.claim(t, "x");
    const done = await engine.complete(t, a!, "ok", { claimNext: { agent: "y" }, add: { nodes: [{ id: "n", agent: "new-agent" }] } });
    expect(done.next?.map((n) => n.nodeId)).toEqual(["b"]);
    expect(await names()).toEqual(["new-agent:1/0", "y:0/1"]);
    await engine.cancel(t, dagId);
    expect(await names()).toEqual([]);
    // Nothing in flight: the tenant's agent set is emptied; a redrive brings its agents back.
    expect(await agentKeys(backend(), engine.keys.prefix)).toEqual([]);
    await engine.redrive(t, dagId);
    expect(await names()).toEqual(["new-agent:1/0", "y:1/0"]);
  });

  it("refuses a bad agent, tenant or window naming the field", async () => {
    const { signals } = setup(backend().redis(), backend().shardCount);
    for (const [call, field] of [
      [() => signals.agents("acme", { agent: "no/slash" }), "agent"],
      [() => signals.agents("acme", { agent: "" }), "agent"],
      [() => signals.agents("bad tenant"), "tenant"],
      [() => signals.agents("acme", { withinMs: -1 }), "within"],
      [() => signals.agents("acme", { withinMs: 1.5 }), "within"],
    ] as const) {
      const e = await rejection(call());
      expect(e).toBeInstanceOf(SchemaError);
      expect((e as SchemaError).field).toBe(field);
    }
  });
});
