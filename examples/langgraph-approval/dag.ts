import type { RunSpec } from "@weft/core";

/** One node running the approval graph; retried while it waits for the reviewer (and after a crash). */
export function approvalRun(o: { topic: string; retryBackoffMs?: number }): RunSpec {
  const backoffMs = o.retryBackoffMs ?? 1_000;
  return {
    nodes: [{ id: "write", agent: "approval-writer", input: { topic: o.topic }, retry: { maxAttempts: 20, backoffMs, maxBackoffMs: Math.max(backoffMs, 5_000) } }],
  };
}
