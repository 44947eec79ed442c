import { describe, expect, it } from "vitest";
import { benchDashboard, layeredSpec, renderDashboard } from "../dashboard.js";

describe("bench/dashboard.ts: a run in Chromium against the local emulation", () => {
  it("builds a layered run of the size asked, each node past the first layer on distinct parents of the layer before", () => {
    const spec = layeredSpec(250, 50, 2);
    expect(spec).toHaveLength(250);
    expect(new Set(spec.map((n) => n.id)).size).toBe(250);
    for (const n of spec.slice(50)) {
      const layer = Number(n.id.slice(1, n.id.indexOf("n")));
      expect(new Set(n.deps).size).toBe(2);
      for (const d of n.deps!) expect(d.startsWith(`l${layer - 1}n`)).toBe(true);
    }
  });

  it("measures the first render and the long tasks while a worker completes every node", async () => {
    const r = await benchDashboard({ smoke: true, nodes: 120, reps: 1, log: () => {} });
    expect(r.firstRender).toHaveLength(1);
    expect(r.firstRenderMedian).toBeGreaterThan(r.runLoadedMs);
    expect(r.layoutMs).toBeGreaterThan(0);
    expect(r.renderedNodes).toBeGreaterThan(0);
    // Every node's events reached the page: submitted, 120 ready / started / succeeded, the run's end.
    expect(r.events).toBeGreaterThanOrEqual(1 + 120 * 3 + 1);
    expect(r.finishedEvents).toBe(r.events);
    expect(r.liveLongestTask).toBeGreaterThanOrEqual(0);
    expect(r.zoomOutNodes).toBeGreaterThan(0);
    expect(renderDashboard(r)).toMatch(/^<!-- dashboard:start -->[\s\S]*a 120-node run in Chromium[\s\S]*<!-- dashboard:end -->$/);
  }, 180_000);
});
