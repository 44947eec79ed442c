import { randomBytes } from "node:crypto";
import { DynamoDBDocumentClient, GetCommand } from "@aws-sdk/lib-dynamodb";
import { describe, expect, it } from "vitest";
import { useArchiveServers } from "./servers.js";
import { DynamoColdStore, type ColdStore } from "@weft/core/dynamodb";
import { createArchiver } from "@weft/core";
import { ConflictError, createEngine } from "@weft/core";
import type { Engine, RunStatus } from "@weft/core";
import { keySchema } from "@weft/core/redis";
import { allEvents, fakeClock, type FakeClock } from "../engine/harness.js";
import { partition } from "./fixtures.js";

const TABLE_NAME = "weft-flush-test";
const HOT_TTL = 7200;
const SHARDS = 4;
/** A realistic epoch: the cold store judges retention against the same clock. */
const T0 = 1_800_000_000_000;

const servers = useArchiveServers(TABLE_NAME);
let n = 0;

interface Ctx {
  engine: Engine;
  clock: FakeClock;
  tenant: string;
  prefix: string;
  cold: DynamoColdStore;
}

/** A fresh engine (own prefix, own fake clock) and a cold store judging retention by that clock. */
function fresh(opts: { doc?: DynamoDBDocumentClient } = {}): Ctx {
  n++;
  const clock = fakeClock(T0);
  const prefix = `f${process.pid}x${n}`;
  const engine = createEngine({ redis: servers.port, shardCount: SHARDS, prefix, clock: () => clock.now });
  const cold = new DynamoColdStore({ client: opts.doc ?? servers.client, tableName: TABLE_NAME, clock: () => clock.now });
  return { engine, clock, tenant: `tenant-${n}`, prefix, cold };
}

const archiverOf = (c: Ctx, cold: ColdStore = c.cold, overdueAfterMs = 60_000) =>
  createArchiver({ engine: c.engine, cold, hotTtlSeconds: HOT_TTL, overdueAfterMs, now: () => c.clock.now });

/** Every Redis key of one run: meta, order, events and one hash per node. */
async function runKeys(c: Ctx, dagId: string, nodeIds: string[]): Promise<string[]> {
  const p = keySchema(c.prefix, SHARDS).run(c.tenant, dagId).key;
  const keys = [`${p}meta`, `${p}order`, `${p}events`, ...nodeIds.map((id) => `${p}n:${id}`)];
  for (const k of keys) expect(await servers.admin.exists(k), `${k} should exist`).toBe(1);
  return keys;
}

const ttls = async (keys: string[]) => Object.fromEntries(await Promise.all(keys.map(async (k) => [k, await servers.admin.ttl(k)] as const)));
const every = (keys: string[], v: unknown) => Object.fromEntries(keys.map((k) => [k, v]));
/** Every key with the hot TTL, read back in whole seconds: a loaded machine may take a second or more between the flush and the read. */
const hot = (keys: string[]) => every(keys, expect.closeTo(HOT_TTL, -1));

/** a -> {b, c} -> d; each node's output is `outputBytes` of incompressible text. */
function diamond(dagId: string, onFailure: "fail-fast" | "continue" = "fail-fast") {
  return {
    id: dagId,
    onFailure,
    nodes: [
      { id: "a", agent: "ag", input: { q: "start" } },
      { id: "b", agent: "ag", deps: ["a"], retry: { maxAttempts: 1, backoffMs: 0 } },
      { id: "c", agent: "ag", deps: ["a"] },
      { id: "d", agent: "ag", deps: ["b", "c"] },
    ],
  };
}
const IDS = ["a", "b", "c", "d"];

/** One root and `k` children: enough parts that an archive takes several batch writes. */
function fan(dagId: string, k: number) {
  return { id: dagId, nodes: [{ id: "root", agent: "ag" }, ...Array.from({ length: k }, (_, i) => ({ id: `leaf${i}`, agent: "ag", deps: ["root"] }))] };
}
const FAN_IDS = ["root", ...Array.from({ length: 12 }, (_, i) => `leaf${i}`)];

/** Claims and reports every ready node until the run ends; `fails` are failed for good. */
async function drive(c: Ctx, dagId: string, fails: string[] = [], outputBytes = 64): Promise<RunStatus> {
  for (;;) {
    const run = await c.engine.getRun(c.tenant, dagId, { include: { output: false } });
    if (run.status !== "running") return run.status;
    const tasks = await c.engine.claim(c.tenant, "ag", { max: 100, workerId: "w1" });
    if (tasks.length === 0) throw new Error(`run ${dagId} is running with nothing to claim`);
    for (const t of tasks.filter((t) => t.dagId === dagId)) {
      c.clock.advance(10);
      // A sibling failed first under fail-fast: this node was cancelled, its report is refused.
      const report = fails.includes(t.nodeId)
        ? c.engine.fail(c.tenant, { dagId, nodeId: t.nodeId, leaseToken: t.leaseToken }, { message: "model refused" }, { retryable: false })
        : c.engine.complete(c.tenant, { dagId, nodeId: t.nodeId, leaseToken: t.leaseToken }, { text: randomBytes(outputBytes).toString("base64") });
      await report.catch((err: unknown) => {
        if (!(err instanceof ConflictError)) throw err;
      });
    }
  }
}

/** Ends a run as `status`: all succeed, b fails (fail-fast cancels the rest), or an API cancel mid-run. */
async function finish(c: Ctx, dagId: string, status: RunStatus): Promise<void> {
  await c.engine.submit(c.tenant, diamond(dagId));
  if (status === "cancelled") {
    const [a] = await c.engine.claim(c.tenant, "ag", { max: 1 });
    await c.engine.complete(c.tenant, { dagId, nodeId: "a", leaseToken: a!.leaseToken }, { ok: true });
    await c.engine.claim(c.tenant, "ag", { max: 1 }); // one node stays running while the run is cancelled
    c.clock.advance(5);
    await c.engine.cancel(c.tenant, dagId, { reason: "user stopped it" });
    return;
  }
  expect(await drive(c, dagId, status === "failed" ? ["b"] : [])).toBe(status);
}

const due = async (c: Ctx) => (await c.engine.finishedRuns({ olderThan: c.clock.now, limit: 1000 })).map((r) => `${r.tenant}/${r.dagId}`);

describe("flush: a finished run goes to the cold store, then its Redis keys get a TTL", () => {
  it.each(["succeeded", "failed", "cancelled"] as const)("archives a %s run with its whole event log, then sets the hot TTL on every key", async (status) => {
    const c = fresh();
    await finish(c, "r1", status);
    const keys = await runKeys(c, "r1", IDS);
    expect(await ttls(keys)).toEqual(every(keys, -1));
    const exported = await c.engine.exportRun(c.tenant, "r1");
    const log = await allEvents(c.engine, c.tenant, "r1");
    expect(log.at(-1)!.type).toBe(`run.${status}`);

    c.clock.advance(1000);
    expect(await archiverOf(c).flush(c.tenant, "r1")).toEqual({ flushed: true, released: true });

    const archived = await c.cold.getRun(c.tenant, "r1");
    expect(archived?.snapshot).toEqual(exported.snapshot);
    expect(archived?.snapshot.status).toBe(status);
    expect(archived?.events).toEqual(log);
    expect(archived?.events.map((e) => e.seq)).toEqual(log.map((_, i) => i + 1));
    expect(archived?.archivedAt).toBe(c.clock.now);
    expect(await ttls(keys)).toEqual(hot(keys));
    expect(await due(c)).toEqual([]);
  });

  it("leaves the keys without a TTL and the run in the finished index when putRun throws", async () => {
    const c = fresh();
    await finish(c, "r1", "failed");
    const keys = await runKeys(c, "r1", IDS);
    const broken: ColdStore = {
      putRun: async () => {
        throw new Error("DynamoDB is down");
      },
      getRun: (t, d) => c.cold.getRun(t, d),
      getEvents: (t, d, o) => c.cold.getEvents(t, d, o),
      listRuns: (t, o) => c.cold.listRuns(t, o),
    };
    await expect(archiverOf(c, broken).flush(c.tenant, "r1")).rejects.toThrow("DynamoDB is down");
    expect(await ttls(keys)).toEqual(every(keys, -1));
    expect(await due(c)).toEqual([`${c.tenant}/r1`]);
    expect(await c.cold.getRun(c.tenant, "r1")).toBeNull();
    expect(await servers.admin.hexists(keys[0]!, "archivedAt")).toBe(0);
  });

  it("does nothing to a running run", async () => {
    const c = fresh();
    await c.engine.submit(c.tenant, diamond("r1"));
    const keys = await runKeys(c, "r1", IDS);
    expect(await archiverOf(c).flush(c.tenant, "r1")).toMatchObject({ flushed: false, released: false });
    expect(await c.cold.getRun(c.tenant, "r1")).toBeNull();
    expect(await ttls(keys)).toEqual(every(keys, -1));
  });

  it("a flush that fails after any number of DynamoDB calls is retried by flushOverdue with nothing lost or duplicated", async () => {
    // Every DynamoDB command of the store goes through this switch: after `budget` calls, they throw.
    const doc = DynamoDBDocumentClient.from(servers.client, { marshallOptions: { removeUndefinedValues: true } });
    const send = doc.send.bind(doc) as (cmd: unknown) => Promise<unknown>;
    let budget = Infinity;
    let calls = 0;
    doc.send = (async (cmd: unknown) => {
      calls++;
      if (budget-- <= 0) throw new Error("injected failure: the connection dropped");
      return send(cmd);
    }) as typeof doc.send;
    // Small chunks, so one run's archive takes many batch writes and a failure can land between them.
    const storeOf = (c: Ctx) => new DynamoColdStore({ client: doc, tableName: TABLE_NAME, chunkBytes: 1024, segmentBytes: 1024, clock: () => c.clock.now });

    // A clean flush of the same shape tells how many calls a whole flush makes.
    const ref = fresh();
    await ref.engine.submit(ref.tenant, fan("ref", 12));
    await drive(ref, "ref", [], 6000);
    calls = 0;
    await archiverOf(ref, storeOf(ref)).flush(ref.tenant, "ref");
    const total = calls;
    // marker read, several batch writes, marker commit
    expect(total).toBeGreaterThanOrEqual(5);

    for (let failAt = 0; failAt < total; failAt++) {
      const c = fresh();
      const store = storeOf(c);
      const archiver = archiverOf(c, store);
      await c.engine.submit(c.tenant, fan("r1", 12));
      await drive(c, "r1", [], 6000);
      const keys = await runKeys(c, "r1", FAN_IDS);
      const exported = await c.engine.exportRun(c.tenant, "r1");

      budget = failAt;
      await expect(archiver.flush(c.tenant, "r1"), `failure after ${failAt} calls`).rejects.toThrow("injected failure");
      budget = Infinity;
      expect(await ttls(keys)).toEqual(every(keys, -1));
      expect(await c.cold.getRun(c.tenant, "r1"), "a reader never sees a half-written archive").toBeNull();

      c.clock.advance(61_000);
      expect(await archiver.flushOverdue()).toEqual({ flushed: 1, failed: 0 });
      const archived = await c.cold.getRun(c.tenant, "r1");
      expect(archived?.snapshot).toEqual(exported.snapshot);
      expect(archived?.events).toEqual(exported.events);
      expect(await ttls(keys)).toEqual(hot(keys));
      expect(await due(c)).toEqual([]);
      expect((await c.cold.listRuns(c.tenant)).runs.map((r) => r.dagId)).toEqual(["r1"]);

      // No orphans: the partition holds exactly the marker and the parts it points to.
      const { Item } = await DynamoDBDocumentClient.from(servers.client).send(
        new GetCommand({ TableName: TABLE_NAME, Key: { pk: `RUN#${c.tenant}#r1`, sk: "MARKER" } }),
      );
      const layout = JSON.parse(Item!.layout as string) as { snapshot: [string, number]; spec: [string, number] | null; segments: number[][] };
      const parts = layout.snapshot[1] + (layout.spec?.[1] ?? 0) + layout.segments.reduce((s, seg) => s + seg[2]!, 0);
      const items = await partition(servers.client, TABLE_NAME, c.tenant, "r1");
      expect(items.length).toBe(parts + 1);
    }
  });
});

describe("flushOverdue: the reconcile backstop", () => {
  it("flushes only runs that finished longer ago than overdueAfterMs", async () => {
    const c = fresh();
    const archiver = archiverOf(c);
    await finish(c, "old", "succeeded");
    c.clock.advance(50_000);
    await finish(c, "recent", "failed");
    await c.engine.submit(c.tenant, diamond("live"));
    const recentKeys = await runKeys(c, "recent", IDS);

    c.clock.advance(20_000); // "old" finished ~70 s ago, "recent" ~20 s ago
    expect(await archiver.flushOverdue()).toEqual({ flushed: 1, failed: 0 });
    expect(await c.cold.getRun(c.tenant, "old")).not.toBeNull();
    expect(await c.cold.getRun(c.tenant, "recent")).toBeNull();
    expect(await c.cold.getRun(c.tenant, "live")).toBeNull();
    expect(await ttls(recentKeys)).toEqual(every(recentKeys, -1));

    c.clock.advance(41_000);
    expect(await archiver.flushOverdue()).toEqual({ flushed: 1, failed: 0 });
    expect((await c.cold.getRun(c.tenant, "recent"))?.snapshot.status).toBe("failed");
    expect(await ttls(recentKeys)).toEqual(hot(recentKeys));
    expect(await archiver.flushOverdue()).toEqual({ flushed: 0, failed: 0 });
  });

  it("a run whose flush fails stays due while the other due runs are flushed", async () => {
    const c = fresh();
    await finish(c, "ok", "succeeded");
    await finish(c, "bad", "failed");
    const flaky: ColdStore = {
      putRun: async (a) => {
        if (a.snapshot.dagId === "bad") throw new Error("throttled");
        await c.cold.putRun(a);
      },
      getRun: (t, d) => c.cold.getRun(t, d),
      getEvents: (t, d, o) => c.cold.getEvents(t, d, o),
      listRuns: (t, o) => c.cold.listRuns(t, o),
    };
    c.clock.advance(61_000);
    expect(await archiverOf(c, flaky).flushOverdue()).toEqual({ flushed: 1, failed: 1 });
    expect(await due(c)).toEqual([`${c.tenant}/bad`]);
    expect(await c.cold.getRun(c.tenant, "bad")).toBeNull();
    expect(await archiverOf(c).flushOverdue()).toEqual({ flushed: 1, failed: 0 });
    expect((await c.cold.getRun(c.tenant, "bad"))?.snapshot.status).toBe("failed");
    expect(await due(c)).toEqual([]);
  });

  it("costs the same Redis commands whether 5 or 500 finished runs are not yet due (O(due), no scans)", async () => {
    const commands = async () => {
      const info = await servers.admin.info("commandstats");
      const calls: Record<string, number> = {};
      for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls[m[1]!] = Number(m[2]);
      return calls;
    };
    const cost = async (notDue: number) => {
      const c = fresh();
      for (let i = 0; i < 3; i++) {
        await c.engine.submit(c.tenant, { id: `due${i}`, nodes: [{ id: "x", agent: "ag" }] });
        await c.engine.cancel(c.tenant, `due${i}`);
      }
      c.clock.advance(600_000);
      for (let i = 0; i < notDue; i += 50) {
        await Promise.all(
          Array.from({ length: Math.min(50, notDue - i) }, async (_, j) => {
            const id = `fresh${i + j}`;
            await c.engine.submit(c.tenant, { id, nodes: [{ id: "x", agent: "ag" }] });
            await c.engine.cancel(c.tenant, id);
          }),
        );
      }
      c.clock.advance(1000);
      const archiver = archiverOf(c, c.cold, 300_000);
      const before = await commands();
      expect(await archiver.flushOverdue()).toEqual({ flushed: 3, failed: 0 });
      const after = await commands();
      const delta = Object.fromEntries(
        Object.entries(after)
          .filter(([k]) => k !== "info")
          .map(([k, v]) => [k, v - (before[k] ?? 0)] as const)
          .filter(([, v]) => v > 0),
      );
      expect(await due(c)).toHaveLength(notDue);
      return delta;
    };
    await cost(1); // loads every script once
    const small = await cost(5);
    const large = await cost(500);
    expect(large).toEqual(small);
    expect(Object.keys(large).filter((k) => /^(scan|keys|zrange|zcard|hscan|sscan)$/.test(k))).toEqual([]);
    expect(large.zrangebyscore).toBe(SHARDS);
  });
});
