import { OpenAPIHono } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { PayloadTooLargeError, type Engine } from "@weft/core";
import { authMiddleware, type AuthConfig, type AuthEnv } from "./auth.js";
import { errorResponse } from "./errors.js";
import { claimRoutes } from "./routes/claims.js";
import { dagRoutes } from "./routes/dags.js";
import { hotOnlyReads, type WeftApp, type WriteRef } from "./routes/deps.js";
import { runRoutes } from "./routes/runs.js";
import type { ReadThrough } from "@weft/core";
import { nodeRoutes } from "./routes/nodes.js";
import { requestErrorFromZod } from "./validation.js";

export interface AppDeps {
  engine: Engine;
  auth: AuthConfig;
  /** Reads that fall back to the cold store once Redis let a run go; hot-only by default. */
  runs?: ReadThrough;
  /** Largest request body; larger gets 413 before it is parsed. Default 6 MiB (Lambda's own limit). */
  bodyLimitBytes?: number;
  /**
   * Runs after each write that may have added outbox entries (the Lambdas relay that
   * run's shard to EventBridge). Best effort: bounded by `afterWriteTimeoutMs` and never
   * fails the request, since the reconcile cron relays whatever is left.
   */
  afterWrite?: (ref: WriteRef) => Promise<unknown>;
  afterWriteTimeoutMs?: number;
  /** Mounts more routes (e.g. the shared-state routes) behind the same auth, limits and errors. */
  extra?: (app: WeftApp) => void;
}

export const DEFAULT_BODY_LIMIT_BYTES = 6 * 1024 * 1024;

/** The Weft HTTP API: one Hono app served by every HTTP Lambda and by the local server. */
export function createApp(deps: AppDeps): WeftApp {
  const app: WeftApp = new OpenAPIHono<AuthEnv>({
    // Schema failures become our 400 (naming the field) instead of zod's raw issue list.
    defaultHook: (result) => {
      if (!result.success) throw requestErrorFromZod(result.error, result.target);
    },
  });
  app.onError((err, c) => errorResponse(c, err));
  app.notFound((c) => c.json({ error: { code: "not_found", message: `no route ${c.req.method} ${c.req.path}` } }, 404));

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

  app.use("/v1/*", authMiddleware(deps.auth));
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

  const routeDeps = { engine: deps.engine, runs: deps.runs ?? hotOnlyReads(deps.engine), afterWrite: boundedAfterWrite(deps) };
  dagRoutes(app, routeDeps);
  runRoutes(app, routeDeps);
  claimRoutes(app, routeDeps);
  nodeRoutes(app, routeDeps);
  deps.extra?.(app);
  return app;
}

function boundedAfterWrite(deps: AppDeps): (ref: WriteRef) => Promise<void> {
  const hook = deps.afterWrite;
  if (!hook) return async () => {};
  const timeoutMs = deps.afterWriteTimeoutMs ?? 2_000;
  return async (ref) => {
    let timer: NodeJS.Timeout | undefined;
    const work = hook(ref).catch((err: unknown) => console.warn("weft: relay after write failed (reconcile will retry)", err));
    const timeout = new Promise<void>((res) => (timer = setTimeout(res, timeoutMs)));
    await Promise.race([work, timeout]).finally(() => clearTimeout(timer));
  };
}
