import type { OutboxEvent, Task } from "@weft/core";
import { METRICS, NO_AGENT } from "./definitions.js";
import { metrics } from "./index.js";

/**
 * Node transitions counted as they happen, from what is in hand without any Redis work:
 * the events a relay published and acked (NodeReady -> ready, NodeSucceeded -> succeeded,
 * NodeFailed -> failed, Dag* -> a run finished, by outcome: counted by the ack that removed
 * them, so once) and the tasks claim replies hand out (started).
 */
const OUTCOME = { DagSucceeded: "succeeded", DagFailed: "failed", DagCancelled: "cancelled" } as const;
const TRANSITION = { NodeReady: "ready", NodeSucceeded: "succeeded", NodeFailed: "failed" } as const;

export function recordPublished(events: readonly Pick<OutboxEvent, "type" | "agent">[]): void {
  for (const e of events) {
    const transition = TRANSITION[e.type as keyof typeof TRANSITION];
    if (transition) metrics.count(METRICS.nodeTransitions, { transition, agent: e.agent || NO_AGENT });
    const outcome = OUTCOME[e.type as keyof typeof OUTCOME];
    if (outcome) metrics.count(METRICS.runsFinished, { outcome });
  }
}

/** The scripts whose replies hand out tasks: claim (Task[]), claim_node (Task), complete ({ next?: Task[] }). */
export function recordStarted(script: string, reply: unknown): void {
  const tasks: readonly Task[] | undefined =
    script === "claim" ? (reply as Task[]) : script === "claim_node" ? [reply as Task] : script === "complete" ? (reply as { next?: Task[] }).next : undefined;
  if (!tasks) return;
  for (const t of tasks) metrics.count(METRICS.nodeTransitions, { transition: "started", agent: t.agent || NO_AGENT });
}
