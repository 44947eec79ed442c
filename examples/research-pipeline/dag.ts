import type { RunSpec } from "@weft/core";

/**
 * The research-and-write pipeline as a run spec:
 *
 *   plan -> research-1 | research-2 | research-3 -> draft -> fact-check -> edit -> approve -> publish
 *
 * `approve` is a wait node: no agent runs it; an editor ends it with a signal (weft approve,
 * POST .../signal, or the signal URL of its NodeWaiting event). No decision within
 * APPROVAL_TIMEOUT_MS fails it, and with it the run (fail-fast): nothing unapproved is published.
 *
 * A run's DAG is fixed when it is submitted, so the fan-out is fixed too: the planner
 * writes one question per researcher, and researcher i reads question i from the plan's
 * output (ctx.parents()). dag.yaml is the same run for the CLI.
 */
export const RESEARCHERS = 3;

/** The researcher whose first model call gets the fake model's simulated 429 (a retry to watch). */
export const RATE_LIMITED_NODE = "research-2";

/** The editor's approval before publishing: a wait node. */
export const APPROVAL_NODE = "approve";
export const APPROVAL_TIMEOUT_MS = 10 * 60_000;

export interface PipelineOptions {
  topic: string;
  /** Same key, same run (a resubmission returns the existing one). */
  idempotencyKey?: string;
  /** First retry delay of every node; doubles per attempt. Default 1000 ms. */
  retryBackoffMs?: number;
}

export function researchPipeline(o: PipelineOptions): RunSpec {
  const topic = o.topic.trim();
  if (!topic) throw new Error("the pipeline needs a topic");
  const backoffMs = o.retryBackoffMs ?? 1_000;
  const retry = { maxAttempts: 3, backoffMs, maxBackoffMs: Math.max(backoffMs, 10_000) };
  const researchers = Array.from({ length: RESEARCHERS }, (_, i) => `research-${i + 1}`);
  return {
    ...(o.idempotencyKey ? { idempotencyKey: o.idempotencyKey } : {}),
    onFailure: "fail-fast",
    nodes: [
      { id: "plan", agent: "planner", input: { topic, questions: RESEARCHERS }, retry },
      ...researchers.map((id, i) => ({ id, agent: "researcher", deps: ["plan"], input: { topic, question: i }, retry })),
      { id: "draft", agent: "drafter", deps: researchers, input: { topic }, retry },
      { id: "fact-check", agent: "fact-checker", deps: ["draft"], input: { topic }, retry },
      { id: "edit", agent: "editor", deps: ["draft", "fact-check"], input: { topic }, retry },
      {
        id: APPROVAL_NODE,
        deps: ["edit"],
        input: { topic, question: "Publish the edited article?" },
        wait: { timeoutMs: APPROVAL_TIMEOUT_MS, onTimeout: "fail" },
      },
      { id: "publish", agent: "publisher", deps: ["edit", APPROVAL_NODE], input: { topic, namespace: "articles" }, retry },
    ],
  };
}

/** Where the publisher files an article: its topic, lower-case, dashes for everything else. */
export function articleKey(topic: string): string {
  return (
    topic
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-+|-+$/g, "")
      .slice(0, 100) || "untitled"
  );
}
