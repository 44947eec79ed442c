import type { GrowSample } from "./grow.js";
import type { Ceiling } from "./ceiling.js";
import type { Sample } from "./measure.js";
import type { ScriptCost } from "./profile.js";
import { HARNESS_COMMANDS, type CommandStats } from "./redis-info.js";
import { median } from "./stats.js";
import type { WorkloadKey } from "./workloads.js";

export type Figures = Omit<Sample, "stats">;

export interface EngineResult {
  samples: Sample[];
  median: Figures;
}

export interface WorkloadResult {
  key: WorkloadKey;
  title: string;
  nodes: number;
  bullmqNote: string;
  weft: EngineResult;
  bullmq: EngineResult;
  scripts?: ScriptCost[];
}

export interface Machine {
  cpus: number;
  cpuModel: string;
  memGb: number;
  node: string;
  redis: string;
  bullmq: string;
  ioredis: string;
  loadBefore: number[];
  loadAfter: number[];
}

export interface BenchReport {
  date: string;
  durationS: number;
  machine: Machine;
  settings: { reps: number; warmup: boolean; concurrency: number; batch: number };
  ceilings: Ceiling[];
  workloads: WorkloadResult[];
  /** The growth workload (bench/grow.ts): a planner adds `width` nodes in one completion. */
  grow?: GrowSample;
  notes?: string;
}

export function summarize(samples: Sample[]): EngineResult {
  const first = samples[0];
  if (!first) throw new Error("no samples");
  const m = {} as Record<string, number>;
  for (const k of Object.keys(first) as (keyof Sample)[]) {
    if (k !== "stats") m[k] = median(samples.map((s) => s[k] as number));
  }
  return { samples, median: m as unknown as Figures };
}

/** The ceiling the goal compares with: the higher of the measurements (the conservative choice). */
export function ceilingOf(cs: Ceiling[]): number {
  return Math.max(...cs.map((c) => c.redisBenchmark ?? c.ioredisLoop));
}

export interface Goal {
  issue: string;
  goal: string;
  measured: string;
  met: boolean;
}

const n0 = (v: number) => (Number.isFinite(v) ? Math.round(v).toLocaleString("en-US") : "n/a");
const n2 = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : "n/a");
const ms = (v: number) => (Number.isFinite(v) ? (v >= 100 ? v.toFixed(0) : v.toFixed(1)) : "n/a");
const x = (v: number) => (Number.isFinite(v) ? `${v.toFixed(2)}x` : "n/a");

export function goals(r: BenchReport): Goal[] {
  const w = (k: WorkloadKey) => r.workloads.find((x) => x.key === k);
  const out: Goal[] = [];
  const a = w("a");
  const b = w("b");
  const e = w("e");
  const hop = (res: WorkloadResult) => res.weft.median.elapsedMs / res.nodes;
  const bhop = (res: WorkloadResult) => res.bullmq.median.elapsedMs / res.nodes;
  if (a) out.push({ issue: "M1", goal: ">= 20,000 nodes/s on (a)", measured: `${n0(a.weft.median.nodesPerSec)} nodes/s`, met: a.weft.median.nodesPerSec >= 20_000 });
  if (b) out.push({ issue: "M1", goal: "<= 0.3 ms per hop on (b)", measured: `${hop(b).toFixed(3)} ms`, met: hop(b) <= 0.3 });
  const rt = r.workloads.filter((x) => x.key === "a" || x.key === "b");
  if (rt.length) {
    const worst = Math.max(...rt.map((x) => x.weft.median.requestsPerNode));
    out.push({ issue: "M1", goal: "<= 2 round trips per node (a, b)", measured: `${worst.toFixed(3)} (worst of a, b)`, met: worst <= 2 });
  }
  for (const res of [a, e]) {
    if (!res) continue;
    const ratio = res.weft.median.nodesPerSec / res.bullmq.median.nodesPerSec;
    out.push({ issue: "M3", goal: `>= 5x BullMQ nodes/s on (${res.key})`, measured: x(ratio), met: ratio >= 5 });
  }
  if (b) {
    const ratio = hop(b) / bhop(b);
    out.push({ issue: "M3", goal: "chain hop <= 1/3 of BullMQ's", measured: `${hop(b).toFixed(3)} / ${bhop(b).toFixed(3)} ms = ${ratio.toFixed(2)}`, met: ratio <= 1 / 3 });
  }
  if (a && r.ceilings.length) {
    const pct = (a.weft.median.scriptsPerSec / ceilingOf(r.ceilings)) * 100;
    out.push({
      issue: "M3",
      goal: "Weft script calls/s >= 40% of the EVALSHA ceiling (on (a))",
      measured:
        `${n0(a.weft.median.scriptsPerSec)} / ${n0(ceilingOf(r.ceilings))} = ${pct.toFixed(1)}% ` +
        `(one completeMany call completes up to ${r.settings.batch} nodes, so calls/s understates the load: redis-server was ${(a.weft.median.redisBusy * 100).toFixed(0)}% busy)`,
      met: pct >= 40,
    });
  }
  if (r.grow) {
    const g = r.grow;
    out.push({
      issue: "M9",
      goal: `adding ${n0(g.width)} nodes in one completion costs <= 1.5x submitting them`,
      measured: `${g.addMs.toFixed(0)} ms vs ${g.submitMs.toFixed(0)} ms = ${g.ratio.toFixed(2)}x (${n0(g.addedPerSec)} nodes added/s)`,
      met: g.ratio <= 1.5,
    });
  }
  return out;
}

function growSection(g: GrowSample): string[] {
  return [
    "## (grow) A planner adds nodes at run time",
    "",
    `src's completion adds ${n0(g.width)} nodes (each depending on src) and makes the existing sink wait for all of them, in one script; ` +
      `compared with submitting the same fan-out/fan-in whole. Then the added nodes run and fan in (claim and completeMany, batches of 100).`,
    "",
    "| submit whole | add in one completion | add / submit | nodes added/s | run after (nodes/s) |",
    "|---|---|---|---|---|",
    `| ${g.submitMs.toFixed(0)} ms | ${g.addMs.toFixed(0)} ms | ${g.ratio.toFixed(2)}x | ${n0(g.addedPerSec)} | ${n0(g.nodesPerSec)} |`,
    "",
  ];
}

function workloadTable(res: WorkloadResult): string {
  const W = res.weft.median;
  const B = res.bullmq.median;
  const rows: [string, number, number, (v: number) => string, boolean][] = [
    // [metric, weft, bullmq, format, higher is better]
    ["nodes/s", W.nodesPerSec, B.nodesPerSec, n0, true],
    ["processing time (ms)", W.elapsedMs, B.elapsedMs, ms, false],
    ["time per node / hop (ms)", W.elapsedMs / res.nodes, B.elapsedMs / res.nodes, (v) => v.toFixed(3), false],
    ["submit time (ms)", W.submitMs, B.submitMs, ms, false],
    ["ready -> claimed p50 (ms)", W.latencyP50, B.latencyP50, ms, false],
    ["ready -> claimed p99 (ms)", W.latencyP99, B.latencyP99, ms, false],
    ["client requests per node (round trips)", W.requestsPerNode, B.requestsPerNode, n2, false],
    ["script calls per node (server)", W.scriptsPerNode, B.scriptsPerNode, n2, false],
    ["Redis commands per node (incl. inside scripts)", W.commandsPerNode, B.commandsPerNode, n2, false],
    ["script calls/s", W.scriptsPerSec, B.scriptsPerSec, n0, true],
    ["Redis memory per node (bytes, peak)", W.memoryPerNode, B.memoryPerNode, n0, false],
    ["redis-server CPU per node (us)", W.redisCpuUsPerNode, B.redisCpuUsPerNode, n0, false],
    ["redis-server busy (CPU time / wall time)", W.redisBusy, B.redisBusy, (v) => `${(v * 100).toFixed(0)}%`, false],
    ["bench process CPU per node (us)", W.nodeCpuUsPerNode, B.nodeCpuUsPerNode, n0, false],
  ];
  const lines = ["| metric (median) | Weft | BullMQ | Weft / BullMQ |", "|---|---:|---:|---:|"];
  for (const [name, wv, bv, f] of rows) lines.push(`| ${name} | ${f(wv)} | ${f(bv)} | ${Number.isFinite(wv / bv) ? (wv / bv).toFixed(2) : "n/a"} |`);
  const spread = (e: EngineResult) => e.samples.map((s) => n0(s.nodesPerSec)).join(", ");
  lines.push("", `nodes/s of each repetition - Weft: ${spread(res.weft)}; BullMQ: ${spread(res.bullmq)}.`);
  if (res.weft.median.attempts !== res.nodes) lines.push(`Attempts (nodes + retries): Weft ${n0(res.weft.median.attempts)}, BullMQ ${n0(res.bullmq.median.attempts)}.`);
  lines.push("", `BullMQ shape: ${res.bullmqNote}`);
  return lines.join("\n");
}

/** Server commands per node of the median-speed Weft repetition, most frequent first. */
function commandTable(res: WorkloadResult, top = 12): string {
  const sorted = [...res.weft.samples].sort((p, q) => p.nodesPerSec - q.nodesPerSec);
  const stats: CommandStats = sorted[Math.floor(sorted.length / 2)]!.stats;
  const rows = Object.entries(stats)
    .filter(([cmd]) => !HARNESS_COMMANDS.has(cmd.split("|")[0]!))
    .sort((p, q) => q[1].calls - p[1].calls)
    .slice(0, top)
    .map(([cmd, s]) => `| ${cmd} | ${(s.calls / res.nodes).toFixed(2)} | ${(s.usec / res.nodes).toFixed(1)} | ${(s.usec / s.calls).toFixed(2)} |`);
  return ["| command | calls per node | server us per node | us per call |", "|---|---:|---:|---:|", ...rows].join("\n");
}

function scriptTable(res: WorkloadResult): string {
  const rows = (res.scripts ?? []).map(
    (s) => `| ${s.script} | ${n0(s.calls)}${s.truncated ? " (log full)" : ""} | ${(s.calls / res.nodes).toFixed(2)} | ${s.usPerCall.toFixed(1)} | ${((s.totalMs * 1000) / res.nodes).toFixed(1)} |`,
  );
  return ["| script | calls | calls per node | server us per call | server us per node |", "|---|---:|---:|---:|---:|", ...rows].join("\n");
}

export function renderMarkdown(r: BenchReport, chartFile: string): string {
  const m = r.machine;
  const g = goals(r);
  const c = r.ceilings;
  const out: string[] = [
    "# Weft vs BullMQ benchmark",
    "",
    `Generated by \`npm run bench\` on ${r.date} (${Math.round(r.durationS)} s). One fresh redis-server (persistence off) shared by every workload, FLUSHALL before each repetition; ` +
      `${r.settings.reps} repetitions per engine and workload, engines interleaved, ${r.settings.warmup ? "one warm-up repetition each (discarded)" : "no warm-up"}; medians.`,
    "",
    "## Machine",
    "",
    `- ${m.cpus} CPUs, ${m.cpuModel}, ${m.memGb.toFixed(1)} GB RAM; the bench process, redis-server and redis-benchmark share them.`,
    `- Node ${m.node}, Redis ${m.redis}, BullMQ ${m.bullmq}, ioredis ${m.ioredis}.`,
    `- Load average before: ${m.loadBefore.map((v) => v.toFixed(2)).join(" ")}; after: ${m.loadAfter.map((v) => v.toFixed(2)).join(" ")}. ` +
      (Math.max(...m.loadBefore, ...m.loadAfter) > m.cpus ? "**The machine was shared with other work (load above the CPU count): absolute figures are noisy; the Weft/BullMQ ratios, measured interleaved on the same server, hold better.**" : "The machine was otherwise quiet."),
    "",
    "## Goals",
    "",
    "| issue | goal | measured | status |",
    "|---|---|---|---|",
    ...g.map((x) => `| ${x.issue} | ${x.goal} | ${x.measured} | ${x.met ? "met" : "**missed**"} |`),
    "",
    `![nodes/s per workload, Weft vs BullMQ](${chartFile})`,
    "",
    ...(r.grow ? growSection(r.grow) : []),
    "## The ceiling: EVALSHA of a trivial script (`return 1`)",
    "",
    ...c.map(
      (x, i) =>
        `- pass ${i + 1}: redis-benchmark (50 clients, pipeline 16) ${x.redisBenchmark ? n0(x.redisBenchmark) : "n/a"} calls/s; one auto-pipelined ioredis client in Node (1,000 in flight) ${n0(x.ioredisLoop)} calls/s; ` +
        `one call at a time (the floor of a chain hop): ${(x.roundTrip.wallUs / 1000).toFixed(3)} ms per round trip, costing ${n0(x.roundTrip.redisCpuUs)} us of redis-server CPU and ${n0(x.roundTrip.nodeCpuUs)} us of Node CPU.`,
    ),
    `- The goal uses the highest redis-benchmark figure: ${n0(ceilingOf(c))} calls/s.`,
    "",
    "## How it is measured",
    "",
    `- One worker process (this Node process) per engine, concurrency ${r.settings.concurrency} tasks in flight for both, no-op agents.`,
    `- Weft worker (bench/weft-runner.ts): a loop claims batches (up to ${r.settings.batch}, never more than the free slots); the no-op tasks that finish in one event-loop tick are completed together with \`completeMany\` (one script call per batch of up to ${r.settings.batch}) and \`claimNext: { max: <batch size> }\`, so the same call claims the worker's next tasks; up to 4 such calls are in flight, pipelined by ioredis. On a chain this is one call per hop (complete + claim the child). The loop sleeps while the queue is empty until a completion releases more children than it claimed itself (1 ms poll when nothing is in flight). Nodes that fail once are reported with \`fail\` (retry policy maxAttempts 2, backoff 0).`,
    "- BullMQ: one `Worker` with the same `concurrency`, BullMQ defaults otherwise (it fetches the next job inside `moveToFinished`, like claimNext); flows added with `FlowProducer.addBulk`.",
    "- nodes/s = nodes / processing time; processing runs from the worker's start (after submit) to the last run finishing; for (e) from the first of the concurrent submits, which overlap the processing.",
    "- Time per hop (chain) = processing time / nodes.",
    "- Ready -> claimed: Weft from its event log (`node.ready` to `node.started`, Redis TIME inside the scripts); BullMQ from job fields (added or last child's `finishedOn`, to `processedOn`; client clocks written by its scripts). Both ms resolution, first attempts only (nodes that fail once are left out). In fan-outs this is mostly queueing: 10,000 nodes become ready at once.",
    "- Client requests per node = commands this process sent, counted inside ioredis for every client (BullMQ's too); for Weft it equals `redis.calls` (script calls = round trips). Script calls and Redis commands per node come from `INFO commandstats` deltas; commands include those run inside scripts; harness commands (INFO, FLUSHALL, CONFIG, SLOWLOG) are left out.",
    "- Memory per node = (peak `used_memory` sampled every 50 ms, and at the end) minus the empty server's, over nodes. Both keep finished work in Redis: Weft the run, its event stream and outbox until archived; BullMQ completed jobs (default).",
    "- CPU per node: redis-server `used_cpu_user+sys` delta and this process's `process.cpuUsage()` delta.",
    "",
  ];
  for (const res of r.workloads) {
    out.push(`## (${res.key}) ${res.title} - ${n0(res.nodes)} nodes`, "", workloadTable(res), "");
  }
  out.push("## Profile: where Weft's server time goes", "");
  for (const res of r.workloads) {
    out.push(`### (${res.key}) Redis commands per node (commandstats)`, "", commandTable(res), "");
    if (res.scripts?.length) out.push(`Server time per script (SLOWLOG at 0 us, a separate pass; wall time inside Redis, so it includes any time the server was descheduled):`, "", scriptTable(res), "");
  }
  if (r.notes) out.push("## Analysis", "", r.notes.trim(), "");
  return out.join("\n");
}
