import { ValidationError } from "../errors.js";
import type { EventType, NodeStatus, RunEvent, RunStatus } from "./types.js";

export interface FoldedNode {
  status: NodeStatus;
  attempt: number;
}

export interface FoldedRun {
  status: RunStatus;
  nodes: Record<string, FoldedNode>;
  counts: Record<NodeStatus, number>;
  /** Agents of the nodes the log added (`node.added`), by node id: also those a rewind removed since. */
  added: Record<string, string>;
  /**
   * The deps of every node of `nodes` as they were: those given with `nodes` (the submitted
   * ones), then each `node.added`'s and `node.deps_added`'s; a `node.removed` takes its node
   * out of every list, as the rewind that removed it does.
   */
  deps: Record<string, string[]>;
}

/**
 * The status each node event moves its node to: the one event-to-status table (the fold, the
 * CLI, the dashboard and the tests' log checker read it). Heartbeats and run events move no
 * node; `node.added` makes a node that starts pending and `node.removed` takes one away.
 */
export const NODE_STATUS_OF: Readonly<Partial<Record<EventType, NodeStatus>>> = {
  "node.ready": "ready",
  "node.started": "running",
  "node.succeeded": "succeeded",
  "node.failed": "failed",
  "node.retrying": "retrying",
  "node.skipped": "skipped",
  "node.cancelled": "cancelled",
  "node.reset": "pending",
  "node.released": "ready",
  "node.waiting": "waiting",
};

/** The status each run event moves its run to (`run.submitted` starts it running). */
export const RUN_STATUS_OF: Readonly<Partial<Record<EventType, RunStatus>>> = {
  "run.succeeded": "succeeded",
  "run.failed": "failed",
  "run.cancelled": "cancelled",
  "run.resumed": "running",
  "run.paused": "paused",
};

export function emptyCounts(): Record<NodeStatus, number> {
  return { pending: 0, ready: 0, running: 0, succeeded: 0, failed: 0, retrying: 0, skipped: 0, cancelled: 0, waiting: 0 };
}

/**
 * Replays a run's event log: the run as it was just after event `atSeq` (after every
 * event when omitted). Every node starts pending and the run running, as on submit.
 * The log is the source of truth for history; Redis keeps only the present, so this is
 * how the API answers "what did the run look like at step N" and how tests check that
 * the log and the live state never disagree.
 *
 * Events naming a node outside `nodes` are ignored: history must render even if the
 * caller passes a partial node list. Nodes added while the run ran exist from their
 * `node.added` event on (and until a `node.removed`), whether or not `nodes` lists them:
 * the run at a seq has the nodes it had then.
 */
export function foldEvents(nodes: { id: string; deps?: readonly string[] }[], events: RunEvent[], atSeq?: number): FoldedRun {
  if (atSeq !== undefined && (!Number.isInteger(atSeq) || atSeq < 0)) {
    throw new ValidationError("atSeq must be a non-negative integer", "atSeq");
  }
  const state: Record<string, FoldedNode> = {};
  const later = new Set<string>();
  for (const ev of events) if (ev.type === "node.added" && ev.node !== undefined) later.add(ev.node);
  const deps: Record<string, string[]> = {};
  for (const n of nodes) {
    if (later.has(n.id)) continue;
    state[n.id] = { status: "pending", attempt: 0 };
    deps[n.id] = [...(n.deps ?? [])];
  }
  const added: Record<string, string> = {};
  const listed = (d: unknown): string[] => (Array.isArray(d) ? d.filter((x): x is string => typeof x === "string") : []);
  let status: RunStatus = "running";

  // The log is ordered by seq, but a caller may concatenate pages: sort to be sure.
  const ordered = [...events].sort((a, b) => a.seq - b.seq);
  for (const ev of ordered) {
    if (atSeq !== undefined && ev.seq > atSeq) break;
    if (ev.node !== undefined && (ev.type === "node.added" || ev.type === "node.removed" || ev.type === "node.deps_added")) {
      if (ev.type === "node.added") {
        state[ev.node] = { status: "pending", attempt: 0 };
        added[ev.node] = typeof ev.data?.agent === "string" ? ev.data.agent : "";
        deps[ev.node] = listed(ev.data?.deps);
      } else if (ev.type === "node.deps_added") {
        if (deps[ev.node]) deps[ev.node]!.push(...listed(ev.data?.deps));
      } else {
        const gone = ev.node;
        delete state[gone];
        delete deps[gone];
        for (const id of Object.keys(deps)) if (deps[id]!.includes(gone)) deps[id] = deps[id]!.filter((d) => d !== gone);
      }
      continue;
    }
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
  return { status, nodes: state, counts, added, deps };
}
