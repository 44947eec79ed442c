import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { handler as api } from "../../api.js";
import { configureRuntime, resetRuntime } from "../../config.js";
import { startRedis, type RedisProcess } from "@weft/test-support";
import { invoke, KEY_A, uid } from "./harness.js";

/**
 * Redis full (OOM under maxmemory) or read-only (a replica): the API answers 503 with
 * Retry-After, and its log line names the script and the error, never the script's
 * argument (inputs, outputs, lease tokens) or the API key. Real redis-server processes.
 */
const SECRET_INPUT = "secret-input-5f1c";
const SECRET_OUTPUT = "secret-output-9ab2";

let primary: RedisProcess;
let replica: RedisProcess;
let admin: Redis;
let lines: string[] = [];

function captureLogs() {
  lines = [];
  const grab = (chunk: unknown) => {
    lines.push(String(chunk));
    return true;
  };
  const out = vi.spyOn(process.stdout, "write").mockImplementation(grab);
  const err = vi.spyOn(process.stderr, "write").mockImplementation(grab);
  return () => {
    out.mockRestore();
    err.mockRestore();
  };
}

beforeAll(async () => {
  primary = await startRedis({ args: ["--maxmemory", "4mb", "--maxmemory-policy", "noeviction"] });
  replica = await startRedis({ args: ["--replicaof", "127.0.0.1", String(primary.port)] });
  admin = new Redis(primary.url);
});
afterAll(async () => {
  await resetRuntime();
  admin.disconnect();
  await replica?.stop();
  await primary?.stop();
});

function expectNoSecrets(leaseToken?: string) {
  const text = lines.join("");
  expect(text).not.toContain(SECRET_INPUT);
  expect(text).not.toContain(SECRET_OUTPUT);
  expect(text).not.toContain(KEY_A);
  if (leaseToken) expect(text).not.toContain(leaseToken);
}

describe("Redis that cannot take writes", () => {
  it("out of memory: submit and complete answer 503 with Retry-After, and the log names the script, not its arguments", async () => {
    await configureRuntime({ env: { REDIS_URL: primary.url, WEFT_API_KEYS: `${KEY_A}:acme` } });
    const id = uid("oom");
    expect((await invoke(api, "POST", "/v1/dags", { body: { id, nodes: [{ id: "a", agent: `${id}-ag` }] } })).status).toBe(201);
    const claimed = await invoke(api, "POST", `/v1/agents/${id}-ag/claim`, { body: {} });
    const leaseToken: string = claimed.json.tasks[0].leaseToken;

    // Redis past its maxmemory: a limit of 1 byte refuses every write. (Filling the 4 MB was
    // flaky: the replica's output buffer draining under load freed enough for the next write.)
    const [, limit] = (await admin.config("GET", "maxmemory")) as string[];
    await admin.config("SET", "maxmemory", "1");
    const restore = captureLogs();
    try {
      const submit = await invoke(api, "POST", "/v1/dags", { body: { nodes: [{ id: "x", agent: "ag", input: { text: SECRET_INPUT } }], idempotencyKey: uid("k") } });
      expect(submit.status).toBe(503);
      expect(submit.headers["retry-after"]).toBe("1");
      expect(submit.json.error).toMatchObject({ code: "unavailable", message: expect.stringMatching(/OOM/) });

      const complete = await invoke(api, "POST", `/v1/dags/${id}/nodes/a/complete`, { body: { leaseToken, output: { text: SECRET_OUTPUT.repeat(10) } } });
      expect(complete.status).toBe(503);
      expect(complete.headers["retry-after"]).toBe("1");
    } finally {
      restore();
    }
    expectNoSecrets(leaseToken);
    const records = lines.flatMap((l) => l.split("\n")).filter(Boolean).map((l) => JSON.parse(l));
    const complete = records.find((r) => r.run === id);
    expect(complete).toMatchObject({ level: "WARN", message: "dependency unavailable", service: "weft", tenant: "acme", run: id, node: "a", error: { name: "UnavailableError", code: "unavailable" } });
    expect(complete.error.message).toMatch(/complete/);
    expect(complete.request_id).toEqual(expect.any(String));

    // Memory back: the same lease completes, so the refused calls wrote nothing.
    await admin.config("SET", "maxmemory", limit!);
    const again = await invoke(api, "POST", `/v1/dags/${id}/nodes/a/complete`, { body: { leaseToken, output: 1 } });
    expect(again.json).toMatchObject({ duplicate: false, runStatus: "succeeded" });
  });

  it("read-only replica: a write answers 503 naming READONLY", async () => {
    await configureRuntime({ env: { REDIS_URL: replica.url, WEFT_API_KEYS: `${KEY_A}:acme` } });
    const restore = captureLogs();
    let submit;
    try {
      submit = await invoke(api, "POST", "/v1/dags", { body: { nodes: [{ id: "x", agent: "ag", input: SECRET_INPUT }] } });
    } finally {
      restore();
    }
    expect(submit.status).toBe(503);
    expect(submit.headers["retry-after"]).toBe("1");
    expect(submit.json.error.message).toMatch(/READONLY/);
    expectNoSecrets();
  });
});
