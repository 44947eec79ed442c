import { createClient } from "@weft/client";
import type { Article } from "../../examples/research-pipeline/agents.js";
import { APPROVAL_NODE, APPROVAL_TIMEOUT_MS, researchPipeline } from "../../examples/research-pipeline/dag.js";
import { formatArticle, formatEvent, formatSummary } from "./progress.js";

/**
 * The example `npm start` runs: examples/research-pipeline, submitted over HTTP. Its agents
 * are not started here: NodeReady events reach the pipeline's push-mode Lambda handler
 * (examples/research-pipeline/push.ts) through the subscriptions infra declares, delivered
 * in-process, so the run goes through the SDK exactly as it would on AWS. This follows the
 * run's event log until it ends and prints the published article.
 *
 * Before `publish` the run waits for an editor's approval. With `approve: "auto"` (the
 * default) this plays the editor after a moment: it prints the `weft approve` command a
 * person would type and POSTs the wait's signal URL (no API key: the URL is the authority).
 * With "manual" it prints both and waits for a person, up to the approval's own timeout.
 */
export async function runExample(o: {
  baseUrl: string;
  apiKey?: string | undefined;
  topic: string;
  timeoutMs?: number;
  approve?: "auto" | "manual";
  /** How long "auto" waits before it approves. Default 1500 ms. */
  approveAfterMs?: number;
}): Promise<string> {
  const spec = researchPipeline({ topic: o.topic, idempotencyKey: `example-${Date.now()}` });
  console.log(`\nweft example: examples/research-pipeline on "${o.topic}"`);
  console.log("  plan -> research x3 (one hits a simulated 429 and is retried) -> draft -> fact-check -> edit -> editor's approval -> publish\n");
  const weft = createClient({ baseUrl: o.baseUrl, ...(o.apiKey ? { apiKey: o.apiKey } : {}) });
  const sub = await weft.submit(spec);
  let cursor = 0;
  let t0 = 0;
  const manual = o.approve === "manual";
  const timeoutMs = o.timeoutMs ?? (manual ? APPROVAL_TIMEOUT_MS + 120_000 : 120_000);
  const deadline = Date.now() + timeoutMs;
  let approving: Promise<void> | undefined;
  for (;;) {
    const page = await weft.events(sub.dagId, cursor);
    for (const e of page.events) {
      t0 ||= e.at;
      console.log(formatEvent(e, t0));
      if (e.type === "node.waiting" && e.node === APPROVAL_NODE) approving = approval(sub.dagId, e.data?.signalUrl as string | undefined);
    }
    cursor = page.cursor;
    if (page.events.some((e) => e.type.startsWith("run.") && e.type !== "run.submitted")) break;
    if (Date.now() > deadline) throw new Error(`the example run did not finish within ${timeoutMs / 1000} s`);
    await new Promise((res) => setTimeout(res, 150));
  }
  await approving;
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

  /** How a person approves, and (auto) the editor's approval sent through the signal URL. */
  async function approval(dagId: string, signalUrl: string | undefined): Promise<void> {
    const lines = [
      `\n  the run waits for an editor's approval of "${APPROVAL_NODE}" (${APPROVAL_TIMEOUT_MS / 60_000} minutes, then it fails). A person would:`,
      `    weft approve ${dagId} ${APPROVAL_NODE} --output '{"approved":true}'       # or: weft reject ${dagId} ${APPROVAL_NODE} --reason "..."`,
      ...(signalUrl ? [`    curl -s -X POST -H 'content-type: application/json' -d '{"output":{"approved":true}}' ${signalUrl}   # the signal URL: no API key`] : []),
    ];
    console.log(`${lines.join("\n")}\n`);
    if (manual) return;
    await new Promise((res) => setTimeout(res, o.approveAfterMs ?? 1500));
    const by = "npm start (auto-approve; --approve manual leaves it to you)";
    const r = signalUrl
      ? await weft.signalUrl(signalUrl, { output: { approved: true, note: "looks good" }, by })
      : await weft.approve(dagId, APPROVAL_NODE, { approved: true, note: "looks good" }, { by });
    console.log(`\n  approved by npm start through ${signalUrl ? `the signal URL ${signalUrl}` : `weft approve ${dagId} ${APPROVAL_NODE}`}: ${APPROVAL_NODE} ${r.status}\n`);
  }
}
