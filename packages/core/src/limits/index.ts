/** @weft/core/limits - per-tenant limits kept in Redis: token buckets. */
export { createRateLimiter, type Bucket, type NamedBucket, type RateLimiter, type RateLimiterOptions } from "./rate-limit.js";
