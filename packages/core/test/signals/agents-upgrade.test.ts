import { describe, expect, it } from "vitest";
import { createEngine } from "@weft/core";
import { createSignals } from "@weft/core/signals";
import { fakeClock, useRawRedis } from "../engine/harness.js";

/**
 * The ready index as the version before the counts wrote it (a run in flight during an
 * upgrade): a sorted set `<agents><tenant>:<agent>:ready` of `dagId|node` by ready time, and
 * no ready time in the node hashes' `l` (absent, or the lease of an attempt that failed).
 * The engine counts those nodes, takes them out where they leave (claim, pause) and drains
 * the set, next to nodes it counts by ready time itself.
 */
const { redis, raw } = useRawRedis();

describe("scaling signals across the upgrade to ready counts", () => {
  it("count, take out and drain ready nodes indexed the old way, next to nodes counted the new way", async () => {
    const clock = fakeClock();
    const engine = createEngine({ redis: redis(), prefix: `up${process.pid}`, shardCount: 1, clock: () => clock.now });
    const signals = createSignals({ redis: redis(), keys: engine.keys, clock: () => clock.now });
    const t = "initech";
    const agents = engine.keys.shard(0).agents;
    const oldKey = `${agents}${t}:x:ready`;

    const { dagId: old } = await engine.submit(t, { nodes: [{ id: "a", agent: "x" }, { id: "b", agent: "x" }] });
    // Rewrite its index the way the earlier version stored it, ready 50 ms before.
    const oldAt = clock.now - 50;
    await raw().del(`${oldKey}.n`, `${oldKey}.at`);
    // No ready time in `l`: absent (never ran) or an old lease (a retried node).
    await raw().hdel(`${engine.keys.run(t, old).key}n:a`, "l");
    await raw().hset(`${engine.keys.run(t, old).key}n:b`, "l", `1.abcdefgh|${oldAt}|w0|0`);
    await raw().zadd(oldKey, oldAt, `${old}|a`, oldAt, `${old}|b`);
    expect(await signals.agents(t, { agent: "x" })).toMatchObject({ agents: [{ ready: 2, oldestReadyAt: oldAt, running: 0 }] });

    clock.advance(10);
    const { dagId: now } = await engine.submit(t, { nodes: [{ id: "c", agent: "x" }] });
    expect((await signals.agents(t, { agent: "x" })).agents).toMatchObject([{ ready: 3, oldestReadyAt: oldAt, running: 0 }]);

    // A claim takes the oldest queue entry: an old-indexed node leaves the old set.
    const [first] = await engine.claim(t, "x", { max: 1, workerId: "w" });
    expect(first).toMatchObject({ dagId: old, nodeId: "a" });
    expect(await raw().zrange(oldKey, 0, -1)).toEqual([`${old}|b`]);
    expect((await signals.agents(t, { agent: "x" })).agents).toMatchObject([{ ready: 2, oldestReadyAt: oldAt, running: 1 }]);

    // Pausing takes the last old-indexed node out: the old set is gone, the oldest is the new run's.
    await engine.pause(t, old);
    expect(await raw().exists(oldKey)).toBe(0);
    expect((await signals.agents(t, { agent: "x" })).agents).toMatchObject([{ ready: 1, oldestReadyAt: clock.now, running: 1 }]);
    clock.advance(5);
    await engine.resume(t, old);
    expect((await signals.agents(t, { agent: "x" })).agents).toMatchObject([{ ready: 2, oldestReadyAt: clock.now - 5, running: 1 }]);

    // Everything finishes: no count and no key stays.
    await engine.complete(t, first!, null);
    for (const task of await engine.claim(t, "x", { max: 10, workerId: "w" })) await engine.complete(t, task, null);
    expect((await engine.getRun(t, old)).status).toBe("succeeded");
    expect((await engine.getRun(t, now)).status).toBe("succeeded");
    expect((await signals.agents(t)).agents).toEqual([]);
    expect((await raw().keys(`${agents}${t}:*`)).sort()).toEqual([]);
  });
});
