import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { createClient, type WeftClient, type Worker } from "@weft/client";
import { startLocal, type Local } from "../../../../functions/local/emulator.js";

/**
 * One local emulation per test file (vitest runs each file in its own process): a spawned
 * redis-server, dynalite, the real handlers behind the local gateway, reconcile every
 * 200 ms. No bus subscriptions: each test wires the ones it needs.
 */
export function useLocal(): { local: () => Local; client: () => WeftClient } {
  let local: Local | undefined;
  let dataDir = "";
  beforeAll(async () => {
    process.env.REDIS_URL = "";
    process.env.DYNAMODB_ENDPOINT = "";
    process.env.WEFT_S3_ENDPOINT = "";
    delete process.env.WEFT_API_KEYS;
    dataDir = mkdtempSync(join(tmpdir(), "weft-worker-"));
    local = await startLocal({ port: 0, dataDir, reconcileMs: 200, subscriptions: () => false, log: () => {}, env: process.env });
  });
  afterAll(async () => {
    await local?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });
  const get = () => {
    if (!local) throw new Error("the local emulation is not started");
    return local;
  };
  return { local: get, client: () => createClient({ baseUrl: get().baseUrl }) };
}

let seq = 0;
/** An agent name no other test of this file uses: ready queues are per agent. */
export const agentName = (what: string) => `${what}-${process.pid}-${++seq}`;

export const sleep = (ms: number) => new Promise<void>((res) => setTimeout(res, ms));

export async function until<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** Waits until the run has ended and returns it. */
export async function finished(client: WeftClient, dagId: string, timeoutMs = 10_000) {
  return until(`run ${dagId} to end`, async () => {
    const run = await client.getRun(dagId);
    return run.status === "running" ? undefined : run;
  }, timeoutMs);
}

export function nodeOf<T extends { nodes: { id: string }[] }>(run: T, id: string): T["nodes"][number] {
  const n = run.nodes.find((x) => x.id === id);
  if (!n) throw new Error(`no node ${id}`);
  return n;
}

/** Runs `fn` with the worker, then closes it at once (no grace: what is left is given back). */
export async function withWorker<T>(w: Worker, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } finally {
    await w.close({ graceMs: 0 });
  }
}
