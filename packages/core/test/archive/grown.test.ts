import { describe, expect, it } from "vitest";
import { useArchiveServers } from "./servers.js";
import { DynamoColdStore } from "@weft/core/dynamodb";
import { createArchiver } from "@weft/core";
import { createReadThrough } from "@weft/core";
import { NotFoundError, createEngine } from "@weft/core";
import type { Engine } from "@weft/core";
import { keySchema } from "@weft/core/redis";
import { fakeClock, rejection } from "../engine/harness.js";

const TABLE_NAME = "weft-grown-test";
const SHARDS = 2;
const T0 = 1_800_000_000_000;
const servers = useArchiveServers(TABLE_NAME);
let n = 0;

function fresh() {
  n++;
  const clock = fakeClock(T0);
  const prefix = `g${process.pid}x${n}`;
  const engine: Engine = createEngine({ redis: servers.port, shardCount: SHARDS, prefix, clock: () => clock.now });
  const cold = new DynamoColdStore({ client: servers.client, tableName: TABLE_NAME, clock: () => clock.now });
  const archiver = createArchiver({ engine, cold, hotTtlSeconds: 5000, now: () => clock.now });
  return { engine, clock, archiver, rt: createReadThrough({ engine, cold }), prefix, tenant: `tenant-${n}` };
}
type Ctx = ReturnType<typeof fresh>;

async function makeCold(c: Ctx, dagId: string): Promise<void> {
  expect(await c.archiver.flush(c.tenant, dagId)).toEqual({ flushed: true, released: true });
  const p = keySchema(c.prefix, SHARDS).run(c.tenant, dagId).key;
  const keys: string[] = [];
  for await (const batch of servers.admin.scanStream({ match: `${p}*`, count: 1000 })) keys.push(...(batch as string[]));
  await servers.admin.del(...keys);
  expect(await rejection(c.engine.getRun(c.tenant, dagId))).toBeInstanceOf(NotFoundError);
}

/**
 * plan adds three researchers (one fails for good, onFailure continue) and makes draft,
 * a join of two, wait for them; "extra" was added from outside and fails too, a failure no
 * join absorbs, so the run fails.
 */
async function grownRun(c: Ctx): Promise<string> {
  const { engine, tenant } = c;
  const { dagId } = await engine.submit(tenant, { id: `grown-${n}`, nodes: [{ id: "plan", agent: "ag" }] });
  await engine.addNodes(tenant, dagId, { nodes: [{ id: "extra", agent: "ag", onFailure: "continue", retry: { maxAttempts: 1, backoffMs: 0 } }] }, { actor: "ops" });
  const [p] = await engine.claim(tenant, "ag", { max: 1 });
  if (p!.nodeId !== "plan") throw new Error(`expected plan first, got ${p!.nodeId}`);
  c.clock.advance(5);
  await engine.complete(tenant, { dagId, nodeId: "plan", leaseToken: p!.leaseToken }, "P", {
    add: {
      nodes: [
        ...["r0", "r1", "r2"].map((id) => ({ id, agent: "ag", deps: ["plan"], onFailure: "continue" as const, retry: { maxAttempts: 1, backoffMs: 0 } })),
        { id: "draft", agent: "ag", deps: ["r0", "r1", "r2"], join: { min: 2 } },
      ],
    },
  });
  for (let tasks = await engine.claim(tenant, "ag", { max: 10 }); tasks.length; tasks = await engine.claim(tenant, "ag", { max: 10 })) {
    for (const t of tasks) {
      c.clock.advance(5);
      if (t.nodeId === "r1" || t.nodeId === "extra") await engine.fail(tenant, { dagId, nodeId: t.nodeId, leaseToken: t.leaseToken }, { message: "no" });
      else await engine.complete(tenant, { dagId, nodeId: t.nodeId, leaseToken: t.leaseToken }, t.nodeId);
    }
  }
  return dagId;
}

describe("a grown run in the cold store", () => {
  it("reads back the same after Redis let it go: added nodes, who added them, joins, history at every seq", async () => {
    const c = fresh();
    const dagId = await grownRun(c);
    const hot = await c.rt.getRun(c.tenant, dagId, { output: true });
    expect(hot.status).toBe("failed");
    expect(hot.nodes.find((x) => x.id === "draft")).toMatchObject({ status: "succeeded", join: { min: 2 }, addedBy: { node: "plan", attempt: 1 } });
    expect(hot.nodes.find((x) => x.id === "extra")?.addedBy).toEqual({ actor: "ops" });
    const last = (await c.rt.events(c.tenant, dagId, { limit: 10_000 })).cursor;
    const hotHistory = [];
    for (let seq = 1; seq <= last; seq++) hotHistory.push(await c.rt.history(c.tenant, dagId, seq));
    expect(hotHistory[0]!.nodes.map((x) => x.id)).toEqual(["plan"]);
    await makeCold(c, dagId);
    expect(await c.rt.getRun(c.tenant, dagId, { output: true })).toEqual(hot);
    for (let seq = 1; seq <= last; seq++) expect(await c.rt.history(c.tenant, dagId, seq)).toEqual(hotHistory[seq - 1]);
  });

  it("redrives an extended run from the cold store: the failed added nodes run again and it can succeed", async () => {
    const c = fresh();
    const dagId = await grownRun(c);
    await makeCold(c, dagId);
    const r = await c.rt.redrive(c.tenant, dagId);
    expect([...r.ready].sort()).toEqual(["extra", "r1"]);
    for (const t of await c.engine.claim(c.tenant, "ag", { max: 10 })) await c.engine.complete(c.tenant, { dagId, nodeId: t.nodeId, leaseToken: t.leaseToken }, "again");
    const run = await c.engine.getRun(c.tenant, dagId);
    expect(run.status).toBe("succeeded");
    expect(run.nodes.map((x) => x.id)).toEqual(["plan", "extra", "r0", "r1", "r2", "draft"]);
  });

  it("rewinds the planner of a restored run: what it added is removed, the outside addition stays", async () => {
    const c = fresh();
    const dagId = await grownRun(c);
    await makeCold(c, dagId);
    const r = await c.rt.rewind(c.tenant, dagId, "plan");
    expect([...(r.removed ?? [])].sort()).toEqual(["draft", "r0", "r1", "r2"]);
    expect((await c.engine.getRun(c.tenant, dagId)).nodes.map((x) => [x.id, x.status])).toEqual([
      ["plan", "ready"],
      ["extra", "failed"],
    ]);
  });
});
