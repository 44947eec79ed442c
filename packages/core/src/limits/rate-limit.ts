import { RateLimitedError } from "../errors.js";
import { call } from "../redis/contract.js";
import { keySchema } from "../redis/keys.js";
import type { RedisPort } from "../redis/port.js";
import { rateLimit } from "./scripts.js";

/** A token bucket: `rate` tokens per second, holding at most `burst`. */
export interface Bucket {
  rate: number;
  burst: number;
}

/** A bucket of a tenant under a name (`all` for the tenant as a whole, or a route class). */
export interface NamedBucket extends Bucket {
  scope: string;
}

export interface RateLimiterOptions {
  redis: RedisPort;
  prefix?: string;
  /** A test clock (epoch ms); Redis TIME otherwise. */
  now?: () => number;
}

export interface RateLimiter {
  /**
   * Takes one token from each of a tenant's buckets, or none if any is empty: then it
   * throws a RateLimitedError whose retryAfterSeconds says when every bucket has one again.
   */
  take(tenant: string, buckets: readonly NamedBucket[]): Promise<void>;
}

/**
 * Per-tenant token buckets in Redis (lua/rate_limit.lua): one script call per request,
 * atomic across the tenant's buckets, whichever function instance asks. The buckets of a
 * tenant share a hash slot of their own, so tenants spread over a cluster's masters.
 */
export function createRateLimiter(o: RateLimiterOptions): RateLimiter {
  const keys = keySchema(o.prefix ?? "weft");
  return {
    async take(tenant, buckets) {
      if (buckets.length === 0) return;
      const r = await call(
        o.redis,
        rateLimit,
        { buckets: buckets.map((b) => keys.rateLimit(tenant, b.scope)) },
        { limits: buckets.map(({ rate, burst }) => ({ rate, burst })), ...(o.now ? { now: o.now() } : {}) },
      );
      if (!r.ok) {
        const ms = r.retryMs ?? 1000;
        const b = buckets[(r.empty ?? 1) - 1] ?? buckets[0]!;
        const what = b.scope === "all" ? "rate limit" : `${b.scope} rate limit`;
        throw new RateLimitedError(`tenant ${tenant} is over its ${what} (${b.rate}/s, burst ${b.burst}); retry in ${Math.ceil(ms / 1000)} s`, ms);
      }
    },
  };
}
