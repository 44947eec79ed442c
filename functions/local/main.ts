import { parseArgs } from "node:util";
import { join } from "node:path";
import type { Server } from "node:http";
import { createClient } from "@weft/client";
import { InProcessPublisher } from "@weft/core";
import { routes } from "../../infra/routes.js";
import { schedules } from "../../infra/schedules.js";
import { subscriptions } from "../../infra/subscriptions.js";
import { configureRuntime, resetRuntime } from "../config.js";
import { exampleRun } from "./example.js";
import { startGateway, type HttpHandler } from "./gateway.js";
import { loadHandler, ROOT } from "./handlers.js";
import { formatEvent, formatSummary } from "./progress.js";
import { startDynamo, startRedis, type Service } from "./services.js";

/**
 * `npm start`: Weft on this machine. The same Lambda handlers behind a local API Gateway
 * (HTTP API v2 events), the bus subscriptions infra declares delivered in-process, the
 * reconcile schedule on a timer, a real redis-server and an embedded DynamoDB. By default
 * it then runs the example multi-agent DAG and prints its progress.
 */
const { values: flags } = parseArgs({
  options: {
    example: { type: "boolean", default: true },
    "no-example": { type: "boolean", default: false },
    once: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (flags.help) {
  console.log(`usage: npm start [-- --no-example] [-- --once]
  --no-example  start the services only
  --once        run the example, print the result, and exit (status 0 when the run succeeded)
env: PORT (3000), REDIS_URL, DYNAMODB_ENDPOINT, WEFT_DATA_DIR (.weft), WEFT_API_KEYS ("key:tenant,..."),
     WEFT_RECONCILE_MS (local reconcile period, default 1000), WEFT_SIM_SPEED (simulated agents' think time factor)`);
  process.exit(0);
}

const env = process.env;
// The SDK's notice that its 2027 releases need Node 22 is known (versions are pinned); keep the terminal for the run.
env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
const port = Number(env.PORT ?? 3000);
const dataDir = env.WEFT_DATA_DIR ?? join(ROOT, ".weft");
const table = env.WEFT_TABLE ?? "weft-local";
const stoppers: (() => Promise<unknown>)[] = [];
const log = (s: string) => console.log(`weft ${s}`);

async function main(): Promise<number> {
  const redis = await startRedis(env, dataDir);
  stoppers.unshift(redis.stop);
  log(`redis:    ${redis.description}`);
  const dynamo: Service = await startDynamo(env, table, dataDir);
  stoppers.unshift(dynamo.stop);
  log(`dynamodb: ${dynamo.description} (table ${table})`);

  const baseUrl = `http://127.0.0.1:${port}`;
  Object.assign(env, { REDIS_URL: redis.url, DYNAMODB_ENDPOINT: dynamo.url, WEFT_TABLE: table, WEFT_API_URL: baseUrl });
  if (!env.WEFT_API_KEYS) {
    env.WEFT_DEV_TENANT ??= "dev";
    log(`auth:     no WEFT_API_KEYS set: every request acts as the single dev tenant "${env.WEFT_DEV_TENANT}"`);
  } else {
    env.WEFT_API_KEY ??= env.WEFT_API_KEYS.split(",")[0]!.split(":")[0];
    log(`auth:     ${env.WEFT_API_KEYS.split(",").length} API key(s) from WEFT_API_KEYS`);
  }

  // Events: the outbox relay publishes to this in-process bus instead of EventBridge.
  const bus = new InProcessPublisher({ onError: (err, e) => console.error(`weft: subscriber of ${e["detail-type"]} failed:`, err) });
  await configureRuntime({ publisher: bus });
  // Stoppers run newest first: timers, API, then the bus drains, then storage goes.
  stoppers.unshift(async () => {
    await bus.drain();
    await resetRuntime();
  });
  for (const sub of subscriptions) {
    const fn = await loadHandler<(e: unknown) => Promise<unknown>>(sub.handler);
    bus.subscribe(sub.pattern, fn);
  }
  log(`events:   ${subscriptions.length} subscriptions from infra/subscriptions.ts, delivered in-process`);

  const gatewayRoutes = await Promise.all(
    routes.map(async (r) => ({ method: r.method, path: r.path, name: r.handler, handler: await loadHandler<HttpHandler>(r.handler) })),
  );
  const server: Server = await startGateway(gatewayRoutes, port);
  stoppers.unshift(() => new Promise((res) => server.close(res)));
  log(`api:      ${baseUrl} (${routes.length} routes from infra/routes.ts; try ${baseUrl}/openapi.json)`);

  const period = Number(env.WEFT_RECONCILE_MS ?? 1000);
  for (const s of schedules) {
    const fn = await loadHandler<() => Promise<unknown>>(s.handler);
    let busy = false;
    const timer = setInterval(() => {
      if (busy) return;
      busy = true;
      fn()
        .catch((err: unknown) => console.error(`weft: ${s.handler} failed:`, err))
        .finally(() => (busy = false));
    }, period);
    stoppers.unshift(async () => clearInterval(timer));
  }
  log(`schedule: ${schedules.map((s) => s.handler).join(", ")} every ${period} ms (deployed: ${schedules.map((s) => s.schedule).join(", ")})`);

  const runExample = flags.example && !flags["no-example"];
  if (!runExample) {
    log("ready. Ctrl-C to stop.");
    return -1;
  }
  const status = await runExampleDag(baseUrl);
  if (flags.once) return status === "succeeded" ? 0 : 1;
  log(`ready. The API stays up at ${baseUrl}; Ctrl-C to stop.`);
  return -1;
}

/** Submits the example over HTTP and follows its event log until the run ends. */
async function runExampleDag(base: string): Promise<string> {
  const spec = exampleRun();
  console.log(`\nweft example: ${spec.nodes.map((n) => n.id).join(", ")}`);
  console.log("  plan -> research x3 (one fails once and is retried) -> write -> review\n");
  const weft = createClient({ baseUrl: base, ...(env.WEFT_API_KEY ? { apiKey: env.WEFT_API_KEY } : {}) });
  const sub = await weft.submit(spec);
  let cursor = 0;
  let t0 = 0;
  const deadline = Date.now() + 120_000;
  for (;;) {
    const page = await weft.events(sub.dagId, cursor);
    for (const e of page.events) {
      t0 ||= e.at;
      console.log(formatEvent(e, t0));
    }
    cursor = page.cursor;
    if (page.events.some((e) => e.type.startsWith("run.") && e.type !== "run.submitted")) break;
    if (Date.now() > deadline) throw new Error("the example run did not finish within 120 s");
    await new Promise((res) => setTimeout(res, 150));
  }
  const run = await weft.getRun(sub.dagId);
  console.log(`\n${formatSummary(run)}\n`);
  console.log(`  curl -s ${base}/v1/dags/${sub.dagId} | jq .      # the run\n  curl -s ${base}/v1/dags/${sub.dagId}/events | jq .  # its event log\n`);
  return run.status;
}

let stopping = false;
async function stop(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    for (const s of stoppers) await s().catch((err: unknown) => console.error("weft: error while stopping:", err));
  }
  process.exit(code);
}

process.on("SIGINT", () => {
  log("stopping...");
  void stop(0);
});
process.on("SIGTERM", () => void stop(0));

main().then(
  (code) => {
    if (code >= 0) void stop(code);
  },
  (err: unknown) => {
    if (stopping) return; // Ctrl-C mid-example: the API went away under the example's requests.
    console.error("weft: failed:", err instanceof Error ? err.message : err);
    void stop(1);
  },
);
