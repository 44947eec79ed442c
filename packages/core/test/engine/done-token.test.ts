import { describe, expect, it } from "vitest";
import { createEngine, type Task } from "@weft/core";
import { useRawRedis } from "./harness.js";

/**
 * A succeeded attempt keeps only the start of its lease token in `l` (attempt number and 4
 * characters). Its repeated completion is still a duplicate, a stale attempt's token still
 * conflicts, and a node whose `l` holds the whole token (written before) reads the same.
 */
const { redis, raw } = useRawRedis();

describe("the token a succeeded attempt keeps", () => {
  it("is short, recognises the same completion again and refuses a stale attempt's, also in the form written before", async () => {
    const engine = createEngine({ redis: redis(), prefix: `dt${process.pid}`, shardCount: 1 });
    const t = "acme";
    const { dagId } = await engine.submit(t, { nodes: [{ id: "a", agent: "x", retry: { maxAttempts: 3, backoffMs: 0 } }, { id: "b", agent: "x" }] });
    const nodeKey = (n: string) => `${engine.keys.run(t, dagId).key}n:${n}`;
    const claimed = async (id: string): Promise<Task> => engine.claimNode(t, dagId, id, { workerId: "w" });

    // a: attempt 1 expires unreported (released here), attempt 2 succeeds.
    const first = await claimed("a");
    await engine.release(t, first);
    const second = await claimed("a");
    expect(second.attempt).toBe(2);
    expect(await engine.complete(t, second, { v: 1 })).toMatchObject({ duplicate: false });
    const kept = await raw().hget(nodeKey("a"), "l");
    expect(kept).toBe(second.leaseToken.slice(0, second.leaseToken.indexOf(".") + 5));
    expect(kept!.length).toBeLessThan(second.leaseToken.length);

    expect(await engine.complete(t, second, { v: 1 })).toMatchObject({ duplicate: true });
    await expect(engine.complete(t, second, { v: 2 })).rejects.toThrow(/different output/);
    await expect(engine.complete(t, first, { v: 1 })).rejects.toThrow(/not the live lease/);
    // A token that only starts like the kept one from another attempt: 20.x vs 2.x.
    await expect(engine.complete(t, { ...second, leaseToken: `2${second.leaseToken}` }, { v: 1 })).rejects.toThrow(/not the live lease/);

    // b succeeds, then its `l` is rewritten the way the earlier version kept it: the whole token.
    const b = await claimed("b");
    await engine.complete(t, b, null);
    await raw().hset(nodeKey("b"), "l", b.leaseToken);
    expect(await engine.complete(t, b, null)).toMatchObject({ duplicate: true });
    await expect(engine.complete(t, { ...b, leaseToken: `${b.leaseToken.slice(0, -1)}!` }, null)).rejects.toThrow(/not the live lease/);
    expect((await engine.getRun(t, dagId)).status).toBe("succeeded");
  });
});
