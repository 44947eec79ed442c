import { describe, expect, it } from "vitest";
import { benchStreams, renderStreams } from "../streams.js";

describe("bench/streams.ts: concurrent SSE streams of one run through the local emulation", () => {
  it("delivers every node's completion to every client, measures its latency, and sees no Redis polling while idle", async () => {
    const r = await benchStreams({ smoke: true, clients: 6, nodes: 5, log: () => {} });
    expect(r.missing).toBe(0);
    expect(r.samples).toBe(6 * 5);
    expect(r.p50).toBeGreaterThanOrEqual(0);
    expect(r.p99).toBeGreaterThanOrEqual(r.p95);
    expect(r.sendP95).toBeGreaterThan(0);
    // Idle streams: the shared reader sits in one blocked XREAD, nothing completes.
    expect(r.idleXreadsPerS).toBeLessThan(1);
    expect(renderStreams(r)).toMatch(/^<!-- streams:start -->[\s\S]*6 concurrent SSE clients[\s\S]*<!-- streams:end -->$/);
  }, 120_000);
});
