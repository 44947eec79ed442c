import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { worker, type WeftClient } from "@weft/client";
import { agents } from "../agents.js";
import { expectPublished, runPipeline, startEmulator } from "./pipeline.js";

/**
 * The example pipeline in pull mode: the same agents in a long-running worker() that
 * claims from the API. The emulator delivers no example subscriptions here, so nothing
 * else competes for the nodes (the archive subscription stays).
 */
let weft: WeftClient;
let stop: () => Promise<void>;
let w: ReturnType<typeof worker> | undefined;

beforeAll(async () => {
  const emulator = await startEmulator({ subscriptions: (s) => !s.example });
  ({ weft, stop } = emulator);
  w = worker({ agents, concurrency: 4, leaseMs: 10_000, pollMs: 50, workerId: "pull-test", baseUrl: emulator.local.baseUrl, log: () => {} });
});
afterAll(async () => {
  await w?.close();
  await stop?.();
});

describe("research pipeline, pull mode (worker())", () => {
  it("runs plan -> research x n -> draft -> fact-check -> revise -> fact-check-2 -> edit -> approval -> publish to success, retrying the rate-limited researcher", async () => {
    const run = await runPipeline(weft, "home battery storage in the EU");
    await expectPublished(weft, run);
    // Every attempt was this worker's: nothing else serves these agents here (the approval is a
    // wait node: a signal ended it, no agent ran it).
    const worked = run.nodes.filter((n) => n.agent).length;
    expect(worked).toBe(run.nodes.length - 1);
    const started = (await weft.events(run.dagId, 0, 1000)).events.filter((e) => e.type === "node.started");
    expect(started).toHaveLength(worked + 1);
    expect(new Set(started.map((e) => e.actor))).toEqual(new Set(["pull-test"]));
    expect(w!.stats()).toMatchObject({ completed: worked, failed: 1, lost: 0 });
  });
});
