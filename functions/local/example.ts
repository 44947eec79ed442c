import { createClient } from "@weft/client";
import type { Article } from "../../examples/research-pipeline/agents.js";
import { researchPipeline } from "../../examples/research-pipeline/dag.js";
import { formatArticle, formatEvent, formatSummary } from "./progress.js";

/**
 * The example `npm start` runs: examples/research-pipeline, submitted over HTTP. Its agents
 * are not started here: NodeReady events reach the pipeline's push-mode Lambda handler
 * (examples/research-pipeline/push.ts) through the subscriptions infra declares, delivered
 * in-process, so the run goes through the SDK exactly as it would on AWS. This follows the
 * run's event log until it ends and prints the published article.
 */
export async function runExample(o: { baseUrl: string; apiKey?: string | undefined; topic: string; timeoutMs?: number }): Promise<string> {
  const spec = researchPipeline({ topic: o.topic, idempotencyKey: `example-${Date.now()}` });
  console.log(`\nweft example: examples/research-pipeline on "${o.topic}"`);
  console.log("  plan -> research x3 (one hits a simulated 429 and is retried) -> draft -> fact-check -> edit -> publish\n");
  const weft = createClient({ baseUrl: o.baseUrl, ...(o.apiKey ? { apiKey: o.apiKey } : {}) });
  const sub = await weft.submit(spec);
  let cursor = 0;
  let t0 = 0;
  const deadline = Date.now() + (o.timeoutMs ?? 120_000);
  for (;;) {
    const page = await weft.events(sub.dagId, cursor);
    for (const e of page.events) {
      t0 ||= e.at;
      console.log(formatEvent(e, t0));
    }
    cursor = page.cursor;
    if (page.events.some((e) => e.type.startsWith("run.") && e.type !== "run.submitted")) break;
    if (Date.now() > deadline) throw new Error(`the example run did not finish within ${(o.timeoutMs ?? 120_000) / 1000} s`);
    await new Promise((res) => setTimeout(res, 150));
  }
  const run = await weft.getRun(sub.dagId);
  console.log(`\n${formatSummary(run)}\n`);
  const published = run.nodes.find((n) => n.id === "publish")?.output as { namespace: string; key: string } | undefined;
  if (published) {
    const article = await weft.state.get({ namespace: published.namespace, key: published.key });
    if (article) console.log(`${formatArticle(article.value as Article)}\n`);
  }
  console.log(`  curl -s ${o.baseUrl}/v1/dags/${sub.dagId} | jq .      # the run`);
  console.log(`  curl -s ${o.baseUrl}/v1/dags/${sub.dagId}/events | jq .  # its event log`);
  if (published) console.log(`  curl -s ${o.baseUrl}/v1/state/${published.namespace}/${published.key} | jq .  # the article`);
  console.log("");
  return run.status;
}
