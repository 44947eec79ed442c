import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient, type WeftClient } from "@weft/client";
import type { RunView } from "@weft/core";
import { WeftSaver, threadIdFor } from "@weft/langgraph";
import { startLocal, type Local } from "../../../functions/local/emulator.js";
import { approvalRun } from "../dag.js";
import { approvalGraph } from "../graph.js";
import { fakeModel } from "../model.js";

const here = dirname(fileURLToPath(import.meta.url));
// tsx as a loader in the worker's own node process: the tsx CLI would run it in a child that SIGKILL does not reach.
const tsx = createRequire(import.meta.url).resolve("tsx");
const WEFT = join(here, "..", "..", "..", "packages", "cli", "bin", "weft.js");
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
  it("drafts once, waits suspended for `weft approve`, survives its worker being SIGKILLed between steps, and finishes from the last checkpoint", async () => {
    const first = startWorker();
    const { dagId } = await weft.submit(approvalRun({ topic: "tide pools", retryBackoffMs: 100 }));
    const thread = { configurable: { thread_id: threadIdFor({ dagId, nodeId: "write" }) } };
    const saver = new WeftSaver({ redis: local.redisUrl });
    const graph = approvalGraph(saver, fakeModel());

    // The draft is written, then interrupt() suspends the node: it waits, no worker holds it.
    const waiting = await until("the node to wait for approval", async () => {
      const n = (await weft.getRun(dagId)).nodes.find((x) => x.id === "write")!;
      return n.status === "waiting" ? n : undefined;
    });
    expect(waiting).toMatchObject({ attempt: 1, wait: { suspended: true } });
    const asked = (await weft.events(dagId, 0)).events.find((e) => e.type === "node.waiting")!.data as { input: { draft: string } };
    expect(asked.input.draft).toMatch(/^tide pools: /);
    expect((await graph.getState(thread)).next).toEqual(["approve"]);
    expect(calls()).toEqual(["start draft", "done draft"]);

    // Kill the worker while the node waits (between the draft and the approval), approve with the CLI.
    first.kill("SIGKILL");
    await until("the first worker to die", () => first.signalCode === "SIGKILL");
    const approved = await promisify(execFile)(process.execPath, [WEFT, "approve", dagId, "write", "--output", '{"approved":true,"note":"ship it"}', "--by", "reviewer", "--api", local.baseUrl]);
    expect(approved.stdout).toMatch(/ready/);

    // A new worker resumes the graph with the decision; kill it while the finishing call runs.
    const second = startWorker();
    await until("the finishing model call", () => calls().includes("start finish"));
    second.kill("SIGKILL");
    await until("the second worker to die", () => second.signalCode === "SIGKILL");
    expect((await graph.getState(thread)).next).toEqual(["finish"]);
    expect(calls()).toEqual(["start draft", "done draft", "start finish"]);

    // Its lease lapses, the node is retried, and a third worker finishes from the approval's checkpoint.
    startWorker();
    const run = await until("the run to end", async () => {
      const r: RunView = await weft.getRun(dagId);
      return r.status === "running" ? undefined : r;
    });
    const node = run.nodes.find((n) => n.id === "write")!;
    expect(run.status, JSON.stringify(node.error)).toBe("succeeded");
    const expected = await fakeModel({ latencyMs: 0 }).generate("finish", `Polish this approved draft on "tide pools": ${asked.input.draft} ship it`);
    expect(node.output).toEqual({ topic: "tide pools", draft: asked.input.draft, approved: true, final: expected });
    // The draft was written once across every attempt; only the finishing call that the kill cut short ran again.
    expect(calls()).toEqual(["start draft", "done draft", "start finish", "start finish", "done finish"]);
    expect(node.attempt).toBe(3);
    await saver.close();
  }, 90_000);
});
