import type { RunExport } from "@weft/core";
import { METRICS, NO_AGENT, type Transition } from "./definitions.js";
import { metrics } from "./index.js";

// The transitions no live source tells per agent (a fail or release reply names no agent;
// skips happen inside other scripts): counted from the log. ready, started, succeeded and
// failed are counted live (./live.ts), not here.
const TRANSITION_OF: Partial<Record<string, Transition>> = {
  "node.retrying": "retried",
  "node.released": "released",
  "node.skipped": "skipped",
};
const RUN_END = new Set(["run.succeeded", "run.failed", "run.cancelled"]);

/**
 * The metrics of a finished run that need its event log and snapshot, from what the
 * archiver flushes: retried, released and skipped transitions per agent, ready-to-started
 * latency per agent (each node.ready to the node.started after it), the run's duration.
 * Only the events since the run's previous archive count (a run redriven after it was
 * archived is archived again with its whole log).
 */
export function recordArchivedRun(run: RunExport): void {
  if (!metrics.enabled) return;
  const since = Number(run.spec.meta.archivedAt) || 0;
  const agentOf = new Map(run.spec.nodes.map((n) => [n.id, n.agent || NO_AGENT]));
  const readyAt = new Map<string, number>();
  let ended = false;
  for (const e of run.events) {
    if (e.at <= since && since > 0) continue;
    if (RUN_END.has(e.type)) ended = true;
    if (!e.node) continue;
    const agent = agentOf.get(e.node) ?? NO_AGENT;
    const transition = TRANSITION_OF[e.type];
    if (transition) metrics.count(METRICS.nodeTransitions, { transition, agent });
    if (e.type === "node.ready") readyAt.set(e.node, e.at);
    else if (e.type === "node.started") {
      const at = readyAt.get(e.node);
      if (at !== undefined) metrics.observe(METRICS.readyToStarted, { agent }, Math.max(0, e.at - at) / 1000);
      readyAt.delete(e.node);
    }
  }
  const { status, createdAt, finishedAt } = run.snapshot;
  if (!ended || status === "running") return;
  if (finishedAt !== undefined) metrics.observe(METRICS.runDuration, { outcome: status }, Math.max(0, finishedAt - createdAt) / 1000);
}
