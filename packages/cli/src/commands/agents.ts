import type { AgentSignal } from "@weft/core/sdk";
import type { Context } from "../config.js";
import { EXIT, printJson } from "../output.js";

/** `weft agents [agent]`: the scaling signals (GET /v1/agents): a table, or with --json the API's answer. */
export async function agents(ctx: Context, agent: string | undefined, o: { within?: number }): Promise<number> {
  const opts = o.within === undefined ? {} : { within: o.within };
  const r = agent === undefined ? await ctx.client.agents(opts) : await ctx.client.agent(agent, opts);
  if (ctx.json) {
    printJson(r);
    return EXIT.ok;
  }
  const rows: AgentSignal[] = "agents" in r ? r.agents : [r];
  if (rows.length === 0) {
    process.stdout.write("no agent has ready or running work\n");
    return EXIT.ok;
  }
  const withinS = `${("withinMs" in r ? r.withinMs : 0) / 1000}s`;
  const header = ["agent", "ready", "oldest ready", "running", `expiring <${withinS}`];
  const cells = rows.map((a) => [a.agent, String(a.ready), a.oldestReadyAt === null ? "-" : age(a.oldestReadyAgeMs), String(a.running), String(a.leasesExpiringSoon)]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((x, i) => (i === 0 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join("  ").trimEnd();
  process.stdout.write(`${[line(header), ...cells.map(line)].join("\n")}\n`);
  return EXIT.ok;
}

function age(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)}s`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)}m`;
  return `${Math.round(ms / 3_600_000)}h`;
}
