import type { RunSpec } from "@weft/core";

/** One node running the approval graph; retried after a crash (waiting for the reviewer is a suspend, not a retry). */
export function approvalRun(o: { topic: string; retryBackoffMs?: number }): RunSpec {
  const backoffMs = o.retryBackoffMs ?? 1_000;
  return {
    nodes: [{ id: "write", agent: "approval-writer", input: { topic: o.topic }, retry: { maxAttempts: 5, backoffMs, maxBackoffMs: Math.max(backoffMs, 5_000) } }],
  };
}
