import { randomUUID } from "node:crypto";
import { MemorySaver, emptyCheckpoint, uuid6, type Checkpoint } from "@langchain/langgraph-checkpoint";
import { describe, expect, it } from "vitest";
import { admin, backends, useBackend } from "@weft/test-support";
import { CheckpointConflictError, CheckpointTooLargeError, WeftSaver } from "../src/index.js";
import { saverKeys } from "../src/keys.js";
import { stepsGraph } from "./graphs.js";

const meta = { source: "loop" as const, step: 0, parents: {} };
const checkpoint = (values: Record<string, unknown> = {}): Checkpoint => ({
  ...emptyCheckpoint(),
  id: uuid6(-1),
  channel_values: values,
  channel_versions: Object.fromEntries(Object.keys(values).map((k) => [k, 1])),
});

describe.each(backends)("WeftSaver on %s", (name) => {
  const backend = useBackend(name);
  type Options = { guarded?: boolean; maxCheckpointBytes?: number };
  const saver = (o: Options = {}) => new WeftSaver({ redis: backend().redis(), prefix: `s${randomUUID().slice(0, 8)}`, ...o });
  /** Two savers on their own connections over the same keys: two processes driving one thread. */
  const twoProcesses = (o: Options = {}) => {
    const prefix = `s${randomUUID().slice(0, 8)}`;
    return [new WeftSaver({ redis: backend().redis(), prefix, ...o }), new WeftSaver({ redis: backend().redis(), prefix, ...o })] as const;
  };

  it("runs a graph to the end and reads its history back, newest first, on thread ids that need encoding", async () => {
    const s = saver();
    for (const thread_id of ["plain-id", "}{ braces", "", "日本語/スレッド"]) {
      const g = stepsGraph(s);
      const config = { configurable: { thread_id } };
      expect((await g.invoke({ steps: [] }, config)).steps).toEqual(["a", "b", "c"]);
      const history = [];
      for await (const state of g.getStateHistory(config)) history.push(state.values.steps);
      expect(history).toEqual([["a", "b", "c"], ["a", "b"], ["a"], [], []]);
    }
  });

  it("without the guard, two writers extending the same checkpoint both succeed and the thread forks", async () => {
    const [one, two] = twoProcesses();
    const thread = { configurable: { thread_id: "t", checkpoint_ns: "" } };
    const root = await one.put(thread, checkpoint(), meta, {});
    const results = await Promise.allSettled([one.put(root, checkpoint(), meta, {}), two.put(root, checkpoint(), meta, {})]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "fulfilled"]);
    const children = [];
    for await (const t of one.list(thread)) if (t.parentConfig?.configurable?.checkpoint_id === root.configurable!.checkpoint_id) children.push(t.checkpoint.id);
    expect(children).toHaveLength(2);
  });

  it("with the guard, of two writers extending the same checkpoint exactly one wins and the other gets a conflict naming the winner", async () => {
    const [a, b] = twoProcesses({ guarded: true });
    const thread = { configurable: { thread_id: "t", checkpoint_ns: "" } };
    const root = await a.put(thread, checkpoint(), meta, {});
    const [ca, cb] = [checkpoint(), checkpoint()];
    const results = await Promise.allSettled([a.put(root, ca, meta, {}), b.put(root, cb, meta, {})]);
    const won = results.findIndex((r) => r.status === "fulfilled");
    const lost = results.find((r) => r.status === "rejected") as PromiseRejectedResult | undefined;
    expect(won).toBeGreaterThanOrEqual(0);
    expect(lost?.reason).toBeInstanceOf(CheckpointConflictError);
    const winner = [ca, cb][won]!.id;
    expect((lost!.reason as CheckpointConflictError).latestCheckpointId).toBe(winner);
    expect((lost!.reason as CheckpointConflictError).code).toBe("conflict");
    expect((await a.getTuple(thread))?.checkpoint.id).toBe(winner);
    // A retried put of the winner (same parent) is accepted; the loser building on the winner is too.
    await expect(a.put(root, [ca, cb][won]!, meta, {})).resolves.toBeDefined();
    await expect(b.put({ configurable: { ...thread.configurable, checkpoint_id: winner } }, checkpoint(), meta, {})).resolves.toBeDefined();
    // A first checkpoint that names a parent the namespace does not have is a conflict too.
    await expect(b.put({ configurable: { thread_id: "other", checkpoint_ns: "", checkpoint_id: uuid6(-1) } }, checkpoint(), meta, {})).rejects.toMatchObject({
      latestCheckpointId: undefined,
    });
  });

  it("a checkpoint over maxCheckpointBytes is refused naming the thread and its size, and nothing is stored", async () => {
    const s = saver({ maxCheckpointBytes: 2_000 });
    const config = { configurable: { thread_id: "big-thread", checkpoint_ns: "" } };
    const big = checkpoint({ text: "x".repeat(5_000) });
    const err = await s.put(config, big, meta, { text: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CheckpointTooLargeError);
    expect((err as Error).message).toMatch(/thread "big-thread" is 5\d{3} bytes serialized, over the limit of 2000 bytes/);
    expect((err as CheckpointTooLargeError).code).toBe("payload_too_large");
    expect(await s.getTuple(config)).toBeUndefined();
    const stored = await s.put(config, checkpoint(), meta, {});
    await expect(s.putWrites(stored, [["text", "y".repeat(5_000)]], "task")).rejects.toThrow(/writes of thread "big-thread" is 5\d{3} bytes/);
    expect((await s.getTuple(stored))?.pendingWrites).toEqual([]);
  });

  it("a config without thread_id fails with the same error LangGraph's own savers give", async () => {
    const s = saver();
    const memory = new MemorySaver();
    const noThread = { configurable: { checkpoint_ns: "" } };
    const ours = await s.put(noThread, checkpoint(), meta, {}).catch((e: Error) => e.message);
    const theirs = await memory.put(noThread, checkpoint(), meta).catch((e: Error) => e.message);
    expect(ours).toBe(theirs);
    const withId = { configurable: { checkpoint_ns: "", checkpoint_id: uuid6(-1) } };
    expect(await s.putWrites(withId, [["a", 1]], "t").catch((e: Error) => e.message)).toBe(await memory.putWrites(withId, [["a", 1]], "t").catch((e: Error) => e.message));
    expect(await s.getTuple(noThread)).toBeUndefined();
  });
});

describe("WeftSaver TTL on single Redis", () => {
  const backend = useBackend("single");
  const pttl = (keys: string[]) => admin(backend().nodes[0]!, (c) => Promise.all(keys.map((k) => c.pttl(k))));
  const shorten = (keys: string[]) => admin(backend().nodes[0]!, (c) => Promise.all(keys.map((k) => c.pexpire(k, 5_000))));

  it.each([true, false])("writes set the TTL on both keys of the thread; reads restart it when refreshOnRead is %s", async (refreshOnRead) => {
    const prefix = `ttl${String(refreshOnRead)}`;
    const s = new WeftSaver({ redis: backend().redis(), prefix, ttlMs: 60_000, refreshOnRead });
    const config = await s.put({ configurable: { thread_id: "t" } }, checkpoint({ v: 1 }), meta, { v: 1 });
    const keys = saverKeys(prefix).thread("t");
    for (const t of await pttl(keys)) expect(t).toBeGreaterThan(59_000);
    await shorten(keys);
    await s.getTuple(config);
    for (const t of await pttl(keys)) {
      if (refreshOnRead) expect(t).toBeGreaterThan(59_000);
      else expect(t).toBeLessThanOrEqual(5_000);
    }
    // list reads restart it the same way.
    await shorten(keys);
    for await (const _ of s.list(config)) void _;
    for (const t of await pttl(keys)) {
      if (refreshOnRead) expect(t).toBeGreaterThan(59_000);
      else expect(t).toBeLessThanOrEqual(5_000);
    }
    await s.close();
  });

  it("ttlMs 0 keeps a thread without a TTL, through writes and reads", async () => {
    const s = new WeftSaver({ redis: backend().redis(), prefix: "ttl0", ttlMs: 0 });
    const config = await s.put({ configurable: { thread_id: "t" } }, checkpoint({ v: 1 }), meta, { v: 1 });
    await s.putWrites(config, [["v", 2]], "task");
    expect(await s.getTuple(config)).toBeDefined();
    expect(await pttl(saverKeys("ttl0").thread("t"))).toEqual([-1, -1]);
    await s.close();
  });
});

describe("WeftSaver key layout on the 3-master cluster", () => {
  const backend = useBackend("cluster");

  it("every key of a thread is in one hash slot (and on one master), whatever the thread id; threads spread over slots", async () => {
    const prefix = `slot${randomUUID().slice(0, 8)}`;
    const s = new WeftSaver({ redis: backend().redis(), prefix });
    const ids = ["plain", "", "}{", "{t:x}", "a}b{c", "日本語", "with space", ...Array.from({ length: 20 }, (_, i) => `thread-${i}`)];
    const slots = new Set<number>();
    for (const thread_id of ids) {
      const config = await s.put({ configurable: { thread_id, checkpoint_ns: "" } }, checkpoint({ v: 1 }), meta, { v: 1 });
      await s.putWrites(config, [["v", 2]], "task");
      const keys = saverKeys(prefix).thread(thread_id);
      const [a, b] = await admin(backend().nodes[0]!, (c) => Promise.all(keys.map((k) => c.call("CLUSTER", "KEYSLOT", k) as Promise<number>)));
      expect(b).toBe(a);
      slots.add(a!);
      // Both keys exist, on the same master.
      const here = (c: Parameters<Parameters<typeof admin>[1]>[0], k: string) => c.exists(k).catch((e: Error) => (/MOVED/.test(e.message) ? 0 : Promise.reject(e)));
      const held = await Promise.all(backend().nodes.map((n) => admin(n, async (c) => (await here(c, keys[0])) + (await here(c, keys[1])))));
      expect(held.filter((n) => n > 0)).toEqual([2]);
    }
    expect(slots.size).toBeGreaterThan(10);
    await s.close();
  });
});
