import { parseArgs } from "node:util";
import { startLocal, type Local } from "./emulator.js";
import { runExample } from "./example.js";

/**
 * `npm start`: Weft on this machine. The same Lambda handlers behind a local API Gateway
 * (HTTP API v2 events), the bus subscriptions infra declares delivered in-process, the
 * reconcile schedule on a timer, a real redis-server and an embedded DynamoDB. By default
 * it then runs the example (examples/research-pipeline, its agents served by the push-mode
 * handler through those subscriptions) and prints its progress.
 */
const { values: flags } = parseArgs({
  options: {
    example: { type: "boolean", default: true },
    "no-example": { type: "boolean", default: false },
    "no-push": { type: "boolean", default: false },
    "no-dashboard": { type: "boolean", default: false },
    once: { type: "boolean", default: false },
    topic: { type: "string", default: "home battery storage in the EU" },
    approve: { type: "string", default: "auto" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (flags.help) {
  console.log(`usage: npm start [-- --no-example] [-- --no-push] [-- --once] [-- --topic "..."] [-- --approve manual]
  --no-example  start the services only
  --no-push     do not serve the example's agents from its push-mode handler (run a pull-mode worker:
                npx tsx examples/research-pipeline/worker.ts)
  --no-dashboard  do not build and serve the dashboard at /
  --once        run the example, print the result, and exit (status 0 when the run succeeded)
  --topic       what the example pipeline researches and writes about
  --approve     auto (default: npm start plays the editor and approves the article after a moment, printing
                how a person would) or manual (you approve: weft approve <dagId> approve, or its signal URL)
env: PORT (3000), REDIS_URL, DYNAMODB_ENDPOINT, WEFT_S3_ENDPOINT, WEFT_DATA_DIR (.weft), WEFT_API_KEYS ("key:tenant,..."),
     WEFT_RECONCILE_MS (local reconcile period, default 1000),
     WEFT_MODEL (fake | openai, with OPENAI_API_KEY, WEFT_MODEL_NAME, OPENAI_BASE_URL), WEFT_FAKE_LATENCY_MS (300)`);
  process.exit(0);
}

const env = process.env;
let local: Local | undefined;
const log = (s: string) => console.log(`weft ${s}`);

async function main(): Promise<number> {
  local = await startLocal({ env, log, dashboard: !flags["no-dashboard"], ...(flags["no-push"] ? { subscriptions: (s) => !s.example } : {}) });

  const withExample = flags.example && !flags["no-example"];
  if (flags["no-push"]) log("the example's agents are not served here: run npx tsx examples/research-pipeline/worker.ts");
  if (!withExample) {
    log("ready. Ctrl-C to stop.");
    return -1;
  }
  if (flags.approve !== "auto" && flags.approve !== "manual") throw new Error(`--approve must be auto or manual, not ${flags.approve}`);
  const status = await runExample({ baseUrl: local.baseUrl, apiKey: local.apiKey, topic: flags.topic, approve: flags.approve });
  if (flags.once) return status === "succeeded" ? 0 : 1;
  log(`ready. The API stays up at ${local.baseUrl}; Ctrl-C to stop.`);
  return -1;
}

let stopping = false;
async function stop(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    await local?.stop();
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
