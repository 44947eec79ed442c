import { foldEvents, type RunEvent } from "@weft/core/sdk";
import type { Context } from "../config.js";
import { followEvents } from "../follow.js";
import { exitForRun, printJsonLine } from "../output.js";
import { formatEvent, nodesNow, renderLive, renderTable, type RunShape } from "../view.js";
import { howToSignal } from "./waits.js";

const HIDE_CURSOR = "\x1b[?25l";
const SHOW_CURSOR = "\x1b[?25h";

/**
 * One frame of the live view: the nodes as the log says they are now (nodes added while it
 * is watched appear as their node.added arrives, nodes a rewind removed go), then how to end
 * each wait. Pure, so it is tested without a terminal.
 */
export function liveFrame(run: RunShape, events: RunEvent[], o: { color: boolean; columns: number; rows: number; elapsedMs: number }): string[] {
  const folded = foldEvents(run.nodes, events);
  // What each node.waiting said (its timeout, key), for the hints.
  const waitOf = (nodeId: string) => {
    const e = events.findLast((x) => x.type === "node.waiting" && x.node === nodeId);
    const d = e?.data as { timeoutAt?: number; onTimeout?: "fail" | "succeed"; key?: string } | undefined;
    return d ? { wait: { gen: 0, onTimeout: d.onTimeout ?? "fail", ...(d.timeoutAt ? { timeoutAt: d.timeoutAt } : {}), ...(d.key ? { key: d.key } : {}) } } : {};
  };
  const nodes = nodesNow(run, folded).map((n) => ({ ...n, deps: [], ...folded.nodes[n.id]!, ...waitOf(n.id) }));
  const hints = howToSignal({ dagId: run.dagId, nodes });
  return [...renderLive(run, folded, { ...o, rows: Math.max(5, o.rows - hints.length) }), ...hints];
}

/**
 * Follows a run until it ends: on a terminal a live view redrawn as events arrive,
 * otherwise one line (with --json one JSON object) per event, then the node table (with
 * --json the final RunView as the last line). Exit 1 when the run failed or was cancelled.
 */
export async function watch(ctx: Context, dagId: string, o: { pollMs?: number } = {}): Promise<number> {
  const run = await ctx.client.getRun(dagId);
  const live = ctx.tty && !ctx.json;
  const out = process.stdout;
  const events: RunEvent[] = [];
  let drawn = 0;
  let drawnAt = 0;

  const draw = () => {
    // A long log arrives in many pages at once: one frame per 100 ms is enough for the eye.
    if (Date.now() - drawnAt < 100) return;
    drawnAt = Date.now();
    const lines = liveFrame(run, events, { color: true, columns: out.columns || 100, rows: out.rows || 40, elapsedMs: Date.now() - run.createdAt });
    // Back to the top of the previous frame, clear it, draw the new one.
    out.write(`${drawn ? `\x1b[${drawn}A\r\x1b[0J` : ""}${lines.join("\n")}\n`);
    drawn = lines.length;
  };
  const restore = () => {
    out.write(SHOW_CURSOR);
    process.exit(130);
  };

  if (live) {
    out.write(HIDE_CURSOR);
    process.once("SIGINT", restore);
  }
  try {
    await followEvents(ctx.client, dagId, {
      after: 0,
      follow: true,
      ...(o.pollMs ? { pollMs: o.pollMs } : {}),
      onEvents(page) {
        events.push(...page);
        if (live) draw();
        else
          for (const e of page) {
            if (ctx.json) printJsonLine(e);
            else {
              out.write(`${formatEvent(e, run.createdAt)}\n`);
              // A person can end this wait: say how, once, where it starts.
              if (e.type === "node.waiting" && e.node) out.write(`           weft approve ${dagId} ${e.node}   |   weft reject ${dagId} ${e.node} --reason "..."${typeof e.data?.signalUrl === "string" ? `   |   POST ${e.data.signalUrl}` : ""}\n`);
            }
          }
      },
      onIdle: () => live && draw(),
    });
  } finally {
    if (live) {
      process.off("SIGINT", restore);
      out.write(SHOW_CURSOR);
    }
  }

  const final = await ctx.client.getRun(dagId);
  if (ctx.json) printJsonLine(final);
  else {
    if (live && drawn) out.write(`\x1b[${drawn}A\r\x1b[0J`);
    out.write(`${renderTable(final, { color: ctx.tty, now: Date.now() }).join("\n")}\n`);
  }
  return exitForRun(final.status);
}
