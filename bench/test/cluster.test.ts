import { describe, expect, it } from "vitest";
import { benchCluster, clusterChart, renderCluster, SHARDS } from "../cluster.js";
import { stackCharts } from "../chart.js";

describe("bench/cluster.ts: fan-out and concurrent runs on a Redis Cluster", () => {
  it("runs (a) and (e) on 1 and 2 masters, the shards split evenly, CPU and commands counted per master", async () => {
    const r = await benchCluster({ smoke: true, masters: [1, 2], log: () => {} });
    expect(r.samples.map((s) => `${s.workload}${s.masters}`)).toEqual(["a1", "e1", "a2", "e2"]);
    for (const s of r.samples) {
      expect(s.nodesPerSec).toBeGreaterThan(0);
      expect(s.perMaster).toHaveLength(s.masters);
      // Every shard on exactly one master, as many on each.
      expect(s.perMaster.flatMap((m) => m.shards).sort((p, q) => p - q)).toEqual([...Array(SHARDS).keys()]);
      expect(new Set(s.perMaster.map((m) => m.shards.length)).size).toBe(1);
      expect(s.commandsPerNode).toBeGreaterThan(1);
      expect(s.redisCpuUsPerNode).toBeGreaterThan(0);
    }
    // (e)'s 10 runs land on both masters: each ran part of the commands.
    const e2 = r.samples.find((s) => s.workload === "e" && s.masters === 2)!;
    for (const m of e2.perMaster) expect(m.commandsPerNode).toBeGreaterThan(0);
    expect(renderCluster(r)).toMatch(/^<!-- cluster:start -->[\s\S]*\| \(e\) \| 2 \|[\s\S]*<!-- cluster:end -->$/);
    const svg = stackCharts([clusterChart(r), clusterChart(r)]);
    expect(svg.match(/<svg /g)).toHaveLength(3);
  });
});
