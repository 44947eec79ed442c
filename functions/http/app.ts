import { bodyLimit } from "hono/body-limit";
import { PayloadTooLargeError, type ColdStore, type Engine, type OutboxEvent, type ReadThrough, type StateStore } from "@weft/core";
import { authMiddleware, type AuthConfig } from "./auth.js";
import { errorResponse, MethodNotAllowedError } from "./errors.js";
import { errorFields, logger } from "../log.js";
import { claimRoutes } from "./routes/claims.js";
import { recoveryRoutes } from "./routes/recovery.js";
import { hotOnlyReads, subApp, type WeftApp, type WriteRef } from "./routes/deps.js";
import { nodeRoutes } from "./routes/nodes.js";
import { runRoutes } from "./routes/runs.js";
import { stateRoutes } from "./routes/state.js";
import { documentStreamRoutes, watchTokenRoutes } from "../live/routes.js";
import { randomBytes } from "node:crypto";
import { watchTokens, type WatchTokens } from "../live/watch-token.js";
import { isTokenSignalPath, waitRoutes } from "./routes/waits.js";
import type { RateLimiter } from "@weft/core/limits";
import { rateLimitMiddleware, type RateLimitRules } from "./limits.js";
import { createValues, type Values } from "../values.js";
import { uploadRoutes } from "./routes/uploads.js";
import { healthRoutes } from "./routes/health.js";
import { agentRoutes } from "./routes/agents.js";
import { inBackground } from "./after-response.js";
import type { Signals } from "@weft/core/signals";
import { metrics } from "../metrics/index.js";
import { requestMetrics, requestSpan } from "./observe.js";
import { tracingEnabled } from "../tracing.js";

export interface AppDeps {
  engine: Engine;
  auth: AuthConfig;
  /** Reads that fall back to the cold store once Redis let a run go; hot-only by default. */
  runs?: ReadThrough;
  /** Shared agent state; without it the /v1/state, /v1/dags/{dagId}/state and /v1/machines routes are not mounted. */
  state?: StateStore;
  /** Largest request body; larger gets 413 before it is parsed. Default 6 MiB (Lambda's own limit). */
  bodyLimitBytes?: number;
  /**
   * Runs after each write that may have added outbox entries, with the entries the request's
   * writes replied (the Lambdas publish them to EventBridge and ack them). Best effort:
   * bounded by `afterWriteTimeoutMs` and never fails the request, since the reconcile cron
   * relays whatever is left.
   */
  afterWrite?: (ref: WriteRef, written: OutboxEvent[] | undefined) => Promise<unknown>;
  afterWriteTimeoutMs?: number;
  /**
   * Start afterWrite without the response waiting for it (functions/http/after-response.ts):
   * only where the process outlives its responses (the local emulator), never in a Lambda.
   */
  relayAfterResponse?: boolean;
  /**
   * Watch tokens: issued by POST /v1/dags/{dagId}/watch-token, accepted as `?token=` on the
   * run's reads. Default: a secret of this app's own (tokens verify only where they were issued).
   */
  watch?: { tokens: WatchTokens; streamBaseUrl?: string };
  /** Per-tenant rate limits (functions/http/limits.ts); none by default. */
  rateLimits?: { limiter: RateLimiter; rules: RateLimitRules };
  /** Large inputs and outputs in S3 (functions/values.ts); without it values pass through. */
  values?: Values;
  /** Health and scaling signals from Redis; without them GET /health and GET /v1/agents are not mounted. */
  signals?: Signals;
  /** The cold store GET /health probes (none: reported absent). */
  cold?: ColdStore;
}

export const DEFAULT_BODY_LIMIT_BYTES = 6 * 1024 * 1024;

/**
 * The Weft HTTP API: one Hono app composed of one sub-app per resource, served by the API
 * Lambda (functions/api.ts) and, through the local gateway, by `npm start`. What it serves
 * is `app.routes`; infra/routes.ts deploys the same table (functions/test/http/routes.test.ts
 * compares them route by route).
 */
export function createApp(deps: AppDeps): WeftApp {
  const app = subApp();
  app.onError((err, c) => errorResponse(c, err));
  // First, so it sees every request's final status (functions/metrics; off: not installed).
  if (metrics.enabled) app.use("*", requestMetrics());
  if (tracingEnabled()) app.use("*", requestSpan());

  app.openAPIRegistry.registerComponent("securitySchemes", "apiKey", {
    type: "http",
    scheme: "bearer",
    description: "An API key; each key acts as one tenant",
  });
  app.doc("/openapi.json", {
    openapi: "3.0.3",
    info: { title: "Weft", version: "1", description: "Coordination layer for multi-agent workflows: DAG runs of agent tasks." },
    security: [{ apiKey: [] }],
  });

  const watch = deps.watch ?? { tokens: watchTokens(randomBytes(32)) };
  // A signal URL's token is its own authority (routes/waits.ts): no tenant key there.
  const auth = authMiddleware(deps.auth, watch.tokens);
  app.use("/v1/*", (c, next) => (isTokenSignalPath(c.req.path) ? next() : auth(c, next)));
  if (deps.rateLimits) app.use("/v1/*", rateLimitMiddleware(deps.rateLimits.limiter, deps.rateLimits.rules));
  // A request's writes reply the outbox events they add, so afterWrite relays them without
  // reading the outbox back: a write costs 2 Redis calls (the write, the ack), not 3.
  if (deps.afterWrite) app.use("/v1/*", (_c, next) => deps.engine.outboxScope(next));
  const maxSize = deps.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES;
  app.use(
    "/v1/*",
    bodyLimit({
      maxSize,
      onError: () => {
        throw new PayloadTooLargeError(`request body exceeds ${maxSize} bytes`);
      },
    }),
  );

  const routeDeps = { engine: deps.engine, runs: deps.runs ?? hotOnlyReads(deps.engine), afterWrite: boundedAfterWrite(deps), values: deps.values ?? createValues() };
  app.route("/", runRoutes(routeDeps));
  app.route("/", recoveryRoutes(routeDeps));
  app.route("/", claimRoutes(routeDeps));
  app.route("/", nodeRoutes(routeDeps));
  app.route("/", waitRoutes(routeDeps));
  app.route("/", uploadRoutes(routeDeps));
  if (deps.state) app.route("/", stateRoutes({ state: deps.state }));
  if (deps.signals) app.route("/", healthRoutes({ signals: deps.signals, ...(deps.cold ? { cold: deps.cold } : {}) }));
  if (deps.signals) app.route("/", agentRoutes({ signals: deps.signals }));
  app.route("/", watchTokenRoutes({ runs: routeDeps.runs, ...watch }));
  documentStreamRoutes(app); // served by the Stream function (infra/routes.ts streamRoutes), documented here

  app.notFound((c) => {
    const methods = allowedMethods(app, c.req.path);
    if (methods.length) return errorResponse(c, new MethodNotAllowedError(c.req.method, c.req.path, methods));
    return c.json({ error: { code: "not_found", message: `no route ${c.req.method} ${c.req.path}` } }, 404);
  });
  return app;
}

/** A served route in API Gateway's notation: `GET /v1/dags/{dagId}`. */
export interface ServedRoute {
  method: string;
  path: string;
}

/** What the app serves, from Hono's own route list (middleware left out). */
export function servedRoutes(app: WeftApp): ServedRoute[] {
  const seen = new Set<string>();
  const out: ServedRoute[] = [];
  for (const r of app.routes) {
    if (r.method === "ALL") continue;
    const route = { method: r.method, path: r.path.replace(/:(\w+)/g, "{$1}") };
    const key = `${route.method} ${route.path}`;
    if (!seen.has(key)) out.push(route);
    seen.add(key);
  }
  return out;
}

const matchers = new WeakMap<WeftApp, { regex: RegExp; method: string }[]>();

/** The methods the app serves on `path` (for 405 and its Allow header); empty for an unknown path. */
export function allowedMethods(app: WeftApp, path: string): string[] {
  let table = matchers.get(app);
  if (!table) {
    table = servedRoutes(app).map((r) => ({
      method: r.method,
      regex: new RegExp(`^${r.path.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\\?\{\w+\}/g, "[^/]+")}$`),
    }));
    matchers.set(app, table);
  }
  return [...new Set(table.filter((r) => r.regex.test(path)).map((r) => r.method))];
}

function boundedAfterWrite(deps: AppDeps): (ref: WriteRef) => Promise<void> {
  const hook = deps.afterWrite;
  if (!hook) return async () => {};
  const timeoutMs = deps.afterWriteTimeoutMs ?? 2_000;
  return async (ref) => {
    // Taken now: the entries belong to this request's outbox scope.
    const written = deps.engine.takeOutbox();
    const relay = () =>
      hook(ref, written).catch((err: unknown) =>
        logger.warn("relay after write failed; reconcile will retry", { tenant: ref.tenant, run: ref.dagId, ...errorFields(err) }),
      );
    if (deps.relayAfterResponse) return inBackground(relay);
    let timer: NodeJS.Timeout | undefined;
    const work = relay();
    const timeout = new Promise<void>((res) => (timer = setTimeout(res, timeoutMs)));
    await Promise.race([work, timeout]).finally(() => clearTimeout(timer));
  };
}
