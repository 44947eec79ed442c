import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { useArchiveServers } from "./servers.js";
import { prng } from "@weft/test-support";
import { DynamoColdStore } from "@weft/core/dynamodb";
import { createArchiver } from "@weft/core";
import { createReadThrough, type RunAt } from "@weft/core";
import { ConflictError, NotFoundError, ValidationError, createEngine } from "@weft/core";
import type { Engine, NodeStatus, RunEvent, RunStatus, Task } from "@weft/core";
import { keySchema } from "@weft/core/redis";
import { allEvents, fakeClock, rejection, type FakeClock } from "../engine/harness.js";

const TABLE_NAME = "weft-read-through-test";
const SHARDS = 2;
const T0 = 1_800_000_000_000;

const servers = useArchiveServers(TABLE_NAME);
let n = 0;

function fresh(hotTtlSeconds = 3600) {
  n++;
  const clock: FakeClock = fakeClock(T0);
  const prefix = `r${process.pid}x${n}`;
  const engine: Engine = createEngine({ redis: servers.port, shardCount: SHARDS, prefix, clock: () => clock.now });
  const cold = new DynamoColdStore({ client: servers.client, tableName: TABLE_NAME, clock: () => clock.now });
  const archiver = createArchiver({ engine, cold, hotTtlSeconds, now: () => clock.now });
  const rt = createReadThrough({ engine, cold });
  return { engine, clock, cold, archiver, rt, prefix, tenant: `tenant-${n}` };
}
type Ctx = ReturnType<typeof fresh>;

/** Drops every Redis key of the run, as an expired TTL eventually does. */
async function dropHot(c: Ctx, dagId: string): Promise<void> {
  const keys: string[] = [];
  const match = `${keySchema(c.prefix, SHARDS).run(c.tenant, dagId).key}*`;
  for await (const batch of servers.admin.scanStream({ match, count: 1000 })) keys.push(...(batch as string[]));
  expect(keys.length).toBeGreaterThan(3);
  for (let i = 0; i < keys.length; i += 1000) await servers.admin.del(...keys.slice(i, i + 1000));
  expect(await rejection(c.engine.getRun(c.tenant, dagId))).toBeInstanceOf(NotFoundError);
}

/** Everything a client can read of a run: the views with and without payloads, and the log paged by cursor. */
async function readAll(c: Ctx, dagId: string) {
  const pages: unknown[] = [];
  for (let after = 0; ; ) {
    const page = await c.rt.events(c.tenant, dagId, { after, limit: 3 });
    pages.push(page);
    if (page.events.length === 0) break;
    after = page.cursor;
  }
  return {
    plain: await c.rt.getRun(c.tenant, dagId),
    noOutput: await c.rt.getRun(c.tenant, dagId, { output: false }),
    withInput: await c.rt.getRun(c.tenant, dagId, { input: true }),
    inputOnly: await c.rt.getRun(c.tenant, dagId, { input: true, output: false }),
    pages,
    middle: await c.rt.events(c.tenant, dagId, { after: 4, limit: 5 }),
    past: await c.rt.events(c.tenant, dagId, { after: 10_000 }),
  };
}

/**
 * A run that ends as `status` with retries, errors and (for "failed", onFailure continue)
 * a skipped branch: a -> {b, c} -> d, plus e on its own.
 */
async function finishedRun(c: Ctx, dagId: string, status: RunStatus): Promise<void> {
  await c.engine.submit(c.tenant, {
    id: dagId,
    onFailure: "continue",
    nodes: [
      { id: "a", agent: "ag", input: { prompt: "plan" } },
      { id: "b", agent: "ag", deps: ["a"], input: { prompt: "write" }, retry: { maxAttempts: 2, backoffMs: 0 } },
      { id: "c", agent: "ag", deps: ["a"] },
      { id: "d", agent: "ag", deps: ["b", "c"] },
      { id: "e", agent: "ag", input: [1, 2, 3] },
    ],
  });
  const claim = async () => (await c.engine.claim(c.tenant, "ag", { max: 10, workerId: "w7" })).filter((t) => t.dagId === dagId);
  const out = (t: Task) => ({ text: `${t.nodeId} says ${randomBytes(24).toString("hex")}`, n: t.attempt });
  for (const t of await claim()) await c.engine.complete(c.tenant, { dagId, nodeId: t.nodeId, leaseToken: t.leaseToken }, out(t));
  if (status === "cancelled") {
    c.clock.advance(7);
    await c.engine.cancel(c.tenant, dagId, { reason: "stop" });
    return;
  }
  for (const t of await claim()) {
    c.clock.advance(3);
    if (t.nodeId === "b") await c.engine.fail(c.tenant, { dagId, nodeId: "b", leaseToken: t.leaseToken }, { message: "rate limited", code: 429 });
    else if (status === "failed") await c.engine.fail(c.tenant, { dagId, nodeId: t.nodeId, leaseToken: t.leaseToken }, { message: "bad tool call" }, { retryable: false });
    else await c.engine.complete(c.tenant, { dagId, nodeId: t.nodeId, leaseToken: t.leaseToken }, out(t));
  }
  for (let tasks = await claim(); tasks.length; tasks = await claim()) {
    for (const t of tasks) await c.engine.complete(c.tenant, { dagId, nodeId: t.nodeId, leaseToken: t.leaseToken }, out(t));
  }
  expect((await c.engine.getRun(c.tenant, dagId)).status).toBe(status);
}

describe("read-through: a run reads the same from Redis and from DynamoDB", () => {
  it.each(["succeeded", "failed", "cancelled"] as const)("a %s run read after its Redis keys are deleted is identical to the run read before", async (status) => {
    const c = fresh();
    await finishedRun(c, "r1", status);
    const before = await readAll(c, "r1");
    expect(before.plain.nodes.some((x) => x.output !== undefined)).toBe(true);
    expect(before.withInput.nodes.some((x) => x.input !== undefined)).toBe(true);

    await c.archiver.flush(c.tenant, "r1");
    expect(await readAll(c, "r1"), "released but still hot").toEqual(before);
    await dropHot(c, "r1");
    expect(await readAll(c, "r1"), "cold").toEqual(before);
  });

  it("a run read after a 1 s Redis TTL expired is identical to the run read before", async () => {
    const c = fresh(1);
    await finishedRun(c, "r1", "failed");
    const before = await readAll(c, "r1");
    await c.archiver.flush(c.tenant, "r1");
    const deadline = Date.now() + 5000;
    while ((await c.engine.getRun(c.tenant, "r1").then(() => true, () => false)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(await rejection(c.engine.getRun(c.tenant, "r1"))).toBeInstanceOf(NotFoundError);
    expect(await readAll(c, "r1")).toEqual(before);
  });

  it("round-trips a 5,000-node run with ~2 KB outputs", async () => {
    const c = fresh();
    const N = 5000;
    await c.engine.submit(c.tenant, {
      id: "big",
      nodes: Array.from({ length: N }, (_, i) => ({ id: `n${i}`, agent: "ag", input: { i }, ...(i ? { deps: [`n${(i - 1) >> 1}`] } : {}) })),
    });
    for (let tasks = await c.engine.claim(c.tenant, "ag", { max: 1000 }); tasks.length; tasks = await c.engine.claim(c.tenant, "ag", { max: 1000 })) {
      const items = tasks.map((t) => ({ dagId: t.dagId, nodeId: t.nodeId, leaseToken: t.leaseToken, output: { text: randomBytes(1536).toString("base64") } }));
      const { results } = await c.engine.completeMany(c.tenant, items);
      expect(results.filter((r) => "error" in r)).toEqual([]);
    }
    const run = await c.rt.getRun(c.tenant, "big", { input: true });
    expect(run.status).toBe("succeeded");
    expect(run.nodes.every((x) => (x.output as { text: string }).text.length === 2048)).toBe(true);
    const log = await allEvents(c.engine, c.tenant, "big");
    expect(log).toHaveLength(1 + 3 * N + 1);

    let t0 = performance.now();
    expect(await c.archiver.flush(c.tenant, "big")).toEqual({ flushed: true, released: true });
    const flushMs = performance.now() - t0;
    await dropHot(c, "big");
    t0 = performance.now();
    const back = await c.rt.getRun(c.tenant, "big", { input: true });
    const readMs = performance.now() - t0;
    console.log(`[read-through] 5,000-node run, ~${(JSON.stringify(run).length / 1e6).toFixed(1)} MB: flush ${flushMs.toFixed(0)} ms, cold read ${readMs.toFixed(0)} ms`);
    expect(back).toEqual(run);
    const first = await c.rt.events(c.tenant, "big", { after: 0, limit: 10_000 });
    const rest = await c.rt.events(c.tenant, "big", { after: first.cursor, limit: 10_000 });
    expect([...first.events, ...rest.events]).toEqual(log);
    expect(rest.cursor).toBe(log.length);
    expect(await c.rt.events(c.tenant, "big", { after: 7000, limit: 2 })).toEqual({ events: log.slice(7000, 7002), cursor: 7002 });
  });

  it("another tenant gets NotFound for the run, hot and cold", async () => {
    const c = fresh();
    await finishedRun(c, "r1", "failed");
    const other = `${c.tenant}-other`;
    const expectHidden = async () => {
      for (const read of [
        () => c.rt.getRun(other, "r1"),
        () => c.rt.events(other, "r1"),
        () => c.rt.history(other, "r1", 1),
        () => c.rt.redrive(other, "r1"),
        () => c.rt.rewind(other, "r1", "a"),
      ]) {
        expect(await rejection(read())).toBeInstanceOf(NotFoundError);
      }
    };
    await expectHidden();
    await c.archiver.flush(c.tenant, "r1");
    await dropHot(c, "r1");
    await expectHidden();
    expect(await c.cold.getRun(other, "r1")).toBeNull();
    expect((await c.rt.listRuns(other)).runs).toEqual([]);
    expect((await c.rt.getRun(c.tenant, "r1")).status).toBe("failed");
  });
});

// ---------------------------------------------------------------- history

interface Moment {
  seq: number;
  status: RunStatus;
  nodes: Record<string, { status: NodeStatus; attempt: number }>;
}

async function momentOf(c: Ctx, dagId: string, log: RunEvent[]): Promise<Moment> {
  const run = await c.engine.getRun(c.tenant, dagId, { include: { output: false } });
  const page = await c.engine.events(c.tenant, dagId, { after: log.length, limit: 10_000 });
  log.push(...page.events);
  return { seq: log.length, status: run.status, nodes: Object.fromEntries(run.nodes.map((x) => [x.id, { status: x.status, attempt: x.attempt }])) };
}

const stateOf = (h: RunAt): Omit<Moment, "seq"> => ({ status: h.status, nodes: Object.fromEntries(h.nodes.map((x) => [x.id, { status: x.status, attempt: x.attempt }])) });

/**
 * Checks `history(seq)` for every seq against the states captured after each engine call.
 * At the last seq of a call it must equal the captured state; inside a call (one script,
 * many events) every node no event touched since the previous capture must still match it,
 * and every node no event touches until the next capture must already match that one.
 */
function checkHistory(hist: RunAt[], log: RunEvent[], moments: Moment[]): void {
  for (let i = 1; i < moments.length; i++) {
    if (moments[i]!.seq === moments[i - 1]!.seq) expect(moments[i], "a call that logged nothing changed nothing").toEqual(moments[i - 1]);
  }
  for (const h of hist) {
    expect(h.at).toBe(log[h.seq - 1]!.at);
    expect(Object.values(h.counts).reduce((a, b) => a + b, 0)).toBe(h.nodes.length);
    const next = moments.find((m) => m.seq >= h.seq)!;
    const prev = [...moments].reverse().find((m) => m.seq < h.seq)!;
    const got = stateOf(h);
    if (next.seq === h.seq) {
      expect(got, `history(${h.seq})`).toEqual({ status: next.status, nodes: next.nodes });
      continue;
    }
    const touched = (from: number, to: number) => new Set(log.slice(from, to).map((e) => e.node ?? "(run)"));
    const sincePrev = touched(prev.seq, h.seq);
    const untilNext = touched(h.seq, next.seq);
    for (const [id, node] of Object.entries(got.nodes)) {
      if (!sincePrev.has(id)) expect(node, `history(${h.seq}) node ${id} vs seq ${prev.seq}`).toEqual(prev.nodes[id]);
      if (!untilNext.has(id)) expect(node, `history(${h.seq}) node ${id} vs seq ${next.seq}`).toEqual(next.nodes[id]);
    }
    if (![...sincePrev].some((x) => x === "(run)")) expect(got.status).toBe(prev.status);
    if (![...untilNext].some((x) => x === "(run)")) expect(got.status).toBe(next.status);
  }
}

/** A random run driven by random workers (completions, failures, lost leases, cancels) and random redrives/rewinds. */
async function randomRun(c: Ctx, dagId: string, size: number, seed: number, onFailure: "fail-fast" | "continue") {
  const rnd = prng(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const ids = Array.from({ length: size }, (_, i) => `n${i}`);
  await c.engine.submit(c.tenant, {
    id: dagId,
    onFailure,
    nodes: ids.map((id, i) => ({
      id,
      agent: pick(["a1", "a2"]),
      deps: ids.slice(0, i).filter(() => rnd() < 0.3).slice(0, 3),
      retry: { maxAttempts: 1 + Math.floor(rnd() * 3), backoffMs: pick([0, 500]) },
    })),
  });
  const log: RunEvent[] = [];
  const moments: Moment[] = [{ seq: 0, status: "running", nodes: Object.fromEntries(ids.map((id) => [id, { status: "pending" as const, attempt: 0 }])) }];
  moments.push(await momentOf(c, dagId, log));
  const held: Task[] = [];
  let resumes = 0;
  const tolerate = (p: Promise<unknown>) => p.catch((err: unknown) => {
    if (!(err instanceof ConflictError)) throw err; // a stale lease or a cancelled node: nothing changes
  });
  for (let step = 0; step < 400; step++) {
    const now = moments.at(-1)!;
    if (now.status !== "running") {
      if (resumes >= 2 || rnd() < 0.3) break;
      resumes++;
      held.length = 0;
      const redrivable = Object.values(now.nodes).some((x) => ["failed", "cancelled", "skipped"].includes(x.status));
      if (redrivable && rnd() < 0.5) await c.rt.redrive(c.tenant, dagId);
      else {
        // Refused (409) when a rewound node would wait forever on a failed or cancelled dep kept as is.
        const refused = await c.rt.rewind(c.tenant, dagId, pick(ids)).then(() => false, (err: unknown) => {
          if (!(err instanceof ConflictError)) throw err;
          return true;
        });
        if (refused && redrivable) await c.rt.redrive(c.tenant, dagId);
        else if (refused) break;
      }
    } else {
      const r = rnd();
      const t = held.length ? held.splice(Math.floor(rnd() * held.length), 1)[0]! : undefined;
      c.clock.advance(10);
      if (!t || r < 0.3) {
        if (t) held.push(t);
        held.push(...(await c.engine.claim(c.tenant, pick(["a1", "a2"]), { max: 1 + Math.floor(rnd() * 3), leaseMs: 1000 })));
      } else if (r < 0.65) await tolerate(c.engine.complete(c.tenant, { dagId, nodeId: t.nodeId, leaseToken: t.leaseToken }, { by: t.leaseToken }));
      else if (r < 0.8) await tolerate(c.engine.fail(c.tenant, { dagId, nodeId: t.nodeId, leaseToken: t.leaseToken }, { message: "flaky" }, { retryable: true }));
      else if (r < 0.86) await tolerate(c.engine.fail(c.tenant, { dagId, nodeId: t.nodeId, leaseToken: t.leaseToken }, { message: "fatal" }, { retryable: false }));
      else if (r < 0.985) {
        held.push(t);
        c.clock.advance(pick([600, 1200]));
        await c.engine.reconcile();
      } else await c.engine.cancel(c.tenant, dagId);
    }
    moments.push(await momentOf(c, dagId, log));
  }
  return { log, moments, resumes };
}

const historyAll = async (c: Ctx, dagId: string, last: number) => {
  const out: RunAt[] = [];
  for (let seq = 1; seq <= last; seq++) out.push(await c.rt.history(c.tenant, dagId, seq));
  return out;
};

describe("history: the run as it was just after event seq, hot or cold", () => {
  it("matches the state captured after every engine call of a random run, at every seq, hot and cold", async () => {
    let runs = 0;
    let resumed = 0;
    let cold = 0;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 2, max: 9 }), fc.integer(), fc.constantFrom("fail-fast" as const, "continue" as const), async (size, seed, onFailure) => {
        const c = fresh();
        const dagId = `h${++runs}`;
        const { log, moments, resumes } = await randomRun(c, dagId, size, seed, onFailure);
        if (resumes) resumed++;
        const hot = await historyAll(c, dagId, log.length);
        checkHistory(hot, log, moments);
        expect(await rejection(c.rt.history(c.tenant, dagId, log.length + 1))).toBeInstanceOf(ValidationError);
        if (moments.at(-1)!.status === "running") return;
        await c.archiver.flush(c.tenant, dagId);
        await dropHot(c, dagId);
        expect(await historyAll(c, dagId, log.length)).toEqual(hot);
        cold++;
      }),
      { numRuns: 12, seed: 20261123 },
    );
    // The property must have covered redrive/rewind (node.reset, run.resumed) and cold reads.
    expect(resumed).toBeGreaterThan(2);
    expect(cold).toBeGreaterThan(2);
  });

  // After a rewind/redrive a node has attempts behind it; the log must say so wherever it moves.
  async function rewoundChain(c: Ctx) {
    await c.engine.submit(c.tenant, {
      id: "r1",
      onFailure: "continue",
      nodes: [
        { id: "a", agent: "ag", retry: { maxAttempts: 1, backoffMs: 0 } },
        { id: "b", agent: "ag", deps: ["a"], retry: { maxAttempts: 1, backoffMs: 0 } },
        { id: "c", agent: "ag", deps: ["b"] },
      ],
    });
    for (let tasks = await c.engine.claim(c.tenant, "ag"); tasks.length; tasks = await c.engine.claim(c.tenant, "ag")) {
      for (const t of tasks) await c.engine.complete(c.tenant, { dagId: "r1", nodeId: t.nodeId, leaseToken: t.leaseToken }, { ok: t.nodeId });
    }
    expect(await c.rt.rewind(c.tenant, "r1", "a")).toMatchObject({ reset: ["a", "b", "c"], ready: ["a"] });
  }
  const liveVsHistory = async (c: Ctx) => {
    const run = await c.engine.getRun(c.tenant, "r1");
    const log = await allEvents(c.engine, c.tenant, "r1");
    const h = await c.rt.history(c.tenant, "r1", log.length);
    return { history: stateOf(h), live: { status: run.status, nodes: Object.fromEntries(run.nodes.map((x) => [x.id, { status: x.status, attempt: x.attempt }])) } };
  };

  it("after a rewind, a node made ready again by its dep's completion keeps its attempt count in history", async () => {
    const c = fresh();
    await rewoundChain(c);
    const [a] = await c.engine.claim(c.tenant, "ag");
    await c.engine.complete(c.tenant, { dagId: "r1", nodeId: "a", leaseToken: a!.leaseToken }, { ok: "again" });
    const { history, live } = await liveVsHistory(c);
    expect(live.nodes.b).toEqual({ status: "ready", attempt: 1 });
    expect(history).toEqual(live);
  });

  it("after a rewind, a node skipped again keeps its attempt count in history", async () => {
    const c = fresh();
    await rewoundChain(c);
    const [a] = await c.engine.claim(c.tenant, "ag");
    await c.engine.fail(c.tenant, { dagId: "r1", nodeId: "a", leaseToken: a!.leaseToken }, { message: "fatal" }, { retryable: false });
    const { history, live } = await liveVsHistory(c);
    expect(live.nodes).toMatchObject({ b: { status: "skipped", attempt: 1 }, c: { status: "skipped", attempt: 1 } });
    expect(history).toEqual(live);
  });
});
