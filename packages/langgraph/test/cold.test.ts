import { randomUUID } from "node:crypto";
import { QueryCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { uuid6 } from "@langchain/langgraph-checkpoint";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureTable } from "@weft/core/dynamodb";
import { admin, startDynalite, useBackend, type DynamoServer } from "@weft/test-support";
import { WeftSaver, type ColdTierOptions } from "../src/index.js";
import { saverKeys } from "../src/keys.js";
import { stepsGraph } from "./graphs.js";

const table = "weft-archive";

describe("WeftSaver cold tier (single Redis + dynalite)", () => {
  const backend = useBackend("single");
  let dynamo: DynamoServer;
  let client: DynamoDBClient;
  beforeAll(async () => {
    dynamo = await startDynalite();
    client = dynamo.client();
    await ensureTable(client, table);
  });
  afterAll(() => dynamo?.stop());

  const saver = (cold: Partial<ColdTierOptions> = {}, prefix = `k${randomUUID().slice(0, 8)}`) =>
    new WeftSaver({ redis: backend().redis(), prefix, cold: { table, client, ...cold } });
  const prefixOf = (s: WeftSaver) => (s as unknown as { keys: { prefix: string } }).keys.prefix;
  const redisKeys = (s: WeftSaver, threadId: string) =>
    admin(backend().nodes[0]!, async (c) => {
      const keys = saverKeys(prefixOf(s)).thread(threadId);
      return { exists: await c.exists(...keys), pttl: await Promise.all(keys.map((k) => c.pttl(k))) };
    });
  const dropFromRedis = (s: WeftSaver, threadId: string) => admin(backend().nodes[0]!, (c) => c.del(...saverKeys(prefixOf(s)).thread(threadId)));
  const archived = async (s: WeftSaver, threadId: string) => {
    const r = await client.send(
      new QueryCommand({ TableName: table, KeyConditionExpression: "pk = :pk", ExpressionAttributeValues: { ":pk": { S: `LG#${prefixOf(s)}#${threadId}` } } }),
    );
    return (r.Items ?? []).map((i) => i.sk!.S!);
  };
  const history = async (g: ReturnType<typeof stepsGraph>, thread_id: string) => {
    const out: { steps: string[]; id: string }[] = [];
    for await (const st of g.getStateHistory({ configurable: { thread_id } })) out.push({ steps: st.values.steps, id: st.config.configurable!.checkpoint_id });
    return out;
  };

  it("keeps a thread in Redis without a TTL until it is archived; sweep archives only threads idle for coldAfterMs", async () => {
    const s = saver({ coldAfterMs: 60_000, keepMs: 30_000 });
    const g = stepsGraph(s);
    await g.invoke({ steps: [] }, { configurable: { thread_id: "idle" } });
    expect((await redisKeys(s, "idle")).pttl).toEqual([-1, -1]);
    expect(await s.sweep()).toBe(0);
    expect(await archived(s, "idle")).toEqual([]);
    expect(await s.sweep(Date.now() + 61_000)).toBe(1);
    expect(await archived(s, "idle")).toContain("MARKER");
    const { pttl } = await redisKeys(s, "idle");
    for (const t of pttl) expect(t).toBeGreaterThan(25_000);
    // Archived threads are out of the due range: a later sweep does nothing.
    expect(await s.sweep(Date.now() + 120_000)).toBe(0);
  });

  it("time travel works on a thread Redis has let go: history, then resuming from an old checkpoint rehydrates it", async () => {
    const s = saver();
    const g = stepsGraph(s);
    await g.invoke({ steps: [] }, { configurable: { thread_id: "tt" } });
    const before = await history(g, "tt");
    expect(await s.finish("tt")).toBe(true);
    await dropFromRedis(s, "tt"); // as its TTL would
    expect((await redisKeys(s, "tt")).exists).toBe(0);
    expect(await history(g, "tt")).toEqual(before);
    // Fork from the checkpoint after step a: LangGraph copies it, then b and c run again on the new branch.
    const afterA = before.find((h) => h.steps.join() === "a")!.id;
    await dropFromRedis(s, "tt");
    const forked = await g.invoke(null, { configurable: { thread_id: "tt", checkpoint_id: afterA } });
    expect(forked.steps).toEqual(["a", "b", "c"]);
    const after = await history(g, "tt");
    expect(after.map((h) => h.steps.join(""))).toEqual(["abc", "ab", "a", ...before.map((h) => h.steps.join(""))]);
    expect(after.slice(3)).toEqual(before);
    // The write made the thread dirty again: no TTL until the next archive.
    expect((await redisKeys(s, "tt")).pttl).toEqual([-1, -1]);
    expect(await s.finish("tt", { evict: true })).toBe(true);
    expect((await redisKeys(s, "tt")).exists).toBe(0);
    expect(await history(g, "tt")).toEqual(after);
  });

  it("a write between the archive and its confirmation keeps the thread in Redis, without a TTL, for the next flush", async () => {
    const s = saver();
    const g = stepsGraph(s);
    await g.invoke({ steps: [] }, { configurable: { thread_id: "race" } });
    const other = saver({}, prefixOf(s));
    // The other process writes while this one stores the archive (its marker is the last DynamoDB write).
    client.middlewareStack.add(
      (next, ctx) => async (args) => {
        const out = await next(args);
        // At this step the document client has not marshalled the item yet.
        const input = args.input as { Item?: { sk?: unknown } };
        if (ctx.commandName === "PutItemCommand" && input.Item?.sk === "MARKER" && !raced) {
          raced = true;
          await stepsGraph(other).updateState({ configurable: { thread_id: "race" } }, { steps: ["late"] });
        }
        return out;
      },
      { step: "initialize", name: "race-injector" },
    );
    let raced = false;
    try {
      expect(await s.finish("race", { evict: true })).toBe(false);
    } finally {
      client.middlewareStack.remove("race-injector");
    }
    expect(raced).toBe(true);
    expect(await redisKeys(s, "race")).toEqual({ exists: 2, pttl: [-1, -1] });
    expect(await s.finish("race", { evict: true })).toBe(true);
    expect((await history(g, "race"))[0]!.steps).toEqual(["a", "b", "c", "late"]);
  });

  it("deleteThread removes the thread from Redis, the cold tier and the thread index", async () => {
    const s = saver();
    const g = stepsGraph(s);
    for (const t of ["gone", "kept"]) await g.invoke({ steps: [] }, { configurable: { thread_id: t } });
    await s.finish("gone");
    expect(await archived(s, "gone")).not.toEqual([]);
    await s.deleteThread("gone");
    expect(await archived(s, "gone")).toEqual([]);
    expect((await redisKeys(s, "gone")).exists).toBe(0);
    expect(await s.getTuple({ configurable: { thread_id: "gone" } })).toBeUndefined();
    const threads = new Set<string>();
    for await (const t of s.list({})) threads.add(String(t.config.configurable!.thread_id));
    expect([...threads]).toEqual(["kept"]);
  });

  it("a write to an archived thread Redis no longer holds rehydrates it first: the put and the writes extend its history instead of starting a new one", async () => {
    const s = saver();
    const g = stepsGraph(s);
    await g.invoke({ steps: [] }, { configurable: { thread_id: "rw" } });
    const before = await history(g, "rw");
    expect(await s.finish("rw", { evict: true })).toBe(true);
    expect((await redisKeys(s, "rw")).exists).toBe(0);
    // No read first: the put itself has to bring the thread back.
    const latest = { configurable: { thread_id: "rw", checkpoint_ns: "", checkpoint_id: before[0]!.id } };
    const cp = { ...(await s.getTuple(latest))!.checkpoint, id: uuid6(-1) };
    expect(await s.finish("rw", { evict: true })).toBe(true);
    const next = await s.put(latest, cp, { source: "update", step: 4, parents: {} }, {});
    await s.putWrites(next, [["steps", ["d"]]], "task-d");
    expect((await redisKeys(s, "rw")).pttl).toEqual([-1, -1]);
    const after = await history(g, "rw");
    expect(after.map((h) => h.id)).toEqual([cp.id, ...before.map((h) => h.id)]);
    expect((await s.getTuple(next))!.pendingWrites).toEqual([["task-d", "steps", ["d"]]]);
    // Writes alone (to an old checkpoint) rehydrate it too.
    expect(await s.finish("rw", { evict: true })).toBe(true);
    await s.putWrites({ configurable: { ...latest.configurable, checkpoint_id: before[1]!.id } }, [["steps", ["e"]]], "task-e");
    expect((await history(g, "rw")).map((h) => h.id)).toEqual(after.map((h) => h.id));
  });

  it("list across threads includes archived threads Redis no longer holds", async () => {
    const s = saver();
    const g = stepsGraph(s);
    for (const t of ["x", "y"]) await g.invoke({ steps: [] }, { configurable: { thread_id: t } });
    await s.finish("x", { evict: true });
    const counts: Record<string, number> = {};
    for await (const t of s.list({})) counts[String(t.config.configurable!.thread_id)] = (counts[String(t.config.configurable!.thread_id)] ?? 0) + 1;
    expect(counts).toEqual({ x: 5, y: 5 });
  });
});
