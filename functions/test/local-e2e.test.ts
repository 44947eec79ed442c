import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "@weft/test-support";

/**
 * The local emulation as a newcomer starts it (`npm start`), driven over HTTP: the same
 * handlers behind the local API Gateway, a spawned redis-server, dynalite, the reconcile
 * timer and in-process events.
 */
let proc: ChildProcess;
let api: string;
let dataDir: string;
let output = "";

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${api}${path}`, {
    method,
    headers: { "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: await res.json() };
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function claim(agent: string, leaseMs = 30_000) {
  const r = await call("POST", `/v1/agents/${agent}/claim`, { max: 10, leaseMs, workerId: `w-${agent}` });
  expect(r.status).toBe(200);
  return r.body.tasks as { dagId: string; nodeId: string; attempt: number; leaseToken: string }[];
}

beforeAll(async () => {
  const port = await freePort();
  api = `http://127.0.0.1:${port}`;
  dataDir = mkdtempSync(join(tmpdir(), "weft-local-"));
  proc = spawn(process.execPath, ["--import", "tsx", "functions/local/main.ts", "--no-example"], {
    env: { ...process.env, PORT: String(port), WEFT_DATA_DIR: dataDir, WEFT_RECONCILE_MS: "200", REDIS_URL: "", DYNAMODB_ENDPOINT: "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  proc.stdout!.on("data", (d) => (output += d));
  proc.stderr!.on("data", (d) => (output += d));
  await until("the local API", async () => (output.includes("ready.") ? true : undefined), 60_000);
});

afterAll(async () => {
  if (proc && proc.exitCode === null) {
    const exited = new Promise((r) => proc.once("exit", r));
    proc.kill("SIGINT");
    await exited;
  }
  rmSync(dataDir, { recursive: true, force: true });
});

describe("local emulation (npm start)", () => {
  it("says which tenant serves requests when no keys are configured", () => {
    expect(output).toMatch(/no WEFT_API_KEYS set: every request acts as the single dev tenant "dev"/);
  });

  it("runs a diamond DAG over HTTP with a retry, a duplicate completion and a stale lease", async () => {
    const submitted = await call("POST", "/v1/dags", {
      idempotencyKey: `diamond-${Date.now()}`,
      nodes: [
        { id: "a", agent: "plan" },
        { id: "b", agent: "left", deps: ["a"], retry: { maxAttempts: 3, backoffMs: 100 } },
        { id: "c", agent: "right", deps: ["a"], retry: { maxAttempts: 3, backoffMs: 0 } },
        { id: "d", agent: "join", deps: ["b", "c"] },
      ],
    });
    expect(submitted.status).toBe(201);
    const dagId = submitted.body.dagId as string;
    expect(submitted.body.ready).toEqual(["a"]);

    const [a] = await claim("plan");
    const done = await call("POST", `/v1/dags/${dagId}/nodes/a/complete`, { leaseToken: a!.leaseToken, output: { plan: 1 } });
    expect(done.body).toMatchObject({ duplicate: false, ready: ["b", "c"] });
    // The same completion delivered twice changes nothing and says so.
    const again = await call("POST", `/v1/dags/${dagId}/nodes/a/complete`, { leaseToken: a!.leaseToken, output: { plan: 1 } });
    expect(again).toMatchObject({ status: 200, body: { duplicate: true, ready: [] } });

    // b fails once (retryable); the reconcile timer makes it ready again after its backoff.
    const [b1] = await claim("left");
    const failed = await call("POST", `/v1/dags/${dagId}/nodes/b/fail`, { leaseToken: b1!.leaseToken, error: { message: "429" }, retryable: true });
    expect(failed.body).toMatchObject({ status: "retrying" });
    const b2 = await until("b's retry", async () => (await claim("left"))[0]);
    expect(b2.attempt).toBe(2);

    // c's worker stalls: its lease expires, reconcile re-runs c, the stale worker is refused.
    const [c1] = await claim("right", 300);
    const c2 = await until("c to be re-run", async () => (await claim("right"))[0]);
    expect(c2.attempt).toBe(2);
    const stale = await call("POST", `/v1/dags/${dagId}/nodes/c/complete`, { leaseToken: c1!.leaseToken, output: "late" });
    expect(stale.status).toBe(409);
    expect(stale.body.error.code).toBe("conflict");

    await call("POST", `/v1/dags/${dagId}/nodes/b/complete`, { leaseToken: b2.leaseToken, output: "B" });
    await call("POST", `/v1/dags/${dagId}/nodes/c/complete`, { leaseToken: c2.leaseToken, output: "C" });
    const [d] = await claim("join");
    const last = await call("POST", `/v1/dags/${dagId}/nodes/d/complete`, { leaseToken: d!.leaseToken, output: "D" });
    expect(last.body.runStatus).toBe("succeeded");

    const run = await call("GET", `/v1/dags/${dagId}`);
    expect(run.body.status).toBe("succeeded");
    expect(Object.fromEntries(run.body.nodes.map((n: any) => [n.id, [n.status, n.attempt, n.output]]))).toEqual({
      a: ["succeeded", 1, { plan: 1 }],
      b: ["succeeded", 2, "B"],
      c: ["succeeded", 2, "C"],
      d: ["succeeded", 1, "D"],
    });
    const events = await call("GET", `/v1/dags/${dagId}/events?after=0&limit=1000`);
    const types = (events.body.events as { type: string; node?: string }[]).map((e) => `${e.type}${e.node ? `:${e.node}` : ""}`);
    expect(types).toContain("node.retrying:b");
    expect(types).toContain("node.retrying:c");
    expect(types.filter((t) => t === "run.succeeded")).toHaveLength(1);

    // The DagSucceeded event reaches the archive subscriber, which flushes the run to DynamoDB.
    await until("the run to be archived", async () => {
      const list = await call("GET", `/v1/dags?status=succeeded&limit=100`);
      return list.body.runs.some((r: any) => r.dagId === dagId) ? true : undefined;
    });
  });

  it("answers bad input with a 4xx naming the field, and unknown routes with 404", async () => {
    const cycle = await call("POST", "/v1/dags", { nodes: [{ id: "x", agent: "a", deps: ["y"] }, { id: "y", agent: "a", deps: ["x"] }] });
    expect(cycle.status).toBe(422);
    expect(cycle.body.error.message).toMatch(/cycle/);
    const wrongType = await call("POST", "/v1/agents/a/claim", { max: "ten" });
    expect(wrongType.status).toBe(400);
    expect(wrongType.body.error.field).toBe("max");
    expect((await call("GET", "/v1/nope")).status).toBe(404);
  });

  it("stops cleanly on Ctrl-C", async () => {
    const exited = new Promise<number | null>((r) => proc.once("exit", (code) => r(code)));
    proc.kill("SIGINT");
    expect(await exited).toBe(0);
    expect(output).toContain("stopping");
  });
});
