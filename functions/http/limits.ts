import type { MiddlewareHandler } from "hono";
import type { NamedBucket, RateLimiter } from "@weft/core/limits";
import type { AuthEnv } from "./auth.js";
import { isId } from "@weft/core/checks";

/**
 * Per-tenant rate limits (WEFT_RATE_LIMITS): a token bucket per tenant and, optionally,
 * one per tenant and route class, kept in Redis (@weft/core/limits). A request takes a
 * token from its tenant's bucket and from its class's bucket, or from neither, and is
 * answered 429 with Retry-After when one is empty. No rule, no bucket, no Redis call.
 */

/** The route classes a rule can name: submits, claims, other writes, reads. */
export const ROUTE_CLASSES = ["submit", "claim", "write", "read"] as const;
export type RouteClass = (typeof ROUTE_CLASSES)[number];

export function routeClass(method: string, path: string): RouteClass {
  if (method === "GET" || method === "HEAD") return "read";
  if (method === "POST" && path === "/v1/dags") return "submit";
  if (method === "POST" && path.endsWith("/claim")) return "claim";
  return "write";
}

/** Rules by scope: `*` or a tenant (every request), `*@class` or `tenant@class` (that class). */
export type RateLimitRules = Record<string, { rate: number; burst: number }>;

/**
 * `"*=100/s:200, acme=10/s, *@claim=500/s, acme@submit=30/m:5"`: entries `scope=rate/unit[:burst]`
 * separated by commas, unit `s` or `m`, burst (the bucket size) by default one second's worth
 * (at least 1). A tenant's own rule replaces the `*` one of the same class.
 */
export function parseRateLimits(text: string): RateLimitRules {
  const rules: RateLimitRules = Object.create(null) as RateLimitRules;
  for (const [i, entry] of text.split(",").map((e) => e.trim()).filter(Boolean).entries()) {
    const m = /^([^@=]+)(?:@([a-z]+))?=(\d+(?:\.\d+)?)\/([sm])(?::(\d+))?$/.exec(entry);
    const cls = m?.[2];
    if (!m || (m[1] !== "*" && !isId(m[1])) || (cls !== undefined && !(ROUTE_CLASSES as readonly string[]).includes(cls))) {
      throw new Error(`entry ${i + 1} must be scope=rate/s or scope=rate/m with an optional :burst (scope * or a tenant, optionally @${ROUTE_CLASSES.join("|@")})`);
    }
    const rate = Number(m[3]) / (m[4] === "m" ? 60 : 1);
    if (!(rate > 0)) throw new Error(`entry ${i + 1}: the rate must be above 0`);
    const burst = m[5] !== undefined ? Number(m[5]) : Math.max(1, Math.ceil(rate));
    if (burst < 1) throw new Error(`entry ${i + 1}: the burst must be at least 1`);
    rules[cls ? `${m[1]}@${cls}` : m[1]!] = { rate, burst };
  }
  return rules;
}

/** The buckets a tenant's request of a class takes from. */
export function bucketsFor(rules: RateLimitRules, tenant: string, cls: RouteClass): NamedBucket[] {
  const out: NamedBucket[] = [];
  const all = rules[tenant] ?? rules["*"];
  if (all) out.push({ scope: "all", ...all });
  const own = rules[`${tenant}@${cls}`] ?? rules[`*@${cls}`];
  if (own) out.push({ scope: cls, ...own });
  return out;
}

/** After auth: takes the request's tokens or throws RateLimitedError (429 + Retry-After). */
export function rateLimitMiddleware(limiter: RateLimiter, rules: RateLimitRules): MiddlewareHandler<AuthEnv> {
  return async (c, next) => {
    const tenant = c.get("tenant") as string | undefined;
    if (tenant !== undefined) await limiter.take(tenant, bucketsFor(rules, tenant, routeClass(c.req.method, c.req.path)));
    await next();
  };
}
