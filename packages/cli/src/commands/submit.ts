import type { Context } from "../config.js";
import { followEvents } from "../follow.js";
import { readSpec } from "../input.js";
import { EXIT, exitForRun, printJson, UsageError } from "../output.js";
import { watch } from "./watch.js";

export interface SubmitOptions {
  idempotencyKey?: string;
  /** Then follow the run live (as `weft watch`). */
  watch?: boolean;
  /** Then wait quietly for the run to end and report how it ended. */
  wait?: boolean;
}

/**
 * Submits a run spec from a file (or stdin) and prints its dagId (--json: the submit
 * result). With --watch or --wait the exit code is the run's: 1 if it failed or was cancelled.
 */
export async function submit(ctx: Context, file: string, o: SubmitOptions): Promise<number> {
  const spec = await readSpec(file);
  if (typeof spec !== "object" || spec === null || Array.isArray(spec)) throw new UsageError(`${file}: a run spec is an object with "nodes"`);
  const body = o.idempotencyKey ? { ...spec, idempotencyKey: o.idempotencyKey } : spec;
  const result = await ctx.client.submit(body);

  if (o.watch) {
    if (!ctx.json) process.stderr.write(`submitted ${result.dagId}${result.created ? "" : " (existing run for this idempotency key)"}\n`);
    return watch(ctx, result.dagId);
  }
  if (o.wait) {
    await followEvents(ctx.client, result.dagId, { after: 0, follow: true, onEvents: () => {} });
    const run = await ctx.client.getRun(result.dagId);
    if (ctx.json) printJson({ ...result, status: run.status, run });
    else process.stdout.write(`${result.dagId} ${run.status}\n`);
    return exitForRun(run.status);
  }
  if (ctx.json) printJson(result);
  else process.stdout.write(`${result.dagId}\n`);
  return EXIT.ok;
}
