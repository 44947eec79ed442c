import { execFile, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient, type WeftClient } from "@weft/client";
import type { RunEvent, RunView } from "@weft/core";
import { startLocal, type Local } from "../../../functions/local/emulator.js";

/**
 * The `weft` CLI end to end: each command runs as its own process (`node bin/weft.js`)
 * against the local emulation (real Redis, dynalite, the HTTP handlers), and its --json
 * output and exit code are checked. Agent names carry a random suffix so no other worker
 * on the machine claims these nodes.
 */

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../../..");
const BIN = join(ROOT, "packages/cli/bin/weft.js");
const FIXTURE = join(ROOT, "packages/cli/test/fixtures/agents.ts");

let local: Local;
let api: WeftClient;
let dir: string;
const tag = Math.random().toString(36).slice(2, 8);
const agent = (name: string) => `cli-${name}-${tag}`;

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `weft <args> --api <local> --json` and waits for it to exit. */
function weft(args: string[], o: { input?: string; json?: boolean } = {}): Promise<Result> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [BIN, ...args, "--api", local.baseUrl, ...(o.json === false ? [] : ["--json"])],
      { cwd: ROOT, env: { ...process.env, NO_COLOR: "1" } },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr }),
    );
    if (o.input !== undefined) child.stdin!.end(o.input);
  });
}
const json = <T = Record<string, unknown>>(r: Result): T => JSON.parse(r.stdout) as T;
const err = (r: Result) => json<{ error: { code: string; message: string; field?: string; details?: unknown } }>(r).error;
const lines = (r: Result) => r.stdout.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const chain = (a: string, b: string) => ({
  nodes: [
    { id: "first", agent: a, input: { n: 1 } },
    { id: "second", agent: b, deps: ["first"] },
  ],
});

/** Plays both nodes' workers: claims and completes (or fails for good) each in turn. */
async function drive(a: string, b: string, o: { failSecond?: boolean } = {}) {
  for (const name of [a, b]) {
    let task;
    for (let i = 0; i < 100 && !task; i++) {
      [task] = await api.claim(name, { max: 1, leaseMs: 10_000 });
      if (!task) await new Promise((r) => setTimeout(r, 50));
    }
    if (!task) throw new Error(`nothing to claim for ${name}`);
    await new Promise((r) => setTimeout(r, 250));
    if (o.failSecond && name === b) await api.fail(task, { message: "boom" }, { retryable: false });
    else await api.complete(task, { by: name });
  }
}

beforeAll(async () => {
  process.env.REDIS_URL = "";
  process.env.DYNAMODB_ENDPOINT = "";
  dir = mkdtempSync(join(tmpdir(), "weft-cli-"));
  local = await startLocal({ port: 0, dataDir: dir, reconcileMs: 200, subscriptions: () => false, log: () => {} });
  api = createClient({ baseUrl: local.baseUrl, ...(local.apiKey ? { apiKey: local.apiKey } : {}) });
});

afterAll(async () => {
  await local?.stop();
});

describe("weft CLI", () => {
  it("submits JSON and YAML files and stdin; the same idempotency key gives the same run", async () => {
    const spec = chain(agent("a"), agent("b"));
    const jsonFile = file("dag.json", JSON.stringify(spec));
    const yamlFile = file(
      "dag.yaml",
      `onFailure: continue\nnodes:\n  - id: first\n    agent: ${agent("a")}\n  - id: second\n    agent: ${agent("b")}\n    deps: [first]\n`,
    );
    const [fromJson, fromYaml, again, fromStdin, plain] = await Promise.all([
      weft(["submit", jsonFile]),
      weft(["submit", yamlFile, "--idempotency-key", `k-${tag}`]),
      weft(["submit", yamlFile, "--idempotency-key", `k-${tag}`]),
      weft(["submit", "-"], { input: JSON.stringify(spec) }),
      weft(["submit", jsonFile], { json: false }),
    ]);
    for (const r of [fromJson, fromYaml, again, fromStdin, plain]) expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(json(fromJson)).toMatchObject({ status: "running", ready: ["first"], created: true });
    expect(json(fromYaml).dagId).toBe(json(again).dagId);
    expect([json(fromYaml).created, json(again).created].sort()).toEqual([false, true]);
    expect(json(fromStdin).created).toBe(true);
    expect(plain.stdout).toMatch(/^dag_\w+\n$/);
  });

  it("refuses a bad DAG, a bad file and bad usage with exit 2, naming the field", async () => {
    const badDag = file("bad.json", JSON.stringify({ nodes: [{ id: "a", agent: "x", deps: ["ghost"] }] }));
    const badYaml = file("bad.yaml", "nodes: [unclosed\n");
    const [dag, dagPlain, yaml, missing, usage] = await Promise.all([
      weft(["submit", badDag]),
      weft(["submit", badDag], { json: false }),
      weft(["submit", badYaml]),
      weft(["submit", join(dir, "nope.json")]),
      weft(["events", "dag_x", "--after", "-3"]),
    ]);
    expect(dag.code).toBe(2);
    expect(err(dag)).toMatchObject({ code: "validation", field: "nodes[0].deps[0]" });
    expect(dagPlain.code).toBe(2);
    expect(dagPlain.stderr).toMatch(/^error: .*ghost.* \(field: nodes\[0\]\.deps\[0\]\)\n$/);
    expect([yaml.code, err(yaml)]).toMatchObject([2, { code: "usage", message: expect.stringContaining("not valid YAML") }]);
    expect([missing.code, err(missing)]).toMatchObject([2, { code: "usage", message: expect.stringContaining("ENOENT") }]);
    expect([usage.code, err(usage).code]).toEqual([2, "usage"]);
  });

  it("shows status, events, history and the run list; cancel makes status exit 1; redrive runs it again", async () => {
    const { dagId } = await api.submit(chain(agent("c"), agent("d")));
    const [status, events, after] = await Promise.all([weft(["status", dagId]), weft(["events", dagId]), weft(["events", dagId, "--after", "1"])]);
    expect(status.code).toBe(0);
    expect(json<RunView>(status)).toMatchObject({ dagId, status: "running", nodes: [{ id: "first", status: "ready" }, { id: "second", status: "pending" }] });
    expect(json<{ events: RunEvent[]; cursor: number }>(events).events.map((e) => e.type)).toEqual(["run.submitted", "node.ready"]);
    expect(json(events).cursor).toBe(2);
    expect(json<{ events: RunEvent[] }>(after).events.map((e) => e.seq)).toEqual([2]);

    const cancel = await weft(["cancel", dagId]);
    expect([cancel.code, json(cancel)]).toEqual([0, { status: "cancelled", changed: true }]);
    const cancelled = await weft(["status", dagId]);
    expect([cancelled.code, json<RunView>(cancelled).status]).toEqual([1, "cancelled"]);

    const redrive = await weft(["redrive", dagId]);
    expect(redrive.code).toBe(0);
    expect(json(redrive)).toEqual({ status: "running", reset: ["first", "second"], ready: ["first"] });
    const [running, missing, history, list] = await Promise.all([
      weft(["status", dagId]),
      weft(["status", "dag_doesnotexist"]),
      weft(["history", dagId, "--at", "2"]),
      weft(["list", "--limit", "100"]),
    ]);
    expect(json(history)).toMatchObject({ dagId, seq: 2, status: "running", nodes: [{ id: "first", status: "ready" }, { id: "second", status: "pending" }] });
    expect(json<{ runs: { dagId: string }[] }>(list).runs.map((r) => r.dagId)).toContain(dagId);
    expect([running.code, json<RunView>(running).status]).toEqual([0, "running"]);
    expect([missing.code, err(missing).code]).toEqual([1, "not_found"]);
  });

  it("shows the scaling signals per agent and of one agent; a bad agent name exits 2 naming the field", async () => {
    const [x, y] = [agent("sx"), agent("sy")];
    await api.submit({ nodes: [{ id: "a", agent: x }, { id: "b", agent: x }, { id: "c", agent: y }] });
    const [claimed] = await api.claim(y, { max: 1, leaseMs: 5_000 });
    expect(claimed).toBeDefined();
    const [all, one, table, none, bad] = await Promise.all([
      weft(["agents", "--within", "10000"]),
      weft(["agents", x]),
      weft(["agents"], { json: false }),
      weft(["agents", agent("nobody")]),
      weft(["agents", "no spaces"]),
    ]);
    for (const r of [all, one, table, none]) expect(r.code, r.stderr + r.stdout).toBe(0);
    const rows = json<{ withinMs: number; agents: { agent: string }[] }>(all);
    expect(rows.withinMs).toBe(10_000);
    expect(rows.agents.filter((a) => a.agent === x || a.agent === y)).toMatchObject([
      { agent: x, ready: 2, running: 0, leasesExpiringSoon: 0 },
      { agent: y, ready: 0, running: 1, leasesExpiringSoon: 1, oldestReadyAt: null },
    ]);
    expect(json(one)).toMatchObject({ agent: x, ready: 2, running: 0, withinMs: 30_000 });
    expect(json(none)).toMatchObject({ agent: agent("nobody"), ready: 0, running: 0 });
    expect(table.stdout.split("\n")[0]).toMatch(/^agent\s+ready\s+oldest ready\s+running\s+expiring <30s$/);
    expect(table.stdout).toMatch(new RegExp(`^${x}\\s+2\\s+\\S+\\s+0\\s+0$`, "m"));
    expect(bad.code).toBe(2);
    expect(err(bad)).toMatchObject({ code: "validation", field: "path.agent" });
  });

  it("sets and gets shared state with compare-and-set; a stale version is a conflict (exit 1)", async () => {
    const ns = `cli-${tag}`;
    const created = await weft(["state", "set", ns, "seat", '{"held":1}', "--create"]);
    expect([created.code, json(created).version]).toEqual([0, 1]);
    const [again, next] = await Promise.all([
      weft(["state", "set", ns, "seat", '{"held":9}', "--create"]),
      weft(["state", "set", ns, "seat", '{"held":2}', "--if-version", "1"]),
    ]);
    expect([again.code, err(again).code]).toEqual([1, "conflict"]);
    expect([next.code, json(next).version]).toEqual([0, 2]);
    const stale = await weft(["state", "set", ns, "seat", '{"held":3}', "--if-version", "1"]);
    expect(stale.code).toBe(1);
    expect(err(stale)).toMatchObject({ code: "conflict", details: { current: { version: 2, value: { held: 2 } } } });
    const [get, gone, badJson] = await Promise.all([
      weft(["state", "get", ns, "seat"]),
      weft(["state", "get", ns, "nothing"]),
      weft(["state", "set", ns, "seat", "{nope"]),
    ]);
    expect([get.code, json(get)]).toEqual([0, { namespace: ns, key: "seat", value: { held: 2 }, version: 2 }]);
    expect([gone.code, err(gone).code]).toEqual([1, "not_found"]);
    expect([badJson.code, err(badJson).code]).toEqual([2, "usage"]);
    // Without a precondition: read the version, write over it.
    const over = await weft(["state", "set", ns, "seat", '{"held":4}'], { json: false });
    expect([over.code, over.stdout]).toEqual([0, "version 3\n"]);

    const { dagId } = await api.submit(chain(agent("e"), agent("f")));
    const runSet = await weft(["state", "set", "--run", dagId, "plan", '["a","b"]', "--create"]);
    expect(runSet.code, runSet.stdout).toBe(0);
    const runGet = await weft(["state", "get", "--run", dagId, "plan"], { json: false });
    expect([runGet.code, JSON.parse(runGet.stdout)]).toEqual([0, ["a", "b"]]);
  });

  it("watches a run another client drives to success (exit 0) and one that fails (exit 1)", async () => {
    const ok = await api.submit(chain(agent("g"), agent("h")));
    const bad = await api.submit(chain(agent("i"), agent("j")));
    const [watchOk, watchBad] = await Promise.all([
      weft(["watch", ok.dagId]),
      weft(["watch", bad.dagId]),
      drive(agent("g"), agent("h")),
      drive(agent("i"), agent("j"), { failSecond: true }),
    ]);
    expect(watchOk.code, watchOk.stderr).toBe(0);
    const okLines = lines(watchOk);
    expect(okLines.slice(0, -1).map((e) => e.type)).toEqual([
      "run.submitted",
      "node.ready",
      "node.started",
      "node.succeeded",
      "node.ready",
      "node.started",
      "node.succeeded",
      "run.succeeded",
    ]);
    expect(okLines.at(-1)).toMatchObject({ dagId: ok.dagId, status: "succeeded", nodes: [{ output: { by: agent("g") } }, { output: { by: agent("h") } }] });

    expect(watchBad.code).toBe(1);
    expect(lines(watchBad).at(-2)).toMatchObject({ type: "run.failed" });
    expect(lines(watchBad).at(-1)).toMatchObject({ status: "failed", nodes: [{ status: "succeeded" }, { status: "failed", error: { message: "boom" } }] });

    // Watching a run that already ended returns at once, with its exit code; so does submit --wait.
    const [again, plain] = await Promise.all([weft(["watch", bad.dagId]), weft(["watch", ok.dagId], { json: false })]);
    expect([again.code, lines(again).at(-1)!.status]).toEqual([1, "failed"]);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(/run succeeded/);
    expect(plain.stdout).toMatch(/run dag_\w+ {2}succeeded {2}2\/2 succeeded/);
  });

  it("runs a worker module's agents until SIGTERM, then exits cleanly", async () => {
    // The fixture's agent names are fixed: submit its runs only while this worker runs.
    const spec = {
      nodes: [
        { id: "shout", agent: "cli-upper", input: { text: "weft" } },
        { id: "measure", agent: "cli-count", input: { text: "hello" }, deps: ["shout"] },
      ],
    };
    const refused = await weft(["worker", FIXTURE, "--agents", "cli-upper,ghost"]);
    expect([refused.code, err(refused)]).toMatchObject([2, { code: "usage", message: expect.stringContaining("ghost") }]);

    const child = spawn(process.execPath, [BIN, "worker", FIXTURE, "--api", local.baseUrl, "--lease-ms", "5000"], { cwd: ROOT, env: process.env });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    try {
      const submitted = await weft(["submit", file("worker.json", JSON.stringify(spec)), "--wait"]);
      expect(submitted.code, stderr).toBe(0);
      const run = json<{ status: string; run: RunView }>(submitted).run;
      expect(run.status).toBe("succeeded");
      expect(run.nodes.map((n) => n.output)).toEqual([{ text: "WEFT" }, { length: 5 }]);
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited).toBe(0);
    expect(stderr).toContain("weft worker: cli-upper, cli-count");
    expect(stderr).toContain("stopped");
  });
  it("approves and rejects waiting nodes, signals by key, pauses and resumes; status and watch say how to approve", async () => {
    const w = agent("w");
    const key = `inv-${tag}`;
    const [{ dagId }, r, k] = await Promise.all([
      api.submit({ nodes: [{ id: "gate", wait: { timeoutMs: 600_000 } }, { id: "after", agent: w, deps: ["gate"] }] }),
      api.submit({ nodes: [{ id: "gate", wait: {} }] }),
      api.submit({ nodes: [{ id: "paid", wait: { key } }] }),
    ]);
    const watching = weft(["watch", dagId], { json: false });
    // Three independent stories at once: each CLI call is a process of its own.
    const approveFlow = async () => {
      const [plain, paused, pausedAgain] = await Promise.all([weft(["status", dagId], { json: false }), weft(["pause", dagId]), weft(["pause", dagId])]);
      expect(plain.stdout).toContain(`weft approve ${dagId} gate`);
      expect(plain.stdout).toContain(`weft reject ${dagId} gate --reason`);
      expect([json(paused).changed, json(pausedAgain).changed].sort()).toEqual([false, true]);
      const [status, listed] = await Promise.all([weft(["status", dagId]), weft(["list", "--status", "paused"])]);
      expect(json<RunView>(status).status).toBe("paused");
      expect(json<{ runs: { dagId: string }[] }>(listed).runs.map((x) => x.dagId)).toContain(dagId);
      const ok = await weft(["approve", dagId, "gate", "--output", '{"approved":true,"note":"fine"}', "--by", "ana"]);
      expect([ok.code, json(ok)]).toEqual([0, { status: "succeeded", runStatus: "paused", duplicate: false }]);
      const [again, resumed] = await Promise.all([weft(["approve", dagId, "gate"]), weft(["resume", dagId])]);
      expect([again.code, err(again).code]).toEqual([1, "conflict"]);
      expect(json(resumed)).toEqual({ status: "running", changed: true });
      let task;
      for (let i = 0; i < 100 && !task; i++) [task] = await api.claim(w, { max: 1 });
      await api.complete(task!, "done");
    };
    const rejectFlow = async () => {
      const [noReason, rejected] = await Promise.all([weft(["reject", r.dagId, "gate"]), weft(["reject", r.dagId, "gate", "--reason", "not good"])]);
      expect([noReason.code, err(noReason).field]).toEqual([2, "reason"]);
      expect(json(rejected)).toMatchObject({ status: "failed", runStatus: "failed" });
    };
    const keyFlow = async () => {
      const signalled = await weft(["signal", "--key", key, "--output", '{"amount":3}']);
      expect(json(signalled)).toMatchObject({ signalled: 1, nodes: [{ dagId: k.dagId, nodeId: "paid", status: "succeeded" }] });
      expect(json(await weft(["signal", "--key", key]))).toMatchObject({ signalled: 0 });
    };
    await Promise.all([approveFlow(), rejectFlow(), keyFlow()]);
    const watched = await watching;
    expect(watched.code, watched.stderr).toBe(0);
    expect(watched.stdout).toContain(`weft approve ${dagId} gate`);
    expect(watched.stdout).toMatch(/POST http:\/\/127\.0\.0\.1:\d+\/v1\/signals\//);
  });
});
