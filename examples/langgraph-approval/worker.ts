import { worker } from "@weft/client";
import { WeftSaver } from "@weft/langgraph";
import { agents } from "./agents.js";
import { modelFromEnv } from "./model.js";

/**
 * A pull-mode worker for the approval graph:
 *
 *   npx tsx examples/langgraph-approval/worker.ts
 *
 * WEFT_API_URL (default http://127.0.0.1:3000), WEFT_API_KEY, REDIS_URL (the checkpoints;
 * default redis://127.0.0.1:6379), WEFT_LEASE_MS (default 30000), WEFT_POLL_MS (default 500), WEFT_TABLE and
 * DYNAMODB_ENDPOINT (optional: the cold tier), WEFT_FAKE_LATENCY_MS, WEFT_MODEL_LOG.
 */
const env = process.env;
const baseUrl = env.WEFT_API_URL ?? "http://127.0.0.1:3000";
const saver = new WeftSaver({
  redis: env.REDIS_URL || "redis://127.0.0.1:6379",
  ...(env.WEFT_TABLE ? { cold: { table: env.WEFT_TABLE, ...(env.DYNAMODB_ENDPOINT ? { endpoint: env.DYNAMODB_ENDPOINT } : {}), sweepEveryMs: 60_000 } } : {}),
});
const w = worker({
  agents: agents(saver, modelFromEnv(env)),
  concurrency: 2,
  leaseMs: Number(env.WEFT_LEASE_MS ?? 30_000),
  pollMs: Number(env.WEFT_POLL_MS ?? 500),
  baseUrl,
  ...(env.WEFT_API_KEY ? { apiKey: env.WEFT_API_KEY } : {}),
});
const stop = async () => {
  await w.close();
  await saver.close();
  process.exit(0);
};
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());
console.log(`langgraph-approval worker on ${baseUrl}`);
