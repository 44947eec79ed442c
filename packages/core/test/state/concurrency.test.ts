import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { ConflictError } from "@weft/core";
import { keySchema } from "@weft/core/redis";
import { createStateStore, update, type StateRef } from "@weft/core";
import { backends, useBackend } from "@weft/test-support";

const AGENTS = 100;
const think = () => new Promise<void>((r) => setTimeout(r, Math.random() * 20));

/** 100 agents each read the counter, think 0-20 ms, and write it + 1. */
async function agents<T>(work: () => Promise<T>): Promise<PromiseSettledResult<T>[]> {
  return Promise.allSettled(Array.from({ length: AGENTS }, work));
}

describe.each(backends)("100 concurrent agents on one counter, %s", (name) => {
  const backend = useBackend(name);

  it("through Weft loses no update: the final value equals the accepted writes", async () => {
    const store = createStateStore({ redis: backend().redis(), keys: keySchema("weft", backend().shardCount) });
    const ref: StateRef = { tenant: `t-${randomUUID().slice(0, 8)}`, namespace: "counters", key: "hits" };
    const started = Date.now();
    const results = await agents(() =>
      update<number>(store, ref, async (n) => {
        await think();
        return (n ?? 0) + 1;
      }, { retries: 1000, backoffMs: 1, maxBackoffMs: 20 }),
    );
    const accepted = results.filter((r) => r.status === "fulfilled");
    expect(accepted).toHaveLength(AGENTS);
    const final = await store.get(ref);
    expect(final.value).toBe(AGENTS);
    expect(final.version).toBe(AGENTS);
    // Every accepted write saw its own version: no two agents were granted the same one.
    expect(new Set(accepted.map((r) => r.value.version)).size).toBe(AGENTS);
    const tries = accepted.reduce((a, r) => a + r.value.attempts, 0);
    console.log(`${name}: ${AGENTS} agents, ${tries} write attempts, ${Date.now() - started} ms`);
  }, 180_000);

  it("with few retries some agents give up with a conflict, and the value still counts exactly the accepted writes", async () => {
    const store = createStateStore({ redis: backend().redis(), keys: keySchema("weft", backend().shardCount) });
    const ref: StateRef = { tenant: `t-${randomUUID().slice(0, 8)}`, namespace: "counters", key: "hits" };
    const results = await agents(() =>
      update<number>(store, ref, async (n) => {
        await think();
        return (n ?? 0) + 1;
      }, { retries: 1, backoffMs: 1 }),
    );
    const accepted = results.filter((r) => r.status === "fulfilled").length;
    const rejected = results.filter((r) => r.status === "rejected");
    expect(rejected.length).toBeGreaterThan(0);
    for (const r of rejected) expect(r.reason).toBeInstanceOf(ConflictError);
    expect((await store.get(ref)).value).toBe(accepted);
  });
});

describe("the same workload with plain GET/SET", () => {
  const backend = useBackend("single");

  it("loses updates: every SET succeeds but the counter ends far below the writes made", async () => {
    const node = backend().nodes[0]!;
    const client = new Redis({ host: node.host, port: node.port });
    try {
      const key = `plain:${randomUUID()}`;
      const results = await agents(async () => {
        const n = Number((await client.get(key)) ?? 0);
        await think();
        return client.set(key, String(n + 1));
      });
      expect(results.every((r) => r.status === "fulfilled" && r.value === "OK")).toBe(true);
      const final = Number(await client.get(key));
      console.log(`plain GET/SET: ${AGENTS} acknowledged writes, final value ${final}`);
      expect(final).toBeLessThan(AGENTS);
    } finally {
      client.disconnect();
    }
  });
});
