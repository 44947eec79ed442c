import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * Watch tokens: what a browser puts in `?token=` because `EventSource` cannot send an
 * `Authorization` header, and an API key must never sit in a URL. A token is
 * `<payload>.<signature>` (base64url), the payload `{ t: tenant, d: dagId, e: expiry ms }`,
 * signed with HMAC-SHA256. It is scoped to one run, read-only, and short-lived: it opens
 * exactly the GET routes in RUN_READ_ROUTES of that run, nothing else.
 */
export interface WatchClaims {
  tenant: string;
  dagId: string;
  /** Epoch ms after which the token is refused. */
  expiresAt: number;
}

export const DEFAULT_WATCH_TTL_SECONDS = 600;
export const MAX_WATCH_TTL_SECONDS = 3600;

/** The run's read routes a watch token opens (GET only), as paths below `/v1/dags/{dagId}`. */
const RUN_READ_ROUTES = [/^$/, /^\/events$/, /^\/events\/stream$/, /^\/history$/, /^\/nodes\/[^/]+\/parents$/];

export interface WatchTokens {
  issue(tenant: string, dagId: string, ttlSeconds?: number, now?: number): { token: string; expiresAt: number };
  /** The claims of a well-formed, correctly signed, unexpired token; undefined otherwise. */
  verify(token: string, now?: number): WatchClaims | undefined;
}

export function watchTokens(secret: Buffer | string): WatchTokens {
  const key = typeof secret === "string" ? Buffer.from(secret, "utf8") : secret;
  if (key.length < 16) throw new Error("the watch token secret must be at least 16 bytes");
  const sign = (payload: string) => createHmac("sha256", key).update(payload).digest();
  return {
    issue(tenant, dagId, ttlSeconds = DEFAULT_WATCH_TTL_SECONDS, now = Date.now()) {
      const expiresAt = now + ttlSeconds * 1000;
      const payload = Buffer.from(JSON.stringify({ t: tenant, d: dagId, e: expiresAt })).toString("base64url");
      return { token: `${payload}.${sign(payload).toString("base64url")}`, expiresAt };
    },
    verify(token, now = Date.now()) {
      const dot = token.indexOf(".");
      if (dot <= 0 || token.length > 1024) return undefined;
      const payload = token.slice(0, dot);
      const given = Buffer.from(token.slice(dot + 1), "base64url");
      const expected = sign(payload);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
      try {
        const c = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { t?: unknown; d?: unknown; e?: unknown };
        if (typeof c.t !== "string" || typeof c.d !== "string" || typeof c.e !== "number") return undefined;
        if (c.e <= now) return undefined;
        return { tenant: c.t, dagId: c.d, expiresAt: c.e };
      } catch {
        return undefined;
      }
    },
  };
}

/** True when a token for `dagId` may serve `method path` (one of that run's read routes). */
export function tokenAllows(claims: WatchClaims, method: string, path: string): boolean {
  if (method !== "GET" && method !== "HEAD") return false;
  const base = `/v1/dags/${claims.dagId}`;
  if (path !== base && !path.startsWith(`${base}/`)) return false;
  const rest = path.slice(base.length);
  return RUN_READ_ROUTES.some((r) => r.test(rest));
}

/**
 * The signing secret: WEFT_WATCH_SECRET when set; else derived from WEFT_API_KEYS (every
 * engine function of a deployment has the same keys, so tokens issued by one verify in
 * another, and rotating the keys revokes them); else (dev tenant, one local process) random.
 */
export function watchSecretFromEnv(env: Record<string, string | undefined>): Buffer {
  const explicit = env.WEFT_WATCH_SECRET?.trim();
  if (explicit) return Buffer.from(explicit, "utf8");
  const keys = env.WEFT_API_KEYS?.trim();
  if (keys) return createHmac("sha256", "weft watch token v1").update(keys).digest();
  return randomBytes(32);
}
