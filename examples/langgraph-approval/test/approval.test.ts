import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient, type WeftClient } from "@weft/client";
import type { RunView } from "@weft/core";
import { WeftSaver, threadIdFor } from "@weft/langgraph";
import { startLocal, type Local } from "../../../functions/local/emulator.js";
import { APPROVAL_KEY } from "../agents.js";
import { approvalRun } from "../dag.js";
import { approvalGraph } from "../graph.js";
import { fakeModel } from "../model.js";

const here = dirname(fileURLToPath(import.meta.url));
// tsx as a loader in the worker's own node process: the tsx CLI would run it in a child that SIGKILL does not reach.
const tsx = createRequire(import.meta.url).resolve("tsx");
const dir = mkdtempSync(join(tmpdir(), "weft-lg-approval-"));
const modelLog = join(dir, "model.log");
let local: Local;
let weft: WeftClient;
const workers: ChildProcess[] = [];

/** The example's worker as its own process (so it can be SIGKILLed), with a short lease. */
function startWorker(): ChildProcess {
  const child = spawn(process.execPath, ["--import", tsx, join(here, "..", "worker.ts")], {
    env: { ...process.env, WEFT_API_URL: local.baseUrl, REDIS_URL: local.redisUrl, WEFT_LEASE_MS: "1500", WEFT_POLL_MS: "50", WEFT_FAKE_LATENCY_MS: "400", WEFT_MODEL_LOG: modelLog },
    stdio: "ignore",
  });
  workers.push(child);
  return child;
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
const calls = () => (existsSync(modelLog) ? readFileSync(modelLog, "utf8").trim().split("\n") : []);

beforeAll(async () => {
  process.env.REDIS_URL = "";
  process.env.DYNAMODB_ENDPOINT = "";
  delete process.env.WEFT_API_KEYS;
  local = await startLocal({ port: 0, dataDir: join(dir, "data"), reconcileMs: 200, log: () => {}, subscriptions: (s) => !s.example });
  weft = createClient({ baseUrl: local.baseUrl });
});
afterAll(async () => {
  for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill("SIGKILL");
  await local?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("examples/langgraph-approval: a LangGraph agent as a Weft node", () => {
  it("waits for approval without redrafting, survives its worker being SIGKILLed between steps, and resumes from the last checkpoint", async () => {
    const first = startWorker();
    const { dagId } = await weft.submit(approvalRun({ topic: "tide pools", retryBackoffMs: 100 }));
    const thread = { configurable: { thread_id: threadIdFor({ dagId, nodeId: "write" }) } };
    const saver = new WeftSaver({ redis: local.redisUrl });
    const graph = approvalGraph(saver, fakeModel());

    // No decision yet: the graph stops at interrupt() and the attempt is retried, from the checkpoint.
    await until("a retry while waiting for approval", async () => (await weft.events(dagId, 0)).events.find((e) => e.type === "node.retrying"));
    expect((await graph.getState(thread)).next).toEqual(["approve"]);
    await weft.state.create({ dagId, key: APPROVAL_KEY }, { approved: true, note: "ship it" });

    // Kill the worker while the finishing call runs: after the approval's checkpoint, before the last one.
    await until("the finishing model call", () => calls().includes("start finish"));
    first.kill("SIGKILL");
    await until("the worker to die", () => first.signalCode === "SIGKILL");
    expect((await graph.getState(thread)).next).toEqual(["finish"]);
    expect(calls()).toEqual(["start draft", "done draft", "start finish"]);

    startWorker();
    const run = await until("the run to end", async () => {
      const r: RunView = await weft.getRun(dagId);
      return r.status === "running" ? undefined : r;
    });
    const node = run.nodes.find((n) => n.id === "write")!;
    expect(run.status, JSON.stringify(node.error)).toBe("succeeded");
    const expected = await fakeModel({ latencyMs: 0 }).generate("finish", `Polish this approved draft on "tide pools": ${(node.output as { draft: string }).draft} ship it`);
    expect(node.output).toMatchObject({ topic: "tide pools", approved: true, final: expected });
    // The draft was written once across every attempt; only the finishing call that the kill cut short ran again.
    expect(calls()).toEqual(["start draft", "done draft", "start finish", "start finish", "done finish"]);
    expect(node.attempt).toBeGreaterThanOrEqual(3);
    await saver.close();
  }, 60_000);
});
