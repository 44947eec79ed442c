import type { EventType, RunEvent, RunView } from "@weft/core";
import type { Article } from "../../examples/research-pipeline/agents.js";

const COLOR = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code: number, s: string) => (COLOR ? `\x1b[${code}m${s}\x1b[0m` : s);
const MARK: Record<EventType, string> = {
  "run.submitted": paint(36, "submitted"),
  "node.ready": paint(90, "ready"),
  "node.started": paint(33, "started"),
  "node.heartbeat": paint(90, "heartbeat"),
  "node.succeeded": paint(32, "succeeded"),
  "node.retrying": paint(35, "retrying"),
  "node.failed": paint(31, "failed"),
  "node.skipped": paint(90, "skipped"),
  "node.cancelled": paint(90, "cancelled"),
  "node.reset": paint(36, "reset"),
  "node.released": paint(35, "released"),
  "node.added": paint(36, "added"),
  "node.deps_added": paint(36, "deps added"),
  "node.removed": paint(90, "removed"),
  "node.waiting": paint(36, "WAITING"),
  "run.paused": paint(35, "RUN PAUSED"),
  "run.succeeded": paint(32, "RUN SUCCEEDED"),
  "run.failed": paint(31, "RUN FAILED"),
  "run.cancelled": paint(90, "RUN CANCELLED"),
  "run.resumed": paint(36, "RUN RESUMED"),
};

/** One terminal line per event of the run's log. */
export function formatEvent(e: RunEvent, t0: number): string {
  const at = `+${((e.at - t0) / 1000).toFixed(2)}s`.padStart(8);
  const what = MARK[e.type] ?? e.type;
  const node = e.node ? `${e.node}`.padEnd(22) : "".padEnd(22);
  const attempt = e.attempt ? `attempt ${e.attempt}` : "";
  const extra =
    e.type === "node.retrying"
      ? `  (${String((e.data?.error as { message?: string })?.message)}; retry at +${(((e.data?.retryAt as number) - t0) / 1000).toFixed(2)}s)`
      : e.type.startsWith("run.") && e.data?.counts
        ? `  ${JSON.stringify(e.data.counts)}`
        : e.type === "node.started"
          ? `  by ${e.actor}`
          : e.type === "node.added"
            ? `  by ${e.actor}`
            : e.type === "node.deps_added"
              ? `  now also waits for ${String((e.data?.deps as string[] | undefined)?.join(", "))}`
              : "";
  return `  ${paint(90, at)}  ${node} ${what} ${paint(90, attempt)}${extra}`;
}

export function formatSummary(run: RunView): string {
  const lines = run.nodes.map((n) => `    ${n.id.padEnd(12)} ${n.status.padEnd(10)} attempts ${n.attempt}  ${JSON.stringify(n.output ?? n.error ?? null).slice(0, 90)}`);
  return [`  run ${run.dagId}: ${run.status} in ${((run.finishedAt ?? Date.now()) - run.createdAt) / 1000}s`, ...lines].join("\n");
}

/** The published article: title, the first paragraph, its references. */
export function formatArticle(a: Article): string {
  const [first = "", ...rest] = a.body.split(/\n\s*\n/);
  return [
    `  ${paint(1, a.title)}  (${a.words} words, model ${a.model})`,
    ...wrap(first, 88).map((l) => `    ${l}`),
    rest.length ? paint(90, `    ... ${rest.length} more paragraph${rest.length > 1 ? "s" : ""}`) : "",
    ...a.references.slice(0, 4).map((r) => paint(90, `    [${r.id}] ${r.url}`)),
    a.references.length > 4 ? paint(90, `    ... ${a.references.length - 4} more reference${a.references.length > 5 ? "s" : ""}`) : "",
  ]
    .filter(Boolean)
    .join("\n");
}

function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + word.length + 1 > width) {
      out.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) out.push(line);
  return out;
}
