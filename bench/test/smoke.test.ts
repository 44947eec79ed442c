import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runBullmq } from "../bullmq-runner.js";
import { parseRedisBenchmark } from "../ceiling.js";
import { groupedBarChart } from "../chart.js";
import { measure } from "../measure.js";
import { countClientRequests, diffStats, parseCommandStats, totalCalls } from "../redis-info.js";
import { median, percentile } from "../stats.js";
import { runWeft } from "../weft-runner.js";
import { chain, closestForest, fanOutIn, layered, nodeCount, workloads, SMOKE, type TreeNode } from "../workloads.js";
import { startRedis, type RedisProcess } from "@weft/test-support";

const flatten = (roots: TreeNode[]): string[] => roots.flatMap((r) => [r.id, ...flatten(r.children)]);
const depth = (n: TreeNode): number => 1 + Math.max(0, ...n.children.map(depth));

describe("bench workloads", () => {
  it("the closest BullMQ forest holds every node once and keeps one edge per node that has dependents", () => {
    const dag = layered(6, 20, 3, 7);
    const forest = closestForest(dag);
    expect(flatten(forest.roots).sort()).toEqual(dag.map((n) => n.id).sort());
    const withDependents = new Set(dag.flatMap((n) => n.deps));
    expect(forest.keptEdges).toBe(withDependents.size);
    expect(forest.totalEdges).toBe(5 * 20 * 3);
  });

  it("a chain stays a chain and a fan-out/fan-in becomes the sink over the middle nodes", () => {
    const c = closestForest(chain(50));
    expect(c.roots.map((r) => r.id)).toEqual(["c49"]);
    expect(depth(c.roots[0]!)).toBe(50);
    const f = closestForest(fanOutIn(10));
    expect(f.roots.map((r) => r.id)).toEqual(["sink"]);
    expect(f.roots[0]!.children).toHaveLength(10);
    expect(f.roots[0]!.children.find((m) => m.id === "m0")!.children.map((s) => s.id)).toEqual(["src"]);
  });

  it("layered DAGs are reproducible and every node past the first layer has distinct deps in the previous layer", () => {
    const a = layered(4, 10, 3, 1);
    expect(layered(4, 10, 3, 1)).toEqual(a);
    for (const n of a.filter((x) => !x.id.startsWith("l0n"))) {
      const layer = Number(n.id.slice(1, n.id.indexOf("n")));
      expect(new Set(n.deps).size).toBe(3);
      for (const d of n.deps) expect(d.startsWith(`l${layer - 1}n`)).toBe(true);
    }
  });
});

describe("bench measurement helpers", () => {
  it("percentiles are nearest-rank and the median averages the middle pair", () => {
    const v = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(v, 50)).toBe(50);
    expect(percentile(v, 99)).toBe(99);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it("commandstats deltas count script and inner commands but not the harness's", () => {
    const before = parseCommandStats("# Commandstats\r\ncmdstat_evalsha:calls=2,usec=10,usec_per_call=5.00\r\ncmdstat_info:calls=1,usec=3");
    const after = parseCommandStats(
      "cmdstat_evalsha:calls=5,usec=40,usec_per_call=8.00\r\ncmdstat_hset:calls=9,usec=9\r\ncmdstat_info:calls=4,usec=20\r\ncmdstat_config|set:calls=2,usec=1",
    );
    const d = diffStats(before, after);
    expect(d.evalsha).toEqual({ calls: 3, usec: 30 });
    expect(totalCalls(d)).toBe(12);
  });

  it("reads the requests per second redis-benchmark printed last", () => {
    expect(parseRedisBenchmark("EVALSHA x 0: rps=1.0\rEVALSHA abc 0: 123456.79 requests per second, p50=0.1 msec\n")).toBe(123456.79);
    expect(parseRedisBenchmark("error")).toBeUndefined();
  });

  it("draws one bar per engine and workload", () => {
    const svg = groupedBarChart("t", "nodes/s", [
      { label: "(a)", values: [{ series: "Weft", value: 10 }, { series: "BullMQ", value: 5 }] },
      { label: "(b)", values: [{ series: "Weft", value: 3 }, { series: "BullMQ", value: 1 }] },
    ]);
    expect(svg.startsWith("<svg")).toBe(true);
    // 4 bars + 2 legend swatches + the background.
    expect(svg.match(/<rect /g)).toHaveLength(7);
  });
});

describe("bench runners against a real redis-server", () => {
  let server: RedisProcess;
  let admin: Redis;
  const worker = { concurrency: 20, batch: 20 };
  const [, , , retry, many] = workloads({ ...SMOKE, retryWidth: 60, runs: 4, runWidth: 8 });

  beforeAll(async () => {
    countClientRequests();
    server = await startRedis();
    admin = new Redis({ port: server.port });
  });
  afterAll(async () => {
    admin?.disconnect();
    await server?.stop();
  });

  it("Weft runs every node of many concurrent runs once, batching completions below one request per node", async () => {
    const s = await measure(admin, nodeCount(many!), () => runWeft(server.url, many!, worker));
    expect(s.attempts).toBe(40);
    expect(s.requestsPerNode).toBeLessThan(1);
    expect(s.scriptsPerNode).toBeCloseTo(s.requestsPerNode, 5);
    expect(s.commandsPerNode).toBeGreaterThan(s.scriptsPerNode);
    expect(s.memoryPerNode).toBeGreaterThan(0);
    expect(s.latencyP99).toBeGreaterThanOrEqual(s.latencyP50);
  });

  it("both engines retry the nodes that fail once and finish the workload", async () => {
    const nodes = nodeCount(retry!);
    const w = await measure(admin, nodes, () => runWeft(server.url, retry!, worker));
    const b = await measure(admin, nodes, () => runBullmq(server.port, retry!, worker));
    expect(retry!.failOnce.size).toBe(3);
    expect(w.attempts).toBe(nodes + 3);
    expect(b.attempts).toBe(nodes + 3);
    expect(b.scriptsPerNode).toBeGreaterThan(0);
  });
});
