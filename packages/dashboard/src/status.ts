import type { NodeStatus, RunEvent, RunStatus } from "./api";

/** One colour per node status; `waiting` (M10's wait nodes) is reserved and stands out. */
export const STATUS_COLOUR: Record<NodeStatus, string> = {
  pending: "#d0d4da",
  ready: "#8ec5ff",
  running: "#ffb020",
  retrying: "#ff8a4c",
  succeeded: "#2fb36b",
  failed: "#e5484d",
  skipped: "#a0a7b1",
  cancelled: "#6b7280",
  waiting: "#b46cff",
};

/** Where an event leaves its node (the engine's state machine, as the log tells it). */
const NODE_TO: Record<string, NodeStatus> = {
  "node.ready": "ready",
  "node.started": "running",
  "node.succeeded": "succeeded",
  "node.failed": "failed",
  "node.retrying": "retrying",
  "node.skipped": "skipped",
  "node.cancelled": "cancelled",
  "node.reset": "pending",
  "node.released": "ready",
  "node.added": "pending",
  "node.waiting": "waiting",
};
const RUN_TO: Record<string, RunStatus> = {
  "run.succeeded": "succeeded",
  "run.failed": "failed",
  "run.cancelled": "cancelled",
  "run.resumed": "running",
};

export interface LiveNode {
  status: NodeStatus;
  attempt: number;
  /** Epoch ms the current attempt started, and when the node ended. */
  startedAt?: number;
  endedAt?: number;
  workerId?: string;
}

/** Applies events to node states in place; returns the ids that changed and the run's status if an event set it. */
export function applyEvents(nodes: Map<string, LiveNode>, events: RunEvent[]): { changed: Set<string>; run?: RunStatus; added: boolean } {
  const changed = new Set<string>();
  let run: RunStatus | undefined;
  let added = false;
  for (const e of events) {
    if (RUN_TO[e.type]) run = RUN_TO[e.type];
    if (!e.node) continue;
    const to = NODE_TO[e.type];
    if (!to) continue;
    if (e.type === "node.added") added = true;
    const n = nodes.get(e.node) ?? { status: "pending", attempt: 0 };
    n.status = to;
    if (e.attempt !== undefined) n.attempt = e.attempt;
    if (to === "running") {
      n.startedAt = e.at;
      n.endedAt = undefined;
      n.workerId = e.actor;
    }
    if (to === "succeeded" || to === "failed" || to === "skipped" || to === "cancelled") n.endedAt = e.at;
    nodes.set(e.node, n);
    changed.add(e.node);
  }
  return { changed, ...(run ? { run } : {}), added };
}

export const fmtMs = (ms: number) => (ms < 1000 ? `${ms} ms` : ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 60_000)} min`);
export const age = (at: number) => fmtMs(Math.max(0, Date.now() - at));
