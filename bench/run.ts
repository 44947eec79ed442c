/**
 * `npm run bench` - Weft vs BullMQ flows on one fresh redis-server, plus the EVALSHA ceiling.
 * Writes bench/RESULTS.md and bench/chart.svg. `--smoke`: every workload once, small, no
 * warm-up, prints a summary and writes nothing (CI). Options: --reps N, --only a,b,grow,savers,api,streams,dashboard,cluster (prints
 * the report instead of writing it), --concurrency N, --batch N, --no-profile, --eval (Weft's
 * scripts by EVALSHA instead of Redis Functions).
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createRequire } from "node:module";
import { Redis } from "ioredis";
import { startRedis } from "@weft/test-support";
import { runBullmq } from "./bullmq-runner.js";
import { measureCeiling, type Ceiling } from "./ceiling.js";
import { groupedBarChart, stackCharts } from "./chart.js";
import { measure, type Sample } from "./measure.js";
import { scriptCosts } from "./profile.js";
import { countClientRequests, parseInfo } from "./redis-info.js";
import { goals, renderMarkdown, summarize, type BenchReport, type Machine, type WorkloadResult } from "./report.js";
import { benchSavers, renderSavers } from "./savers.js";
import { keepSections } from "./sections.js";
import { growWorkload } from "./grow.js";
import { apiChart, benchApi, renderApi, type ApiReport } from "./api.js";
import { benchStreams, renderStreams } from "./streams.js";
import { benchDashboard, renderDashboard } from "./dashboard.js";
import { benchCluster, clusterChart, renderCluster, type ClusterReport } from "./cluster.js";
import { runWeft, type WorkerOptions } from "./weft-runner.js";
import { FULL, SMOKE, nodeCount, workloads, type Workload } from "./workloads.js";

const here = dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    smoke: { type: "boolean", default: false },
    reps: { type: "string" },
    only: { type: "string" },
    concurrency: { type: "string", default: "100" },
    batch: { type: "string", default: "100" },
    "no-profile": { type: "boolean", default: false },
    eval: { type: "boolean", default: false },
  },
});

const smoke = args.smoke;
const reps = Number(args.reps ?? (smoke ? 1 : 5));
const worker: WorkerOptions = { concurrency: Number(args.concurrency), batch: Number(args.batch), functions: !args.eval };
const only = args.only?.split(",");
const selected = workloads(smoke ? SMOKE : FULL).filter((w) => !only || only.includes(w.key));
const log = (msg: string) => process.stderr.write(`${msg}\n`);

function machine(redisVersion: string, loadBefore: number[]): Machine {
  const require = createRequire(import.meta.url);
  const version = (pkg: string) => (require(`${pkg}/package.json`) as { version: string }).version;
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? "unknown",
    memGb: totalmem() / 2 ** 30,
    node: process.version,
    redis: redisVersion,
    bullmq: version("bullmq"),
    ioredis: version("ioredis"),
    loadBefore,
    loadAfter: loadavg(),
  };
}

async function main(): Promise<void> {
  const started = performance.now();
  const loadBefore = loadavg();
  countClientRequests();
  const server = await startRedis();
  const admin = new Redis({ port: server.port });
  try {
    const redisVersion = parseInfo(await admin.info("server")).get("redis_version") ?? "unknown";
    const ceilingCalls = smoke ? 20_000 : 200_000;
    const ceilings: Ceiling[] = [await measureCeiling(server.port, ceilingCalls)];
    log(`ceiling: ${JSON.stringify(ceilings[0])}`);

    const results: WorkloadResult[] = [];
    for (const w of selected) results.push(await runWorkload(admin, server.url, server.port, w));
    const grow = !only || only.includes("grow") ? await growWorkload(server.url, smoke ? 200 : 10_000, reps, !smoke, log) : undefined;

    ceilings.push(await measureCeiling(server.port, ceilingCalls));
    log(`ceiling: ${JSON.stringify(ceilings[1])}`);
    const report: BenchReport = {
      date: new Date().toISOString(),
      durationS: (performance.now() - started) / 1000,
      machine: machine(redisVersion, loadBefore),
      settings: { reps, warmup: !smoke, ...worker },
      ceilings,
      workloads: results,
      ...(grow ? { grow } : {}),
    };
    // A smoke run's workloads are 50x smaller and unwarmed: its figures keep the bench from
    // rotting, they do not judge the goals (the full run in bench/RESULTS.md does).
    if (smoke) log("smoke sizes (fan-out of 200, chain of 50, no warm-up): the figures below are not the goals' measurements");
    for (const g of goals(report)) log(`${smoke ? "smoke " : g.met ? "met   " : "MISSED"} ${g.issue} ${g.goal}: ${g.measured}`);
    // LangGraph checkpointers (M12), its own section of RESULTS.md.
    const savers = !only || only.includes("savers") ? renderSavers(await benchSavers({ smoke, log })) : undefined;
    // Through the API (issue 18): ms per hop and the bill per node, its own section too.
    const apiReport: ApiReport | undefined = !only || only.includes("api") ? await benchApi({ smoke, log }) : undefined;
    const api = apiReport ? renderApi(apiReport) : undefined;
    // Scale-out (issue 18): (a) and (e) on a Redis Cluster of 1, 2 and 3 masters, its own section.
    const clusterReport: ClusterReport | undefined = !only || only.includes("cluster") ? await benchCluster({ smoke, log }) : undefined;
    const cluster = clusterReport ? renderCluster(clusterReport) : undefined;
    // The live stream (issue 14): SSE latency with 100 clients (10 in the smoke), its own section.
    const streams = !only || only.includes("streams") ? renderStreams(await benchStreams({ smoke, log })) : undefined;
    // The dashboard on a 5,000-node run in Chromium (issue 14; 200 nodes in the smoke), its own section.
    const dashboard = !only || only.includes("dashboard") ? renderDashboard(await benchDashboard({ smoke, log })) : undefined;
    // A smoke or a partial run (--only) prints its tables and leaves RESULTS.md alone.
    if (smoke || only) {
      if (savers) process.stdout.write(`${savers}\n`);
      if (api) process.stdout.write(`${api}\n`);
      if (streams) process.stdout.write(`${streams}\n`);
      if (dashboard) process.stdout.write(`${dashboard}\n`);
      if (cluster) process.stdout.write(`${cluster}\n`);
      if (!smoke) process.stdout.write(renderMarkdown(report, "chart.svg"));
      return;
    }
    const notes = join(here, "notes.md");
    if (existsSync(notes)) report.notes = readFileSync(notes, "utf8");
    const engines = groupedBarChart(
      "nodes/s per workload (median, higher is better)",
      "nodes/s",
      results.map((r) => ({
        label: `(${r.key}) ${r.nodes.toLocaleString("en-US")} nodes`,
        values: [
          { series: "Weft", value: r.weft.median.nodesPerSec },
          { series: "BullMQ flows", value: r.bullmq.median.nodesPerSec },
        ],
      })),
    );
    writeFileSync(join(here, "chart.svg"), stackCharts([engines, ...(clusterReport ? [clusterChart(clusterReport)] : []), ...(apiReport ? [apiChart(apiReport)] : [])]));
    const previous = existsSync(join(here, "RESULTS.md")) ? readFileSync(join(here, "RESULTS.md"), "utf8") : "";
    // Every marked section survives a full run: the ones measured now replace theirs, the
    // hand-written ones and those of benchmarks not run are kept as they were (bench/sections.ts).
    const doc = keepSections(renderMarkdown(report, "chart.svg"), previous, [savers, api, streams, dashboard, cluster]);
    writeFileSync(join(here, "RESULTS.md"), doc);
    log("wrote bench/RESULTS.md and bench/chart.svg");
  } finally {
    admin.disconnect();
    await server.stop();
  }
}

async function runWorkload(admin: Redis, url: string, port: number, w: Workload): Promise<WorkloadResult> {
  const nodes = nodeCount(w);
  const weft = () => measure(admin, nodes, () => runWeft(url, w, worker));
  const bull = () => measure(admin, nodes, () => runBullmq(port, w, worker));
  if (!smoke) {
    await weft();
    await bull();
  }
  const ws: Sample[] = [];
  const bs: Sample[] = [];
  // Interleaved, so drifting background load hits both engines alike.
  for (let i = 0; i < reps; i++) {
    ws.push(await weft());
    bs.push(await bull());
    log(`(${w.key}) rep ${i + 1}/${reps}: weft ${Math.round(ws[i]!.nodesPerSec)} nodes/s, bullmq ${Math.round(bs[i]!.nodesPerSec)} nodes/s`);
  }
  const res: WorkloadResult = { key: w.key, title: w.title, nodes, bullmqNote: w.bullmqNote, weft: summarize(ws), bullmq: summarize(bs) };
  if (!smoke && !args["no-profile"]) {
    await admin.flushall();
    res.scripts = await scriptCosts(admin, async () => void (await (await runWeft(url, w, worker)).close()), Math.min(nodes * 25, 300_000));
  }
  return res;
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
