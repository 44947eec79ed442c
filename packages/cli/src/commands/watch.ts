import { foldEvents, type RunEvent } from "@weft/core";
import type { Context } from "../config.js";
import { followEvents } from "../follow.js";
import { exitForRun, printJson } from "../output.js";
import { formatEvent, renderLive, renderTable, type RunShape } from "../view.js";

const HIDE_CURSOR = "\x1b[?25l";
const SHOW_CURSOR = "\x1b[?25h";

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
    const lines = renderLive(run as RunShape, foldEvents(run.nodes, events), {
      color: true,
      columns: out.columns || 100,
      rows: out.rows || 40,
      elapsedMs: Date.now() - run.createdAt,
    });
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
        else for (const e of page) ctx.json ? printJson(e, false) : out.write(`${formatEvent(e, run.createdAt)}\n`);
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
  if (ctx.json) printJson(final, false);
  else {
    if (live && drawn) out.write(`\x1b[${drawn}A\r\x1b[0J`);
    out.write(`${renderTable(final, { color: ctx.tty, now: Date.now() }).join("\n")}\n`);
  }
  return exitForRun(final.status);
}
