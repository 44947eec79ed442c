import { RUN_STATUSES, type RunStatus } from "@weft/core/sdk";
import type { Context } from "../config.js";
import { followEvents } from "../follow.js";
import { EXIT, exitForRun, printJson, printJsonLine, UsageError } from "../output.js";
import { countsLine, formatEvent, renderTable } from "../view.js";
import { howToSignal } from "./waits.js";

/** Reading and steering one run (or listing runs): each prints prose, or with --json the API's answer. */

export async function status(ctx: Context, dagId: string): Promise<number> {
  const run = await ctx.client.getRun(dagId);
  if (ctx.json) printJson(run);
  else process.stdout.write(`${[...renderTable(run, { color: ctx.tty, now: Date.now() }), ...howToSignal(run)].join("\n")}\n`);
  return exitForRun(run.status);
}

/** The run's log after `--after`; with --follow, until the run ends (--json: one event per line). */
export async function events(ctx: Context, dagId: string, o: { after: number; follow: boolean }): Promise<number> {
  const all: unknown[] = [];
  let t0: number | undefined;
  const { cursor } = await followEvents(ctx.client, dagId, {
    after: o.after,
    follow: o.follow,
    onEvents(page) {
      t0 ??= page[0]!.at;
      for (const e of page) {
        if (ctx.json && o.follow) printJsonLine(e);
        else if (ctx.json) all.push(e);
        else process.stdout.write(`${formatEvent(e, t0, { color: ctx.tty })}\n`);
      }
    },
  });
  if (ctx.json && !o.follow) printJson({ events: all, cursor });
  return EXIT.ok;
}

export async function cancel(ctx: Context, dagId: string): Promise<number> {
  const r = await ctx.client.cancel(dagId);
  if (ctx.json) printJson(r);
  else process.stdout.write(r.changed ? `${dagId} cancelled\n` : `${dagId} had already ended: ${r.status}\n`);
  return EXIT.ok;
}

function printReset(ctx: Context, dagId: string, r: { status: RunStatus; reset: string[]; ready: string[] }): number {
  if (ctx.json) printJson(r);
  else process.stdout.write(`${dagId} ${r.status}: reset ${r.reset.join(", ") || "nothing"}; ready ${r.ready.join(", ") || "none"}\n`);
  return EXIT.ok;
}

export async function redrive(ctx: Context, dagId: string): Promise<number> {
  return printReset(ctx, dagId, await ctx.client.redrive(dagId));
}

export async function rewind(ctx: Context, dagId: string, nodeId: string): Promise<number> {
  return printReset(ctx, dagId, await ctx.client.rewind(dagId, nodeId));
}

export async function list(ctx: Context, o: { status?: string; limit?: number; cursor?: string }): Promise<number> {
  if (o.status && !RUN_STATUSES.includes(o.status as RunStatus)) {
    throw new UsageError(`--status must be one of ${RUN_STATUSES.join(", ")}`, "status");
  }
  const page = await ctx.client.list({
    ...(o.status ? { status: o.status as RunStatus } : {}),
    ...(o.limit ? { limit: o.limit } : {}),
    ...(o.cursor ? { cursor: o.cursor } : {}),
  });
  if (ctx.json) printJson(page);
  else {
    for (const r of page.runs) {
      const total = Object.values(r.counts).reduce((a, b) => a + b, 0);
      process.stdout.write(
        `${r.dagId}  ${r.status.padEnd(9)}  ${new Date(r.createdAt).toISOString()}  ${r.counts.succeeded}/${total} succeeded  ${countsLine(r.counts)}\n`,
      );
    }
    if (page.cursor) process.stdout.write(`more: --cursor ${page.cursor}\n`);
  }
  return EXIT.ok;
}

export async function history(ctx: Context, dagId: string, at: number): Promise<number> {
  const r = await ctx.client.history(dagId, at);
  if (ctx.json) printJson(r);
  else {
    process.stdout.write(`run ${r.dagId} at event ${r.seq} (${new Date(r.at).toISOString()}): ${r.status}\n`);
    for (const n of r.nodes) process.stdout.write(`  ${n.id.padEnd(16)} ${n.status.padEnd(10)} attempt ${n.attempt}\n`);
  }
  return EXIT.ok;
}
