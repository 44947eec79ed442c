import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { RateLimitedError } from "@weft/core";
import { createRateLimiter } from "@weft/core/limits";
import { backends, useBackend } from "@weft/test-support";

/** Takes a token; the RateLimitedError it throws, or undefined when one was granted. */
async function attempt(take: () => Promise<void>): Promise<RateLimitedError | undefined> {
  try {
    await take();
    return undefined;
  } catch (err) {
    if (err instanceof RateLimitedError) return err;
    throw err;
  }
}

describe.each(backends)("per-tenant token buckets in Redis, %s", (name) => {
  const backend = useBackend(name);
  const tenant = () => `t-${randomUUID().slice(0, 8)}`;

  it("grants a burst, then refuses with the wait until the next token, and refills at the rate", async () => {
    let now = 1_000_000;
    const limiter = createRateLimiter({ redis: backend().redis(), now: () => now });
    const t = tenant();
    const bucket = [{ scope: "all", rate: 2, burst: 3 }];
    for (let i = 0; i < 3; i++) expect(await attempt(() => limiter.take(t, bucket))).toBeUndefined();
    const refused = await attempt(() => limiter.take(t, bucket));
    expect(refused).toBeInstanceOf(RateLimitedError);
    expect(refused!.details).toEqual({ retryAfterMs: 500 });
    expect(refused!.retryAfterSeconds).toBe(1);
    expect(refused!.message).toContain(t);
    now += 499;
    expect(await attempt(() => limiter.take(t, bucket))).toBeInstanceOf(RateLimitedError);
    now += 1;
    expect(await attempt(() => limiter.take(t, bucket))).toBeUndefined();
    // A long idle time refills up to the burst, never past it.
    now += 60_000;
    for (let i = 0; i < 3; i++) expect(await attempt(() => limiter.take(t, bucket))).toBeUndefined();
    expect(await attempt(() => limiter.take(t, bucket))).toBeInstanceOf(RateLimitedError);
  });

  it("takes from all of a request's buckets or from none", async () => {
    const now = 2_000_000;
    const limiter = createRateLimiter({ redis: backend().redis(), now: () => now });
    const t = tenant();
    const all = { scope: "all", rate: 1, burst: 3 };
    const claim = { scope: "claim", rate: 1, burst: 1 };
    expect(await attempt(() => limiter.take(t, [all, claim]))).toBeUndefined();
    // The claim bucket is empty: the refused claims take nothing from the tenant's bucket.
    for (let i = 0; i < 5; i++) expect((await attempt(() => limiter.take(t, [all, claim])))?.message).toContain("over its claim rate limit (1/s, burst 1)");
    expect(await attempt(() => limiter.take(t, [all]))).toBeUndefined();
    expect(await attempt(() => limiter.take(t, [all]))).toBeUndefined();
    expect(await attempt(() => limiter.take(t, [all]))).toBeInstanceOf(RateLimitedError);
  });

  it("keeps each tenant's buckets apart, and Redis's clock refills them without a test clock", async () => {
    const limiter = createRateLimiter({ redis: backend().redis() });
    const [a, b] = [tenant(), tenant()];
    const bucket = [{ scope: "all", rate: 20, burst: 1 }];
    expect(await attempt(() => limiter.take(a, bucket))).toBeUndefined();
    const refused = await attempt(() => limiter.take(a, bucket));
    expect(refused).toBeInstanceOf(RateLimitedError);
    expect(await attempt(() => limiter.take(b, bucket))).toBeUndefined();
    await new Promise((r) => setTimeout(r, 60));
    expect(await attempt(() => limiter.take(a, bucket))).toBeUndefined();
  });
});
