import { createHash, timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { isId } from "@weft/core/checks";
import { UnauthorizedError } from "./errors.js";
import { tokenAllows, type WatchTokens } from "../live/watch-token.js";

/** API keys mapped to the tenant they act as, or (local only) one dev tenant for every caller. */
export type AuthConfig = { keys: Record<string, string> } | { devTenant: string };

export type AuthEnv = { Variables: { tenant: string } };

/**
 * `Authorization: Bearer <key>` -> `c.var.tenant`. Keys are compared by SHA-256 digest in
 * constant time, so neither the map lookup nor the comparison leaks a key's prefix.
 * Without the header, a watch token in `?token=` (functions/live/watch-token.ts) opens
 * the read routes of its one run, as its tenant.
 */
export function authMiddleware(auth: AuthConfig, tokens?: WatchTokens): MiddlewareHandler<AuthEnv> {
  if ("devTenant" in auth) {
    return async (c, next) => {
      c.set("tenant", auth.devTenant);
      await next();
    };
  }
  const entries = Object.entries(auth.keys).map(([key, tenant]) => ({ digest: sha256(key), tenant }));
  return async (c, next) => {
    const header = c.req.header("authorization");
    const token = header ? undefined : c.req.query("token");
    if (token !== undefined && tokens) {
      const claims = tokens.verify(token);
      if (!claims) throw new UnauthorizedError("watch token is invalid or expired");
      if (!tokenAllows(claims, c.req.method, c.req.path)) throw new UnauthorizedError("watch token does not open this route (only its run's read routes)");
      c.set("tenant", claims.tenant);
      await next();
      return;
    }
    if (!header) throw new UnauthorizedError("missing Authorization: Bearer <api key>");
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m?.[1]) throw new UnauthorizedError("Authorization must be 'Bearer <api key>'");
    const digest = sha256(m[1]);
    const match = entries.find((e) => timingSafeEqual(e.digest, digest));
    if (!match) throw new UnauthorizedError("unknown API key");
    c.set("tenant", match.tenant);
    await next();
  };
}

/** `"key1:tenantA,key2:tenantB"` -> `{ key1: "tenantA", key2: "tenantB" }`. */
export function parseApiKeys(text: string, field = "WEFT_API_KEYS"): Record<string, string> {
  const keys: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [i, pair] of text.split(",").map((p) => p.trim()).filter(Boolean).entries()) {
    const sep = pair.lastIndexOf(":");
    const key = pair.slice(0, sep).trim();
    const tenant = pair.slice(sep + 1).trim();
    if (sep <= 0 || !key || !isId(tenant)) {
      throw new Error(`${field} entry ${i + 1} must be key:tenant (tenant of letters, digits, '_', '.', '-')`);
    }
    keys[key] = tenant;
  }
  return keys;
}

const sha256 = (s: string) => createHash("sha256").update(s).digest();
