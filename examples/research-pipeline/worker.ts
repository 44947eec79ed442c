import { createClient, worker } from "@weft/client";
import { agents } from "./agents.js";
import { APPROVAL_NODE, researchPipeline } from "./dag.js";

/**
 * Pull mode: a long-running worker that claims the pipeline's nodes from the API.
 *
 *   npx tsx examples/research-pipeline/worker.ts                  # serve until Ctrl-C
 *   npx tsx examples/research-pipeline/worker.ts "solid-state batteries"   # also submit one run, exit when it ends
 *
 * WEFT_API_URL (default http://127.0.0.1:3000), WEFT_API_KEY, WEFT_MODEL (model.ts).
 */
const baseUrl = process.env.WEFT_API_URL ?? "http://127.0.0.1:3000";
const apiKey = process.env.WEFT_API_KEY;
const topic = process.argv.slice(2).join(" ").trim();

const w = worker({ agents, concurrency: 4, leaseMs: 30_000, baseUrl, ...(apiKey ? { apiKey } : {}) });
const stop = async (code: number) => {
  await w.close();
  process.exit(code);
};
process.on("SIGINT", () => void stop(0));
process.on("SIGTERM", () => void stop(0));
console.log(`research-pipeline worker: agents ${Object.keys(agents).join(", ")} on ${baseUrl}`);

if (topic) {
  const weft = createClient({ baseUrl, ...(apiKey ? { apiKey } : {}) });
  const { dagId } = await weft.submit(researchPipeline({ topic }));
  console.log(`submitted ${dagId}: "${topic}"`);
  let run = await weft.getRun(dagId);
  let asked = false;
  while (run.status === "running") {
    await new Promise((res) => setTimeout(res, 500));
    run = await weft.getRun(dagId);
    // The run waits for an editor before it publishes: say how to approve, once.
    if (!asked && run.nodes.find((n) => n.id === APPROVAL_NODE)?.status === "waiting") {
      asked = true;
      console.log(`waiting for an editor: weft approve ${dagId} ${APPROVAL_NODE}   (or weft reject ${dagId} ${APPROVAL_NODE} --reason "...")`);
    }
  }
  for (const n of run.nodes) console.log(`  ${n.id.padEnd(12)} ${n.status.padEnd(10)} attempt ${n.attempt}`);
  const published = run.nodes.find((n) => n.id === "publish")?.output as { namespace: string; key: string } | undefined;
  if (published) console.log(`article: ${baseUrl}/v1/state/${published.namespace}/${published.key}`);
  await stop(run.status === "succeeded" ? 0 : 1);
}
