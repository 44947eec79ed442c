import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { WeftClient } from "@weft/client";
import { runExample } from "../../../functions/local/example.js";
import { articleKey } from "../dag.js";
import { expectPublished, runPipeline, startEmulator } from "./pipeline.js";

/**
 * The example pipeline in push mode, as `npm start` and AWS run it: NodeReady events go
 * through infra/subscriptions.ts to examples/research-pipeline/push.handler (delivered
 * in-process), which claims, runs and completes each node through the SDK.
 */
let weft: WeftClient;
let stop: () => Promise<void>;
let baseUrl: string;

beforeAll(async () => {
  let local;
  ({ weft, stop, local } = await startEmulator());
  baseUrl = local.baseUrl;
});
afterAll(async () => {
  await stop?.();
});

describe("research pipeline, push mode (the example's Lambda on NodeReady)", () => {
  it("runs plan -> research x n -> draft -> fact-check -> revise -> fact-check-2 -> edit -> approval -> publish to success, retrying the rate-limited researcher", async () => {
    const run = await runPipeline(weft, "home battery storage in the EU");
    const article = await expectPublished(weft, run);
    expect(article.topic).toBe("home battery storage in the EU");
    expect(article.body).toContain("home battery storage in the EU");
  });

  it("plans the same research for the same topic, and files each run's article under it (the fake model is deterministic)", async () => {
    const firstRun = await runPipeline(weft, "heat pumps in cold climates");
    const first = await expectPublished(weft, firstRun);
    const againRun = await runPipeline(weft, "heat pumps in cold climates");
    const again = await expectPublished(weft, againRun);
    const plan = (r: typeof firstRun) => r.nodes.find((n) => n.id === "plan")?.output;
    expect(plan(againRun)).toEqual(plan(firstRun));
    // The draft joins the first two thirds of the researchers to finish, so its text may
    // differ from run to run; its topic and title do not.
    expect({ ...again, body: "", references: [], words: 0 }).toEqual({ ...first, body: "", references: [], words: 0 });
    // Filed under the topic: the second run replaced the first.
    const entry = await weft.state.get({ namespace: "articles", key: articleKey("heat pumps in cold climates") });
    expect(entry?.version).toBe(2);
    const other = await expectPublished(weft, await runPipeline(weft, "offshore wind in the North Sea"));
    expect(other.body).not.toEqual(first.body);
  });

  it("npm start's example waits for the editor, prints how a person approves, and approves by itself through the signal URL", async () => {
    const printed: string[] = [];
    const log = vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => void printed.push(a.join(" ")));
    let status: string;
    try {
      status = await runExample({ baseUrl, topic: "tidal lagoons", approveAfterMs: 20 });
    } finally {
      log.mockRestore();
    }
    expect(status).toBe("succeeded");
    const text = printed.join("\n");
    const dagId = /weft approve (dag_\w+) approve/.exec(text)?.[1];
    expect(dagId, text).toBeDefined();
    const url = new RegExp(`approved by npm start through the signal URL (${baseUrl}/v1/signals/\\S+)`).exec(text)?.[1];
    expect(url, text).toBeDefined();
    const run = await weft.getRun(dagId!);
    expect(run.nodes.find((n) => n.id === "approve")).toMatchObject({ status: "succeeded", signal: { via: "url" } });
    // The URL was single use.
    await expect(weft.signalUrl(url!, { output: 1 })).rejects.toThrow("no such signal");
  });
});
