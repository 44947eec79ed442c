import { script } from "../redis/contract.js";

/** The limits' scripts (redis/contract.ts): per script its file under redis/lua/, its keys, its argument and its reply. */
export interface Buckets {
  /** The bucket keys of one tenant (one hash slot: KeySchema.rateLimit). */
  buckets: readonly string[];
}

export const rateLimit = script<Buckets, { limits: { rate: number; burst: number }[]; now?: number }, { ok: boolean; retryMs?: number; empty?: number }>({
  name: "rate_limit",
  keys: (k) => ({ buckets: k.buckets }),
});

export const LIMIT_SCRIPTS = [rateLimit];
