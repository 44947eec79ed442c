import type { NodeView, RunView } from "@weft/core/sdk";
import type { Context } from "../config.js";
import { readJsonArg } from "../input.js";
import { EXIT, printJson, UsageError } from "../output.js";

/** Ending waits (approve, reject, signal by key) and pausing runs: what a person does while a run waits. */

function printSignal(ctx: Context, what: string, r: { status: string; runStatus: string; duplicate: boolean }): number {
  if (ctx.json) printJson(r);
  else process.stdout.write(r.duplicate ? `${what}: already applied (duplicate)\n` : `${what}: node ${r.status}, run ${r.runStatus}\n`);
  return EXIT.ok;
}

const signalOpts = (o: { by?: string; signalId?: string }) => ({ ...(o.by ? { by: o.by } : {}), ...(o.signalId ? { signalId: o.signalId } : {}) });

export async function approve(ctx: Context, dagId: string, nodeId: string, o: { output?: string; by?: string; signalId?: string }): Promise<number> {
  const output = o.output === undefined ? { approved: true } : await readJsonArg(o.output, "--output");
  return printSignal(ctx, `${dagId}/${nodeId} approved`, await ctx.client.approve(dagId, nodeId, output, signalOpts(o)));
}

export async function reject(ctx: Context, dagId: string, nodeId: string, o: { reason?: string; by?: string; signalId?: string }): Promise<number> {
  if (!o.reason) throw new UsageError("--reason is required: it is the node's error", "reason");
  return printSignal(ctx, `${dagId}/${nodeId} rejected`, await ctx.client.reject(dagId, nodeId, o.reason, signalOpts(o)));
}

export async function signalKey(ctx: Context, o: { key: string; output?: string; error?: string; by?: string; signalId?: string }): Promise<number> {
  if (o.output !== undefined && o.error !== undefined) throw new UsageError("give --output or --error, not both", "error");
  const body = o.error !== undefined ? { error: { message: o.error } } : { output: o.output === undefined ? null : await readJsonArg(o.output, "--output") };
  const r = await ctx.client.signalKey(o.key, { ...body, ...signalOpts(o) });
  if (ctx.json) printJson(r);
  else {
    process.stdout.write(`key ${o.key}: ${r.signalled} wait${r.signalled === 1 ? "" : "s"} ended\n`);
    for (const n of r.nodes) process.stdout.write(`  ${n.dagId}/${n.nodeId} ${n.status}\n`);
  }
  return EXIT.ok;
}

export async function pause(ctx: Context, dagId: string): Promise<number> {
  const r = await ctx.client.pause(dagId);
  if (ctx.json) printJson(r);
  else process.stdout.write(r.changed ? `${dagId} paused: no node is handed out until weft resume ${dagId}\n` : `${dagId} was already paused\n`);
  return EXIT.ok;
}

export async function resume(ctx: Context, dagId: string): Promise<number> {
  const r = await ctx.client.resume(dagId);
  if (ctx.json) printJson(r);
  else process.stdout.write(r.changed ? `${dagId} resumed\n` : `${dagId} was not paused (${r.status})\n`);
  return EXIT.ok;
}

/** How a person ends each waiting node of a run: the lines `weft watch` and `weft status` print under the table. */
export function howToSignal(run: Pick<RunView, "dagId" | "nodes">): string[] {
  const waiting = run.nodes.filter((n: NodeView) => n.status === "waiting");
  return waiting.flatMap((n) => {
    const until = n.wait?.timeoutAt ? ` (times out ${new Date(n.wait.timeoutAt).toISOString()}: ${n.wait.onTimeout === "succeed" ? "succeeds" : "fails"})` : "";
    return [
      `  ${n.id} waits${n.wait?.key ? ` on key ${n.wait.key}` : ""}${until}:`,
      `    weft approve ${run.dagId} ${n.id} [--output '<json>']`,
      `    weft reject ${run.dagId} ${n.id} --reason "..."`,
    ];
  });
}
