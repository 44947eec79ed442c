import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { worker as startWorker, type Agents } from "@weft/client";
import type { Context } from "../config.js";
import { EXIT, UsageError } from "../output.js";

export interface WorkerOptions {
  concurrency?: number;
  /** Comma-separated subset of the module's agents. */
  agents?: string;
  leaseMs?: number;
}

/** The module's agents: its `agents` export, or a default export that is the agents record. */
async function loadAgents(path: string): Promise<{ agents: Agents; concurrency?: number | Record<string, number> }> {
  let mod: { agents?: unknown; default?: unknown; concurrency?: unknown };
  try {
    mod = await import(pathToFileURL(resolve(process.cwd(), path)).href);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ERR_MODULE_NOT_FOUND") throw new UsageError(`cannot find module ${path}`, "module");
    throw err;
  }
  const agents = mod.agents ?? mod.default;
  const isAgents = (v: unknown): v is Agents =>
    typeof v === "object" && v !== null && Object.keys(v).length > 0 && Object.values(v).every((f) => typeof f === "function");
  if (!isAgents(agents)) throw new UsageError(`${path} must export \`agents\` (or a default export): { [agent]: (task, ctx) => output }`, "module");
  const c = mod.concurrency;
  const concurrency = typeof c === "number" || (typeof c === "object" && c !== null) ? (c as number | Record<string, number>) : undefined;
  return { agents, ...(concurrency !== undefined ? { concurrency } : {}) };
}

/**
 * Runs the worker runtime of @weft/client on a module's agents until SIGINT/SIGTERM, then
 * closes gracefully (tasks in flight finish or are given back); a second signal exits at once.
 */
export async function worker(ctx: Context, path: string, o: WorkerOptions): Promise<number> {
  const loaded = await loadAgents(path);
  let agents = loaded.agents;
  if (o.agents) {
    const names = o.agents.split(",").map((s) => s.trim()).filter(Boolean);
    const unknown = names.filter((n) => !(n in agents));
    if (unknown.length) throw new UsageError(`${path} has no agent ${unknown.join(", ")} (it has ${Object.keys(agents).join(", ")})`, "agents");
    agents = Object.fromEntries(names.map((n) => [n, agents[n]!]));
  }
  const concurrency = o.concurrency ?? loaded.concurrency;
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const w = startWorker({
    agents,
    client: ctx.client,
    ...(concurrency !== undefined ? { concurrency } : {}),
    ...(o.leaseMs !== undefined ? { leaseMs: o.leaseMs } : {}),
    log,
  });
  log(`weft worker: ${Object.keys(agents).join(", ")} on ${ctx.baseUrl}${concurrency !== undefined ? `, concurrency ${JSON.stringify(concurrency)}` : ""} (Ctrl-C stops)`);

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(130);
    stopping = true;
    log(`weft worker: ${signal}, finishing tasks in flight (again to exit now)`);
    void w.close();
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  try {
    await w.done;
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
  }
  log("weft worker: stopped");
  return EXIT.ok;
}
