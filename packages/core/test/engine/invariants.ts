import { NODE_STATUS_OF } from "@weft/core/sdk";
import type { NodeStatus, RunEvent } from "@weft/core";

/** The node state machine of docs/architecture.md (invariant 3): every move the log may show. */
const ALLOWED: Record<NodeStatus, NodeStatus[]> = {
  pending: ["ready", "waiting", "skipped", "cancelled"],
  ready: ["running", "cancelled"],
  running: ["succeeded", "failed", "retrying", "cancelled", "ready", "waiting"],
  waiting: ["succeeded", "failed", "ready", "cancelled"],
  retrying: ["ready", "cancelled"],
  succeeded: [],
  failed: [],
  skipped: [],
  cancelled: [],
};

/** Events that end a node's attempt: after one, the lease of that attempt is dead. */
const ATTEMPT_ENDS = new Set(["node.succeeded", "node.failed", "node.retrying", "node.cancelled", "node.released", "node.waiting"]);
const RUN_ENDS = new Set(["run.succeeded", "run.failed", "run.cancelled"]);

/**
 * Checks a run's event log against the engine's promises (docs/architecture.md, invariants 1, 3, 4, 5, 10)
 * and returns every violation found, empty when the log is sound:
 * - a node starts only after all its deps succeeded (a join: `min` of them), and becomes
 *   ready only then too; nodes and deps added while the run ran are read from the log
 *   (`node.added`, `node.deps_added`), and the graph is acyclic after every addition;
 * - a node succeeds at most once;
 * - a node never gets a second lease while one is live (started without an attempt end);
 * - attempts of a node are 1, 2, 3... in order;
 * - every move follows the state machine, and its `from` is the status the log had reached;
 * - the run ends at most once, and no node moves after it ended.
 */
export function logViolations(nodes: { id: string; deps?: string[]; join?: { min: number } }[], events: RunEvent[]): string[] {
  const deps = new Map(nodes.map((n) => [n.id, [...(n.deps ?? [])]]));
  const join = new Map(nodes.filter((n) => n.join).map((n) => [n.id, n.join!.min]));
  const succeeded = new Set<string>();
  const live = new Map<string, number>();
  const lastAttempt = new Map<string, number>();
  const status = new Map<string, NodeStatus>(nodes.map((x) => [x.id, "pending"]));
  const out: string[] = [];
  let ended = 0;
  for (const e of events) {
    const n = e.node;
    if (RUN_ENDS.has(e.type)) {
      ended++;
      if (ended > 1) out.push(`seq ${e.seq}: second run end ${e.type}`);
      continue;
    }
    if (!n) continue;
    if (ended > 0 && e.type !== "node.heartbeat") out.push(`seq ${e.seq}: ${e.type} ${n} after the run ended`);
    if (e.type === "node.added" || e.type === "node.deps_added") {
      if (e.type === "node.added") {
        if (deps.has(n)) out.push(`seq ${e.seq}: ${n} added twice`);
        deps.set(n, []);
        status.set(n, "pending");
        if (typeof e.data?.join === "number") join.set(n, e.data.join);
      } else if (status.get(n) !== "pending") {
        out.push(`seq ${e.seq}: ${n} gained deps while ${status.get(n)}`);
      }
      deps.get(n)!.push(...((e.data?.deps as string[] | undefined) ?? []));
      const cycle = cycleThrough(deps, n);
      if (cycle) out.push(`seq ${e.seq}: the graph has a cycle ${cycle.join(" -> ")}`);
      continue;
    }
    // A reset (redrive, rewind) starts a node over: the moves checked here are those of one pass.
    const to = e.type === "node.reset" ? undefined : NODE_STATUS_OF[e.type];
    if (to) {
      const from = status.get(n) ?? "pending";
      if (!ALLOWED[from].includes(to)) out.push(`seq ${e.seq}: ${n} moved ${from} -> ${to}`);
      if (e.from !== from) out.push(`seq ${e.seq}: ${e.type} ${n} says from=${e.from}, the log had ${from}`);
      status.set(n, to);
    } else if (e.type === "node.heartbeat" && status.get(n) !== "running") {
      out.push(`seq ${e.seq}: heartbeat of ${n} while ${status.get(n)}`);
    }
    const all = deps.get(n) ?? [];
    const unmet = all.filter((d) => !succeeded.has(d));
    if ((e.type === "node.started" || e.type === "node.ready") && all.length - unmet.length < (join.get(n) ?? all.length)) {
      out.push(`seq ${e.seq}: ${e.type} ${n} before deps ${unmet.join(",")} succeeded`);
    }
    if (e.type === "node.started") {
      if (live.has(n)) out.push(`seq ${e.seq}: ${n} started attempt ${e.attempt} while attempt ${live.get(n)} holds a live lease`);
      const expected = (lastAttempt.get(n) ?? 0) + 1;
      if (e.attempt !== expected) out.push(`seq ${e.seq}: ${n} started attempt ${e.attempt}, expected ${expected}`);
      lastAttempt.set(n, e.attempt ?? -1);
      live.set(n, e.attempt ?? -1);
    } else if (ATTEMPT_ENDS.has(e.type)) {
      live.delete(n);
    }
    if (e.type === "node.succeeded") {
      if (succeeded.has(n)) out.push(`seq ${e.seq}: ${n} succeeded a second time`);
      succeeded.add(n);
    }
  }
  return out;
}

/** A path from `start` back to itself along deps, if there is one. */
function cycleThrough(deps: ReadonlyMap<string, readonly string[]>, start: string): string[] | undefined {
  const from = new Map<string, string>();
  const stack = [start];
  while (stack.length) {
    const x = stack.pop()!;
    for (const d of deps.get(x) ?? []) {
      if (d === start) {
        const path = [start, x];
        for (let y = x; from.has(y); ) path.push((y = from.get(y)!));
        return path.slice(0, path.indexOf(start, 1) + 1 || undefined);
      }
      if (!from.has(d)) {
        from.set(d, x);
        stack.push(d);
      }
    }
  }
  return undefined;
}

/** How many times each node's events of `type` occur. */
export function countBy(events: RunEvent[], type: RunEvent["type"]): Map<string, number> {
  const m = new Map<string, number>();
  for (const e of events) if (e.type === type && e.node) m.set(e.node, (m.get(e.node) ?? 0) + 1);
  return m;
}
