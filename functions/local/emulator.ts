import { randomBytes } from "node:crypto";
import { join } from "node:path";
import type { Server } from "node:http";
import { InProcessPublisher, type BusEvent } from "@weft/core/events";
import { CORS, routes, streamRoutes } from "../../infra/routes.js";
import { schedules } from "../../infra/schedules.js";
import { subscriptions, type Subscription } from "../../infra/subscriptions.js";
import { configureRuntime, getRuntime, resetRuntime } from "../config.js";
import { sweepValues } from "../values.js";
import { errorFields, logger } from "../log.js";
import { startGateway, type HttpHandler } from "./gateway.js";
import { DEFAULT_VALUE_THRESHOLD_BYTES } from "@weft/core/values";
import { loadHandler, ROOT } from "./handlers.js";
import { closeLive } from "../live/lambda-stream.js";
import { settleBackground } from "../http/after-response.js";
import { dashboardSite, ensureDashboardBuilt } from "./dashboard.js";
import { startDynamo, startRedis, startS3, type Service } from "./services.js";
import { metrics, useMetrics } from "../metrics/index.js";
import type { IncomingMessage, ServerResponse } from "node:http";

export interface LocalOptions {
  /** API port; 0 picks a free one. Default: PORT or 3000. */
  port?: number;
  /** Where redis-server's AOF and dynalite's files live. Default: WEFT_DATA_DIR or `.weft`. */
  dataDir?: string;
  /** Reconcile (and every other schedule) period in ms. Default: WEFT_RECONCILE_MS or 1000. */
  reconcileMs?: number;
  /** Which bus subscriptions to deliver; default all of infra/subscriptions.ts. */
  subscriptions?: (s: Subscription) => boolean;
  /** Where progress lines go; default console.log with a "weft " prefix. */
  log?: (line: string) => void;
  /** Serve the dashboard (packages/dashboard, built first when stale) at `/`. Default false; `npm start` turns it on. */
  dashboard?: boolean;
  /** The process env the handlers read (REDIS_URL, WEFT_API_KEYS, ...); it is updated in place. */
  env?: NodeJS.ProcessEnv;
}

export interface Local {
  /** http://127.0.0.1:<port> */
  baseUrl: string;
  /** The API key the local gateway accepts (undefined: single dev tenant, no key needed). */
  apiKey: string | undefined;
  redisUrl: string;
  dynamoUrl: string;
  /** The S3 endpoint of the large values' bucket. */
  s3Url: string;
  bus: InProcessPublisher;
  /** Stops timers, the API, drains the bus, then Redis and DynamoDB (when this started them). */
  stop(): Promise<void>;
}

/**
 * Weft on this machine: the same Lambda handlers behind a local API Gateway (HTTP API v2
 * events), the bus subscriptions infra declares delivered in-process, every schedule on a
 * timer, a real redis-server (REDIS_URL, else spawned from PATH), DynamoDB
 * (DYNAMODB_ENDPOINT, else dynalite in-process) and S3 for large values (WEFT_S3_ENDPOINT,
 * else s3rver in-process). `npm start` and the tests use this; the
 * handlers read their config from `env`, so one emulator runs per process.
 */
export async function startLocal(o: LocalOptions = {}): Promise<Local> {
  const env = o.env ?? process.env;
  const log = o.log ?? ((s: string) => console.log(`weft ${s}`));
  // The SDK's notice that its 2027 releases need Node 22 is known (versions are pinned).
  env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  // The functions' structured log records, printed as readable lines (functions/log.ts).
  env.WEFT_LOG_FORMAT ??= "text";
  const dataDir = o.dataDir ?? env.WEFT_DATA_DIR ?? join(ROOT, ".weft");
  const table = env.WEFT_TABLE ?? "weft-local";
  const stoppers: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const s of stoppers.splice(0)) await s().catch((err: unknown) => logger.error("error while stopping", errorFields(err)));
  };
  // The addresses of what this start serves go into env for the handlers; stop() takes them out
  // again (back to what the caller had), so a later start in this process starts its own services
  // instead of reusing the stopped ones.
  const point = (values: Record<string, string>) => {
    const before = Object.fromEntries(Object.keys(values).map((k) => [k, env[k]]));
    Object.assign(env, values);
    stoppers.push(async () => {
      for (const [k, v] of Object.entries(before)) if (v === undefined) delete env[k];
      else env[k] = v;
    });
  };

  try {
    const redis = await startRedis(env, dataDir);
    stoppers.unshift(redis.stop);
    log(`redis:    ${redis.description}`);
    const dynamo: Service = await startDynamo(env, table, dataDir);
    stoppers.unshift(dynamo.stop);
    log(`dynamodb: ${dynamo.description} (table ${table})`);
    const bucket = env.WEFT_VALUES_BUCKET || "weft-values";
    const s3 = await startS3(env, bucket, dataDir);
    stoppers.unshift(s3.stop);
    log(`s3:       ${s3.description} (bucket ${bucket}: inputs and outputs over ${env.WEFT_VALUE_THRESHOLD_BYTES || DEFAULT_VALUE_THRESHOLD_BYTES} bytes)`);
    point({ REDIS_URL: redis.url, DYNAMODB_ENDPOINT: dynamo.url, WEFT_S3_ENDPOINT: s3.url });
    Object.assign(env, { WEFT_TABLE: table, WEFT_VALUES_BUCKET: bucket });

    let apiKey: string | undefined;
    if (!env.WEFT_API_KEYS) {
      env.WEFT_DEV_TENANT ??= "dev";
      log(`auth:     no WEFT_API_KEYS set: every request acts as the single dev tenant "${env.WEFT_DEV_TENANT}"`);
    } else {
      apiKey = env.WEFT_API_KEY ??= env.WEFT_API_KEYS.split(",")[0]!.split(":")[0];
      log(`auth:     ${env.WEFT_API_KEYS.split(",").length} API key(s) from WEFT_API_KEYS`);
    }

    // Signal URLs need a signing secret: a fresh one per start unless one is given.
    if (!env.WEFT_SIGNING_SECRET) {
      env.WEFT_SIGNING_SECRET = randomBytes(32).toString("base64url");
      log("signals:  signal URLs sealed with a secret made for this start (set WEFT_SIGNING_SECRET to keep them valid across restarts)");
    }

    // Metrics: a Prometheus registry served at GET /metrics (deployed: EMF; WEFT_METRICS overrides).
    if (!env.WEFT_METRICS) {
      useMetrics("prometheus");
      stoppers.push(async () => useMetrics(undefined));
    }

    // This process outlives its responses: they do not wait for the relay of their writes' events.
    if (env.WEFT_RELAY_AFTER_RESPONSE === undefined) point({ WEFT_RELAY_AFTER_RESPONSE: "1" });
    // Events: the outbox relay publishes to this in-process bus instead of EventBridge.
    const bus = new InProcessPublisher({
      onError: (err, e) => logger.error("subscriber failed", { event: e["detail-type"], tenant: e.detail.tenant, run: e.detail.dagId, ...errorFields(err) }),
    });
    await configureRuntime({ publisher: bus });
    // Stoppers run newest first: timers, API, then the bus drains, then storage goes.
    stoppers.unshift(async () => {
      await settleBackground();
      await bus.drain();
      await resetRuntime();
    });
    const subs = subscriptions.filter(o.subscriptions ?? (() => true));
    for (const sub of subs) {
      const fn = await loadHandler<(e: BusEvent) => Promise<unknown>>(sub.handler);
      bus.subscribe(sub.pattern, fn);
    }
    log(`events:   ${subs.length} subscriptions from infra/subscriptions.ts, delivered in-process`);

    const gatewayRoutes = await Promise.all([
      ...routes.map(async (r) => ({ method: r.method, path: r.path, name: r.handler, handler: await loadHandler<HttpHandler>(r.handler) })),
      ...streamRoutes.map(async (r) => ({ method: r.method, path: r.path, name: r.handler, handler: await loadHandler<HttpHandler>(r.handler), streaming: true })),
    ]);
    if (o.dashboard) await ensureDashboardBuilt(log);
    const dashboard = o.dashboard ? dashboardSite() : undefined;
    const site = (req: IncomingMessage, res: ServerResponse) => serveMetrics(req, res) || (dashboard?.(req, res) ?? false);
    const server: Server = await startGateway(gatewayRoutes, o.port ?? Number(env.PORT ?? 3000), "127.0.0.1", site, CORS);
    stoppers.unshift(async () => {
      // Open event streams would keep close() waiting: end them (clients resume by Last-Event-ID).
      await closeLive();
      const closed = new Promise((res) => server.close(res));
      server.closeAllConnections();
      await closed;
    });
    const address = server.address();
    const baseUrl = `http://127.0.0.1:${typeof address === "object" && address ? address.port : o.port}`;
    // Signal URLs point here (the runtime reads this when it is built, on first use).
    point({ WEFT_API_URL: baseUrl, WEFT_PUBLIC_URL: env.WEFT_PUBLIC_URL ?? baseUrl });
    if (metrics.kind === "prometheus") log(`metrics:  ${baseUrl}/metrics (Prometheus text; deployed: CloudWatch EMF)`);
    log(`api:      ${baseUrl} (${routes.length} routes + ${streamRoutes.length} streaming from infra/routes.ts; try ${baseUrl}/openapi.json)`);
    if (o.dashboard) log(`dashboard: ${baseUrl}/`);

    const period = o.reconcileMs ?? Number(env.WEFT_RECONCILE_MS ?? 1000);
    for (const s of schedules) {
      const fn = await loadHandler<() => Promise<unknown>>(s.handler);
      let busy = false;
      const timer = setInterval(() => {
        if (busy) return;
        busy = true;
        fn()
          .catch((err: unknown) => logger.error("schedule failed", { handler: s.handler, ...errorFields(err) }))
          .finally(() => (busy = false));
      }, period);
      stoppers.unshift(async () => clearInterval(timer));
    }
    // s3rver has no lifecycle rules: the objects of runs past their retention are swept here.
    const sweepMs = Number(env.WEFT_VALUES_SWEEP_MS ?? 600_000);
    const sweep = setInterval(() => {
      const rt = getRuntime();
      sweepValues(rt.values, rt.runs).catch((err: unknown) => logger.error("values sweep failed", errorFields(err)));
    }, sweepMs);
    stoppers.unshift(async () => clearInterval(sweep));
    log(`schedule: ${schedules.map((s) => s.handler).join(", ")} every ${period} ms (deployed: ${schedules.map((s) => s.schedule).join(", ")}); values sweep every ${sweepMs} ms (deployed: the bucket's lifecycle rule)`);
    return { baseUrl, apiKey, redisUrl: redis.url, dynamoUrl: dynamo.url, s3Url: s3.url, bus, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** GET /metrics: the functions' metrics in Prometheus text (functions/metrics), when that is the sink. */
function serveMetrics(req: IncomingMessage, res: ServerResponse): boolean {
  if (req.method !== "GET" || new URL(req.url ?? "/", "http://localhost").pathname !== "/metrics") return false;
  metrics
    .prometheus()
    .then((m) => {
      if (!m) res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: { code: "not_found", message: "metrics are not served here (WEFT_METRICS is not prometheus)" } }));
      else res.writeHead(200, { "content-type": m.contentType }).end(m.body);
    })
    .catch((err: unknown) => {
      logger.error("metrics scrape failed", errorFields(err));
      res.writeHead(500).end();
    });
  return true;
}
