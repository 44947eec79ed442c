/**
 * Scale-out (issue 18, goal 5): the fan-out (a) and concurrent-runs (e) workloads on a local
 * Redis Cluster of 1, 2 and 3 masters (real redis-server processes, `redis-cli --cluster
 * create`; fewer than 3 masters joined by hand), runs spread over SHARDS shards by the shard hash
 * tag (`{<prefix>:<s>}`), one worker
 * process (bench/weft-runner.ts: claim batches, completeMany with claimNext). Per
 * configuration: nodes/s, and per master the redis-server CPU (INFO cpu used_cpu_sys +
 * used_cpu_user deltas), commands and memory, so the growth on real hardware (a core per
 * shard) can be estimated from the per-node CPU. Part of `npm run bench`; alone:
 *
 *   npx tsx bench/cluster.ts [--smoke] [--reps N] [--masters 1,2,3] [--write]   # prints (or writes) its section
 */
import { cpus, loadavg } from "node:os";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { Redis } from "ioredis";
import { keySchema, TcpRedis } from "@weft/core/redis";
import { startCluster, type RedisClusterProcess } from "@weft/test-support";
import { diffStats, snapshot, totalCalls, type CommandStats } from "./redis-info.js";
import { median } from "./stats.js";
import { groupedBarChart } from "./chart.js";
import { runSection } from "./sections.js";
import { runWeft } from "./weft-runner.js";
import { FULL, SMOKE, nodeCount, workloads, type Workload } from "./workloads.js";

/**
 * Shards the runs are spread over, the same in every configuration. A shard's keys share the
 * hash tag `{<prefix>:<shard>}`; with this prefix the 12 tags fall 6 + 6 on 2 masters and
 * 4 + 4 + 4 on 3 (even slot ranges), so no master serves more shards than another
 * (with the default prefix "weft" they fall 8 + 4 and 7 + 3 + 2).
 */
export const SHARDS = 12;
export const PREFIX = "b33";

export interface MasterFigures {
  port: number;
  /** The engine's shards whose hash slot this master serves. */
  shards: number[];
  cpuUsPerNode: number;
  /** CPU time over the repetition's wall time: 1.0 = one core saturated. */
  busy: number;
  commandsPerNode: number;
  memoryPerNode: number;
}

export interface ClusterSample {
  masters: number;
  workload: "a" | "e";
  nodes: number;
  nodesPerSec: number;
  /** Sum over the masters. */
  redisCpuUsPerNode: number;
  commandsPerNode: number;
  memoryPerNode: number;
  /** This process (the worker and the client library) per node. */
  processCpuUsPerNode: number;
  perMaster: MasterFigures[];
}

export interface ClusterReport {
  date: string;
  smoke: boolean;
  reps: number;
  shards: number;
  cpus: number;
  load: { before: number[]; after: number[] };
  durationS: number;
  samples: ClusterSample[];
}

const WORKER = { concurrency: 100, batch: 100, functions: true };

async function once(cluster: RedisClusterProcess, admins: Redis[], shardsOf: number[][], w: Workload): Promise<ClusterSample> {
  await Promise.all(admins.map((a) => a.flushall()));
  const before = await Promise.all(admins.map(snapshot));
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  const run = await runWeft({ connect: () => new TcpRedis({ clusterNodes: cluster.nodes }), shardCount: SHARDS, prefix: PREFIX }, w, WORKER);
  const wallMs = performance.now() - t0;
  const used = process.cpuUsage(cpu);
  const after = await Promise.all(admins.map(snapshot));
  await run.close();
  const nodes = nodeCount(w);
  const perMaster: MasterFigures[] = admins.map((_, i) => {
    const d: CommandStats = diffStats(before[i]!.stats, after[i]!.stats);
    return {
      port: cluster.nodes[i]!.port,
      shards: shardsOf[i]!,
      cpuUsPerNode: ((after[i]!.cpuMs - before[i]!.cpuMs) * 1000) / nodes,
      busy: (after[i]!.cpuMs - before[i]!.cpuMs) / wallMs,
      commandsPerNode: totalCalls(d) / nodes,
      memoryPerNode: Math.max(0, after[i]!.usedMemory - before[i]!.usedMemory) / nodes,
    };
  });
  const sum = (k: keyof MasterFigures) => perMaster.reduce((s, m) => s + (m[k] as number), 0);
  return {
    masters: admins.length,
    workload: w.key as "a" | "e",
    nodes,
    nodesPerSec: nodes / (run.elapsedMs / 1000),
    redisCpuUsPerNode: sum("cpuUsPerNode"),
    commandsPerNode: sum("commandsPerNode"),
    memoryPerNode: sum("memoryPerNode"),
    processCpuUsPerNode: (used.user + used.system) / nodes,
    perMaster,
  };
}

/** Which of the engine's shards each master serves (by the shard's hash tag). */
function shardMap(cluster: RedisClusterProcess): number[][] {
  const keys = keySchema(PREFIX, SHARDS);
  const out = cluster.nodes.map(() => [] as number[]);
  for (let s = 0; s < SHARDS; s++) {
    const port = cluster.masterOf(keys.shard(s).outbox);
    out[cluster.nodes.findIndex((n) => n.port === port)]!.push(s);
  }
  return out;
}

const medianSample = (xs: ClusterSample[]): ClusterSample => {
  const sorted = [...xs].sort((p, q) => p.nodesPerSec - q.nodesPerSec);
  const mid = sorted[Math.floor(sorted.length / 2)]!;
  return { ...mid, nodesPerSec: median(xs.map((x) => x.nodesPerSec)) };
};

export async function benchCluster(o: { smoke: boolean; reps?: number; masters?: number[]; log: (m: string) => void }): Promise<ClusterReport> {
  const started = performance.now();
  const loadBefore = loadavg();
  const reps = o.reps ?? (o.smoke ? 1 : 3);
  const all = workloads(o.smoke ? SMOKE : FULL);
  const chosen = all.filter((w) => w.key === "a" || w.key === "e");
  const samples: ClusterSample[] = [];
  for (const masters of o.masters ?? [1, 2, 3]) {
    const cluster = await startCluster({ masters });
    const admins = cluster.nodes.map((n) => new Redis({ host: n.host, port: n.port }));
    try {
      const shardsOf = shardMap(cluster);
      for (const w of chosen) {
        if (!o.smoke) await once(cluster, admins, shardsOf, w); // warm-up
        const xs: ClusterSample[] = [];
        for (let i = 0; i < reps; i++) {
          xs.push(await once(cluster, admins, shardsOf, w));
          o.log(`(cluster) ${masters} master(s), (${w.key}) rep ${i + 1}/${reps}: ${Math.round(xs[i]!.nodesPerSec)} nodes/s`);
        }
        samples.push(medianSample(xs));
      }
    } finally {
      for (const a of admins) a.disconnect();
      await cluster.stop();
    }
  }
  return {
    date: new Date().toISOString(),
    smoke: o.smoke,
    reps,
    shards: SHARDS,
    cpus: cpus().length,
    load: { before: loadBefore, after: loadavg() },
    durationS: (performance.now() - started) / 1000,
    samples,
  };
}

export const CLUSTER_START = "<!-- cluster:start -->";
export const CLUSTER_END = "<!-- cluster:end -->";

const n0 = (v: number) => Math.round(v).toLocaleString("en-US");
const f2 = (v: number) => v.toFixed(2);

export function renderCluster(r: ClusterReport): string {
  const rows = r.samples.map(
    (s) =>
      `| (${s.workload}) | ${s.masters} | ${n0(s.nodesPerSec)} | ${n0(s.redisCpuUsPerNode)} | ${s.perMaster.map((m) => `${n0(m.cpuUsPerNode)} (${(m.busy * 100).toFixed(0)}%, shards ${m.shards.join(",") || "none"})`).join(" / ")} | ${f2(s.commandsPerNode)} | ${n0(s.memoryPerNode)} | ${n0(s.processCpuUsPerNode)} |`,
  );
  const base = (k: "a" | "e") => r.samples.find((s) => s.workload === k && s.masters === 1)?.nodesPerSec;
  const growth = (["a", "e"] as const)
    .map((k) => {
      const b = base(k);
      const xs = r.samples.filter((s) => s.workload === k);
      return b ? `(${k}) ${xs.map((s) => `${s.masters}: ${(s.nodesPerSec / b).toFixed(2)}x`).join(", ")}` : "";
    })
    .filter(Boolean)
    .join("; ");
  return [
    CLUSTER_START,
    "## Scale-out: Redis Cluster with 1, 2 and 3 masters (bench/cluster.ts)",
    "",
    `Measured ${r.date} (${r.durationS.toFixed(0)} s${r.smoke ? ", smoke sizes" : ""}; load average before ${r.load.before.map(f2).join(" ")}, after ${r.load.after.map(f2).join(" ")}; ${r.cpus} CPUs shared by the masters, the worker and other sessions). ` +
      `Runs spread over ${r.shards} shards by the shard hash tag; one worker process (claim batches of up to 100, completeMany with claimNext, 100 in flight); medians of ${r.reps}${r.smoke ? "" : " after a warm-up"}. ` +
      "Per master: redis-server CPU per node of the workload (INFO cpu used_cpu_user + used_cpu_sys delta), its busy share of the wall time, and the shards it serves.",
    "",
    "| workload | masters | nodes/s | Redis CPU per node, all masters (us) | per master: CPU per node (busy, shards) | Redis commands per node | Redis memory per node (B, at the end) | worker process CPU per node (us) |",
    "| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: |",
    ...rows,
    "",
    `- nodes/s against 1 master: ${growth}.`,
    CLUSTER_END,
  ].join("\n");
}

/** nodes/s per workload and number of masters (a panel of bench/chart.svg). */
export function clusterChart(r: ClusterReport): string {
  return groupedBarChart(
    `Redis Cluster: nodes/s by masters (${r.shards} shards, one worker process, ${r.cpus} CPUs)`,
    "nodes/s",
    (["a", "e"] as const).map((k) => ({
      label: k === "a" ? "(a) one fan-out run" : "(e) 100 concurrent runs",
      values: r.samples.filter((s) => s.workload === k).map((s) => ({ series: `${s.masters} master${s.masters > 1 ? "s" : ""}`, value: s.nodesPerSec })),
    })),
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  // --write: put the section into bench/RESULTS.md (between its markers) instead of printing it.
  const { values } = parseArgs({ options: { smoke: { type: "boolean", default: false }, reps: { type: "string" }, masters: { type: "string" }, write: { type: "boolean", default: false } } });
  const log = (m: string) => process.stderr.write(`${m}\n`);
  runSection(() => benchCluster({ smoke: values.smoke, log, ...(values.reps ? { reps: Number(values.reps) } : {}), ...(values.masters ? { masters: values.masters.split(",").map(Number) } : {}) }), renderCluster, { write: values.write, log });
}
