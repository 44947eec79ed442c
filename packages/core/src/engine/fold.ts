import { ValidationError } from "../errors.js";
import type { NodeStatus, RunEvent, RunStatus } from "./types.js";

export interface FoldedNode {
  status: NodeStatus;
  attempt: number;
}

export interface FoldedRun {
  status: RunStatus;
  nodes: Record<string, FoldedNode>;
  counts: Record<NodeStatus, number>;
}

/** Node status each node event moves to; heartbeats and run events move no node. */
const NODE_STATUS_OF: Partial<Record<RunEvent["type"], NodeStatus>> = {
  "node.ready": "ready",
  "node.started": "running",
  "node.succeeded": "succeeded",
  "node.failed": "failed",
  "node.retrying": "retrying",
  "node.skipped": "skipped",
  "node.cancelled": "cancelled",
  "node.reset": "pending",
  "node.released": "ready",
};

const RUN_STATUS_OF: Partial<Record<RunEvent["type"], RunStatus>> = {
  "run.succeeded": "succeeded",
  "run.failed": "failed",
  "run.cancelled": "cancelled",
  "run.resumed": "running",
};

export function emptyCounts(): Record<NodeStatus, number> {
  return { pending: 0, ready: 0, running: 0, succeeded: 0, failed: 0, retrying: 0, skipped: 0, cancelled: 0 };
}

/**
 * Replays a run's event log: the run as it was just after event `atSeq` (after every
 * event when omitted). Every node starts pending and the run running, as on submit.
 * The log is the source of truth for history; Redis keeps only the present, so this is
 * how the API answers "what did the run look like at step N" and how tests check that
 * the log and the live state never disagree.
 *
 * Events naming a node outside `nodes` are ignored: history must render even if the
 * caller passes a partial node list.
 */
export function foldEvents(nodes: { id: string }[], events: RunEvent[], atSeq?: number): FoldedRun {
  if (atSeq !== undefined && (!Number.isInteger(atSeq) || atSeq < 0)) {
    throw new ValidationError("atSeq must be a non-negative integer", "atSeq");
  }
  const state: Record<string, FoldedNode> = {};
  for (const n of nodes) state[n.id] = { status: "pending", attempt: 0 };
  let status: RunStatus = "running";

  // The log is ordered by seq, but a caller may concatenate pages: sort to be sure.
  const ordered = [...events].sort((a, b) => a.seq - b.seq);
  for (const ev of ordered) {
    if (atSeq !== undefined && ev.seq > atSeq) break;
    const runStatus = RUN_STATUS_OF[ev.type];
    if (runStatus) {
      status = runStatus;
      continue;
    }
    const nodeStatus = NODE_STATUS_OF[ev.type];
    const node = ev.node === undefined ? undefined : state[ev.node];
    if (!nodeStatus || !node) continue;
    node.status = nodeStatus;
    if (ev.attempt !== undefined) node.attempt = ev.attempt;
  }

  const counts = emptyCounts();
  for (const n of Object.values(state)) counts[n.status]++;
  return { status, nodes: state, counts };
}
