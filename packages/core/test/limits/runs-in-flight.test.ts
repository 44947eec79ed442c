import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEngine } from "@weft/core";
import { RateLimitedError } from "@weft/core";
import { TcpRedis } from "@weft/core/redis";
import { startRedis, type RedisProcess } from "@weft/test-support";

/**
 * Runs in flight per tenant (engine option maxRunsInFlight): the submit script counts and
 * checks in one call, so concurrent submits cannot pass the limit together; a run that ends
 * (succeeds, fails, is cancelled) frees its place, a redrive takes one again.
 */
let server: RedisProcess;
let redis: TcpRedis;
beforeAll(async () => {
  server = await startRedis();
  redis = new TcpRedis({ url: server.url });
});
afterAll(async () => {
  await redis?.close();
  await server?.stop();
});

const one = (agent: string) => ({ nodes: [{ id: "a", agent }] });
async function refusal(p: Promise<unknown>): Promise<RateLimitedError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RateLimitedError);
  return err as RateLimitedError;
}

describe("runs in flight per tenant", () => {
  it("lets exactly the limit through out of 40 concurrent submits, and refuses the rest naming the limit", async () => {
    const engine = createEngine({ redis, maxRunsInFlight: 5 });
    const t = `t-${randomUUID().slice(0, 8)}`;
    const results = await Promise.allSettled(Array.from({ length: 40 }, () => engine.submit(t, one("ag"))));
    const created = results.filter((r) => r.status === "fulfilled");
    expect(created).toHaveLength(5);
    for (const r of results.filter((r) => r.status === "rejected")) {
      const err = (r as PromiseRejectedResult).reason as RateLimitedError;
      expect(err).toBeInstanceOf(RateLimitedError);
      expect(err.message).toContain("maxRunsInFlight");
      expect(err.details).toMatchObject({ limit: "maxRunsInFlight", max: 5, inFlight: 5 });
    }
    expect(await engine.listHotRuns(t, { limit: 100 })).toHaveLength(5);
    // Another tenant has its own count.
    await engine.submit(`${t}-other`, one("ag"));
  });

  it("frees a place when a run succeeds, fails or is cancelled, keeps one for a resubmit of a run in flight, and counts a redrive", async () => {
    const engine = createEngine({ redis, maxRunsInFlight: 2 });
    const t = `t-${randomUUID().slice(0, 8)}`;
    const first = await engine.submit(t, { id: "first", ...one("ok") });
    const second = await engine.submit(t, { id: "second", ...one("bad") });
    await refusal(engine.submit(t, one("x")));
    // The same run again is that run, not a new one: not refused.
    expect((await engine.submit(t, { id: "first", ...one("ok") })).created).toBe(false);

    const [ok] = await engine.claim(t, "ok");
    await engine.complete(t, { dagId: first.dagId, nodeId: "a", leaseToken: ok!.leaseToken }, "done");
    const third = await engine.submit(t, one("x"));
    await refusal(engine.submit(t, one("x")));

    const [bad] = await engine.claim(t, "bad");
    await engine.fail(t, { dagId: second.dagId, nodeId: "a", leaseToken: bad!.leaseToken }, { message: "no" }, { retryable: false });
    expect((await engine.getRun(t, second.dagId)).status).toBe("failed");
    await engine.submit(t, one("y"));
    await refusal(engine.submit(t, one("y")));

    await engine.cancel(t, third.dagId);
    const fourth = await engine.submit(t, one("z"));
    // A redrive brings the failed run back: it takes a place again (over the limit here: a
    // redrive is not refused), so after cancelling one, the count is still full.
    await engine.redrive(t, second.dagId);
    await engine.cancel(t, fourth.dagId);
    await refusal(engine.submit(t, one("z")));
    await engine.cancel(t, second.dagId);
    await engine.submit(t, one("z"));
  });
});
