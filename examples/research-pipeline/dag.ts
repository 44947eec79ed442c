import type { RunSpec } from "@weft/core";

/**
 * The research-and-write pipeline as a run spec. What is submitted is the frame:
 *
 *   plan -> fact-check -> edit -> approve -> publish
 *
 * `approve` is a wait node: no agent runs it; an editor ends it with a signal (weft approve,
 * POST .../signal, or the signal URL of its NodeWaiting event). No decision within
 * APPROVAL_TIMEOUT_MS fails it, and with it the run (fail-fast): nothing unapproved is published.
 *
 * and the agents grow the rest while it runs (they return ctx.spawn/ctx.add with their
 * output; see agents.ts):
 *   - the planner decides how many questions the topic needs (2 to 6) and adds one
 *     researcher per question and a `draft` that joins them: it starts once
 *     ceil(n * 2/3) researchers succeeded (a researcher that fails for good is tolerated,
 *     `onFailure: "continue"`); fact-check and edit now wait for draft;
 *   - when the fact-check finds claims whose source does not exist, it adds `revise` and a
 *     second check, `fact-check-2`, and edit waits for them too (at most 2 review rounds).
 *
 *   plan -> research-1..n -> draft (join) -> fact-check [-> revise -> fact-check-2] -> edit -> approve -> publish
 *
 * dag.yaml is the same frame for the CLI.
 */

/** Questions the planner may ask for: its model decides within these bounds. */
export const MIN_RESEARCHERS = 2;
export const MAX_RESEARCHERS = 6;

/** Review rounds at most: the first fact-check's and the one after a revision. */
export const REVIEW_ROUNDS = 2;

/** The researcher whose first model call gets the fake model's simulated 429 (a retry to watch). */
export const RATE_LIMITED_NODE = "research-2";

/** Successes draft waits for out of n researchers. */
export const quorum = (n: number) => Math.ceil((n * 2) / 3);

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

export const retryPolicy = (backoffMs = 1_000) => ({ maxAttempts: 3, backoffMs, maxBackoffMs: Math.max(backoffMs, 10_000) });

export function researchPipeline(o: PipelineOptions): RunSpec {
  const topic = o.topic.trim();
  if (!topic) throw new Error("the pipeline needs a topic");
  const retryBackoffMs = o.retryBackoffMs ?? 1_000;
  const retry = retryPolicy(retryBackoffMs);
  return {
    ...(o.idempotencyKey ? { idempotencyKey: o.idempotencyKey } : {}),
    onFailure: "fail-fast",
    nodes: [
      { id: "plan", agent: "planner", input: { topic, minQuestions: MIN_RESEARCHERS, maxQuestions: MAX_RESEARCHERS, retryBackoffMs }, retry },
      { id: "fact-check", agent: "fact-checker", deps: ["plan"], input: { topic, round: 1, retryBackoffMs }, retry },
      { id: "edit", agent: "editor", deps: ["fact-check"], input: { topic }, retry },
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
