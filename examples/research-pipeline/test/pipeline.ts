import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import { createClient, type WeftClient } from "@weft/client";
import type { RunView } from "@weft/core";
import type { Article, SourcesDoc } from "../agents.js";
import { APPROVAL_NODE, MAX_RESEARCHERS, MIN_RESEARCHERS, quorum, RATE_LIMITED_NODE, researchPipeline } from "../dag.js";
import { startLocal, type Local, type LocalOptions } from "../../../functions/local/emulator.js";

/**
 * The example pipeline against the real local emulation (redis-server, dynalite, the
 * Lambda handlers behind the local gateway, the bus): one emulator per test file, since
 * the handlers read process.env.
 */
export async function startEmulator(o: Pick<LocalOptions, "subscriptions"> = {}): Promise<{ local: Local; weft: WeftClient; stop(): Promise<void> }> {
  process.env.REDIS_URL = "";
  process.env.DYNAMODB_ENDPOINT = "";
  delete process.env.WEFT_API_KEYS;
  // The fake model, quick: the pipeline's timing is not what these tests are about.
  process.env.WEFT_MODEL = "fake";
  process.env.WEFT_FAKE_LATENCY_MS = "5";
  const dataDir = mkdtempSync(join(tmpdir(), "weft-example-"));
  const local = await startLocal({ port: 0, dataDir, reconcileMs: 200, log: () => {}, ...o });
  return {
    local,
    weft: createClient({ baseUrl: local.baseUrl }),
    async stop() {
      await local.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The nodes submitted: the frame (dag.ts). */
const FRAME = 5;

/** The nodes of a finished run with n researchers: the frame plus what the agents added. */
export const nodesOf = (n: number) => [
  "plan",
  "fact-check",
  "edit",
  APPROVAL_NODE,
  "publish",
  ...Array.from({ length: n }, (_, i) => `research-${i + 1}`),
  "draft",
  "revise",
  "fact-check-2",
];

/** Submits the pipeline on `topic`, approves it as an editor would (its signal URL, no key), and waits for the run to finish. */
export async function runPipeline(weft: WeftClient, topic: string, timeoutMs = 30_000): Promise<RunView> {
  const { dagId } = await weft.submit(researchPipeline({ topic, idempotencyKey: `${topic}-${Math.random()}`, retryBackoffMs: 50 }));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const run = await weft.getRun(dagId);
    if (run.status !== "running") return run;
    if (run.nodes.find((n) => n.id === APPROVAL_NODE)?.status === "waiting") {
      const { events } = await weft.events(dagId, 0, 1000);
      const url = events.find((e) => e.type === "node.waiting" && e.node === APPROVAL_NODE)?.data?.signalUrl as string;
      await weft.signalUrl(url, { output: { approved: true }, by: "test editor" });
    }
    if (Date.now() > deadline) throw new Error(`run ${dagId} still running after ${timeoutMs} ms: ${JSON.stringify(run.counts)}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

/**
 * What every successful run must show: the planner's researchers and draft added by it, a
 * review round added by the fact-check, all nodes succeeded, one retry, sources merged,
 * the article filed.
 */
export async function expectPublished(weft: WeftClient, run: RunView): Promise<Article> {
  const nodes = Object.fromEntries(run.nodes.map((n) => [n.id, n]));
  expect(run.status, JSON.stringify(run.nodes.map((n) => [n.id, n.status, n.error]))).toBe("succeeded");
  const n = run.nodes.filter((x) => x.agent === "researcher").length;
  expect(n).toBeGreaterThanOrEqual(MIN_RESEARCHERS);
  expect(n).toBeLessThanOrEqual(MAX_RESEARCHERS);
  const NODES = nodesOf(n);
  expect(run.nodes.map((x) => x.id)).toEqual(NODES);
  const byPlan = { node: "plan", attempt: 1 };
  for (const id of NODES.slice(FRAME, FRAME + n + 1)) expect(nodes[id]?.addedBy, id).toEqual(byPlan);
  expect(nodes.draft).toMatchObject({ join: { min: quorum(n) }, deps: Array.from({ length: n }, (_, i) => `research-${i + 1}`) });
  expect(nodes.revise?.addedBy).toEqual({ node: "fact-check", attempt: 1 });
  expect(nodes.edit?.deps).toEqual(["fact-check", "draft", "revise", "fact-check-2"]);
  for (const id of NODES) expect(nodes[id]?.status, id).toBe("succeeded");
  // The fake model refuses the rate-limited researcher's first call with a 429; attempt 2 succeeds.
  expect(nodes[RATE_LIMITED_NODE]?.attempt).toBe(2);
  for (const id of NODES.filter((n) => n !== RATE_LIMITED_NODE && n !== APPROVAL_NODE)) expect(nodes[id]?.attempt, id).toBe(1);
  // The editor's approval came by its signal URL; no agent ran it.
  expect(nodes[APPROVAL_NODE]).toMatchObject({ attempt: 0, output: { approved: true }, signal: { via: "url", by: "test editor" } });
  const { events } = await weft.events(run.dagId, 0, 1000);
  expect(events.filter((e) => e.type === "node.added").map((e) => e.node)).toEqual(NODES.slice(FRAME));
  const retry = events.find((e) => e.type === "node.retrying");
  expect(retry).toMatchObject({ node: RATE_LIMITED_NODE, attempt: 1 });
  expect(JSON.stringify(retry?.data)).toMatch(/429/);

  // The researchers wrote the run's `sources` at once with compare-and-set: none was lost.
  const sources = (await weft.state.get({ dagId: run.dagId, key: "sources" }))?.value as SourcesDoc;
  expect(sources.sources.map((s) => s.id)).toEqual(Array.from({ length: n }, (_, i) => [1, 2, 3].map((j) => `S${i + 1}.${j}`)).flat());
  // The first draft cites a source nobody found; the revision does not.
  expect(nodes["fact-check"]?.output).toMatchObject({ verdict: "revise", unsupported: ["S0.1"] });
  expect(nodes["fact-check-2"]?.output).toMatchObject({ verdict: "pass", unsupported: [] });

  const published = nodes.publish?.output as { namespace: string; key: string; words: number };
  expect(published.namespace).toBe("articles");
  const article = (await weft.state.get({ namespace: "articles", key: published.key }))?.value as Article;
  expect(article).toBeDefined();
  expect(article.words).toBe(published.words);
  expect(article.body.length).toBeGreaterThan(200);
  expect(article.model).toBe("fake");
  // Every reference is a source the run found, and the body cites each of them.
  expect(article.references.length).toBeGreaterThan(0);
  for (const r of article.references) {
    expect(sources.sources.map((s) => s.id)).toContain(r.id);
    expect(article.body).toContain(`[${r.id}]`);
  }
  return article;
}
