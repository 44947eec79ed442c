import { foldEvents, NODE_STATUS_OF, RUN_STATUS_OF, type NodeStatus, type RunEvent, type RunStatus, type RunView } from "@weft/core/sdk";

/**
 * How a run looks in a terminal: the live `watch` view, one line per event, and the
 * node table of `status`. Pure functions of a RunView and events, so they are tested
 * without a terminal; the commands only decide when to print them.
 */

export type Folded = ReturnType<typeof foldEvents>;
/** The part of a run the view needs: its id and node list (ids, agents, in DAG order). */
export type RunShape = Pick<RunView, "dagId"> & { nodes: { id: string; agent: string }[] };

export interface Style {
  color: boolean;
}

const COLOR_OF: Record<NodeStatus | RunStatus, number> = {
  pending: 90,
  ready: 36,
  running: 33,
  succeeded: 32,
  failed: 31,
  retrying: 35,
  skipped: 90,
  cancelled: 90,
  waiting: 35,
  paused: 35,
};
const MARK_OF: Record<NodeStatus, string> = {
  pending: "·",
  ready: "○",
  running: "●",
  succeeded: "✓",
  failed: "✗",
  retrying: "↻",
  skipped: "-",
  cancelled: "⊘",
  waiting: "◷",
};
/** Shown first when a run has more nodes than the terminal has rows. */
const URGENCY: Record<NodeStatus, number> = { waiting: 0, failed: 1, retrying: 2, running: 3, ready: 4, pending: 5, cancelled: 6, skipped: 7, succeeded: 8 };

export const paint = (s: Style, code: number, text: string) => (s.color ? `\x1b[${code}m${text}\x1b[0m` : text);
const status = (s: Style, st: NodeStatus | RunStatus, width = 0) => paint(s, COLOR_OF[st], st.padEnd(width));
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;
const clip = (text: string, width: number) => (text.length > width ? `${text.slice(0, Math.max(0, width - 1))}…` : text);

/** `[#######.............] 7/20 succeeded`, the bar `width` characters wide inside its brackets. */
export function progressBar(succeeded: number, total: number, width: number, s: Style = { color: false }): string {
  const filled = total === 0 ? width : Math.round((succeeded / total) * width);
  return `[${paint(s, 32, "#".repeat(filled))}${paint(s, 90, ".".repeat(width - filled))}] ${succeeded}/${total} succeeded`;
}

/** Non-zero counts other than succeeded, in a fixed order: `2 running, 1 failed`. */
export function countsLine(counts: Record<NodeStatus, number>, s: Style = { color: false }): string {
  const order: NodeStatus[] = ["waiting", "running", "ready", "retrying", "pending", "failed", "skipped", "cancelled"];
  return order
    .filter((k) => counts[k] > 0)
    .map((k) => `${counts[k]} ${status(s, k)}`)
    .join(", ");
}

/** Cuts a line holding ANSI codes to `columns` visible characters, so a redraw never wraps. */
export function fit(line: string, columns: number): string {
  let visible = 0;
  let out = "";
  for (let i = 0; i < line.length; i++) {
    if (line[i] === "\x1b") {
      const end = line.indexOf("m", i);
      out += line.slice(i, end + 1);
      i = end;
      continue;
    }
    if (visible === columns) return out.includes("\x1b[") ? `${out}\x1b[0m` : out;
    out += line[i];
    visible++;
  }
  return out;
}

/**
 * The run's nodes as its log says they are now, in the run's order: the nodes `run` had when
 * it was read, less those a rewind removed since (`node.removed`), plus those added since
 * (`node.added`, with the agent it names), so a run that grows while it is watched shows it.
 */
export function nodesNow(run: RunShape, folded: Folded): { id: string; agent: string }[] {
  const agent = new Map(run.nodes.map((n) => [n.id, n.agent]));
  return Object.keys(folded.nodes).map((id) => ({ id, agent: folded.added[id] ?? agent.get(id) ?? "" }));
}

/**
 * The live view: a header, a progress bar and one line per node (status, attempt). With
 * more nodes than `rows` allows, the ones needing attention (failed, retrying, running)
 * come first and the rest are summed up on one line.
 */
export function renderLive(run: RunShape, folded: Folded, o: Style & { columns: number; rows: number; elapsedMs: number }): string[] {
  const nodes = nodesNow(run, folded);
  const total = nodes.length;
  const head = [
    `run ${run.dagId}  ${status(o, folded.status)}  ${seconds(o.elapsedMs)}`,
    `${progressBar(folded.counts.succeeded, total, Math.max(10, Math.min(40, o.columns - 30)), o)}${total ? `  ${countsLine(folded.counts, o)}` : ""}`,
  ];
  const idWidth = Math.min(24, Math.max(4, ...nodes.map((n) => n.id.length)));
  const agentWidth = Math.min(16, Math.max(5, ...nodes.map((n) => n.agent.length)));
  let shown = nodes.map((n, i) => ({ ...n, i, ...folded.nodes[n.id]! }));
  const room = Math.max(1, o.rows - head.length - 1);
  let rest = "";
  if (shown.length > room) {
    const keep = [...shown].sort((a, b) => URGENCY[a.status] - URGENCY[b.status] || a.i - b.i).slice(0, room - 1);
    const hidden = shown.length - keep.length;
    shown = keep.sort((a, b) => a.i - b.i);
    rest = paint(o, 90, `  … ${hidden} more node${hidden === 1 ? "" : "s"}`);
  }
  const lines = shown.map(
    (n) =>
      `  ${paint(o, COLOR_OF[n.status], MARK_OF[n.status])} ${clip(n.id, idWidth).padEnd(idWidth)}  ${paint(o, 90, clip(n.agent, agentWidth).padEnd(agentWidth))}  ${status(o, n.status, 10)}${n.attempt > 1 ? `  attempt ${n.attempt}` : ""}`,
  );
  return [...head, ...lines, ...(rest ? [rest] : [])].map((l) => fit(l, o.columns));
}

/**
 * One line per event of a run's log: `  +1.20s  #7  web  retrying  attempt 1  (429; retry at +2.20s)`.
 * A node event reads as the status it moves its node to (core's table); a run event as its
 * own name, coloured by the status it moves the run to; other events by their name.
 */
export function formatEvent(e: RunEvent, t0: number, s: Style = { color: false }): string {
  const at = paint(s, 90, `+${((e.at - t0) / 1000).toFixed(2)}s`.padStart(8));
  const to = NODE_STATUS_OF[e.type];
  const run = RUN_STATUS_OF[e.type];
  const what = e.type.startsWith("run.")
    ? `run ${run ? paint(s, COLOR_OF[run], e.type.slice(4)) : e.type.slice(4)}`
    : to
      ? status(s, to)
      : e.type.slice(5);
  const node = (e.node ?? "").padEnd(16);
  const attempt = e.attempt ? paint(s, 90, `  attempt ${e.attempt}`) : "";
  const error = (e.data?.error as { message?: string } | undefined)?.message;
  const extra =
    e.type === "node.retrying"
      ? `  (${error ?? "error"}; retry at +${(((e.data?.retryAt as number) - t0) / 1000).toFixed(2)}s)`
      : e.type === "node.failed" && error
        ? `  (${error})`
        : e.type === "node.started"
          ? paint(s, 90, `  by ${e.actor}`)
          : "";
  return `  ${at}  ${paint(s, 90, `#${e.seq}`.padEnd(5))} ${node} ${what}${attempt}${extra}`;
}

const brief = (v: unknown, width: number) => (v === undefined ? "" : clip(JSON.stringify(v), width));

/** The node table of `status` and of a watch's final summary. */
export function renderTable(run: RunView, o: Style & { now: number }): string[] {
  const took = seconds((run.finishedAt ?? o.now) - run.createdAt);
  const header = `run ${run.dagId}  ${status(o, run.status)}  ${run.counts.succeeded}/${run.nodes.length} succeeded${
    countsLine(run.counts) ? ` (${countsLine(run.counts, o)})` : ""
  }  ${run.finishedAt ? "took" : "running for"} ${took}`;
  const w = {
    id: Math.max(4, ...run.nodes.map((n) => n.id.length)),
    agent: Math.max(5, ...run.nodes.map((n) => n.agent.length)),
  };
  const cols = `  ${"NODE".padEnd(w.id)}  ${"AGENT".padEnd(w.agent)}  ${"STATUS".padEnd(10)}  ${"ATTEMPT".padEnd(7)}  RESULT`;
  const rows = run.nodes.map(
    (n) =>
      `  ${n.id.padEnd(w.id)}  ${n.agent.padEnd(w.agent)}  ${status(o, n.status, 10)}  ${String(n.attempt).padEnd(7)}  ${
        n.error ? paint(o, 31, clip(n.error.message, 60)) : brief(n.output, 60)
      }`,
  );
  return [header, paint(o, 90, cols), ...rows];
}
