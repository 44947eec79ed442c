import { NODE_STATUS_OF, RUN_STATUS_OF, type EventType } from "@weft/core/sdk";
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

export interface LiveNode {
  status: NodeStatus;
  attempt: number;
  /** Epoch ms the current attempt started, and when the node ended. */
  startedAt?: number;
  endedAt?: number;
  workerId?: string;
}

/**
 * Applies events to node states; returns the ids that changed and the run's status if an event
 * set it. A changed node gets a new object (the map is updated, its old object left as it was),
 * so a component holding the old one sees the change (useSyncExternalStore compares them).
 */
export function applyEvents(nodes: Map<string, LiveNode>, events: RunEvent[]): { changed: Set<string>; run?: RunStatus; added: boolean } {
  const changed = new Set<string>();
  let run: RunStatus | undefined;
  let added = false;
  for (const e of events) {
    const type = e.type as EventType;
    run = RUN_STATUS_OF[type] ?? run;
    if (!e.node) continue;
    // Where an event leaves its node (the engine's state machine, as the log tells it); an added node starts pending.
    const to = type === "node.added" ? "pending" : NODE_STATUS_OF[type];
    if (!to) continue;
    if (e.type === "node.added") added = true;
    const n: LiveNode = { ...(nodes.get(e.node) ?? { status: "pending", attempt: 0 }) };
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
/** A time of day as the browser's locale writes it. One formatter: Date.toLocaleTimeString makes one per call (~1 ms each, 300 a timeline). */
const TIME = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit", second: "2-digit" });
export const fmtTime = (at: number) => TIME.format(at);
export const age = (at: number) => fmtMs(Math.max(0, Date.now() - at));
