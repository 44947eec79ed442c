import { parseArgs } from "node:util";
import { createClient } from "@weft/client";
import { startLocal } from "./emulator.js";
import { exampleRun } from "./example.js";
import { formatEvent, formatSummary } from "./progress.js";

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
const stoppers: (() => Promise<unknown>)[] = [];
const log = (s: string) => console.log(`weft ${s}`);

async function main(): Promise<number> {
  const local = await startLocal({ env, log });
  stoppers.push(local.stop);

  const runExample = flags.example && !flags["no-example"];
  if (!runExample) {
    log("ready. Ctrl-C to stop.");
    return -1;
  }
  const status = await runExampleDag(local.baseUrl);
  if (flags.once) return status === "succeeded" ? 0 : 1;
  log(`ready. The API stays up at ${local.baseUrl}; Ctrl-C to stop.`);
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
