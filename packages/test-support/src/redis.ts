import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A real redis-server process on a free port, owned by the test that started it. */
export interface RedisProcess {
  port: number;
  url: string;
  dir: string;
  stop(): Promise<void>;
}

/** An AOF-persisted node (`appendfsync always`) that survives halt + restart with its data. */
export interface PersistentRedis extends RedisProcess {
  /** Stops the process and keeps its dir. `crash: true` sends SIGKILL (no shutdown save). */
  halt(opts?: { crash?: boolean }): Promise<void>;
  /** Starts redis-server again on the same port and dir; the AOF is replayed. */
  restart(): Promise<void>;
  /** Halts (if running) and removes the dir. */
  stop(): Promise<void>;
}

// Processes this test worker spawned; killed if the worker exits without stop() (a failed
// beforeAll, a crash), so no redis-server outlives its test run.
// One set per process, even if the module is loaded once per test file in the same worker.
const LIVE = Symbol.for("weft.test.redis-servers");
const registry = globalThis as { [LIVE]?: Set<ChildProcess> };
const live = (registry[LIVE] ??= (() => {
  const set = new Set<ChildProcess>();
  process.once("exit", () => {
    for (const child of set) child.kill("SIGKILL");
  });
  return set;
})());

// One free-port probe for the emulator and the tests.
export { freePort } from "../../../functions/local/redis-server.js";
import { freePort, waitForPing } from "../../../functions/local/redis-server.js";

export function assertRedisInstalled(): void {
  const r = spawnSync("redis-server", ["--version"], { encoding: "utf8" });
  if (r.error || r.status !== 0) {
    throw new Error("redis-server was not found on PATH. Install it (apt-get install redis-server) - tests need a real Redis.");
  }
}

/** Runs redis-cli against a test node and returns its trimmed stdout. */
export function redisCli(port: number, ...args: string[]): string {
  const r = spawnSync("redis-cli", ["-h", "127.0.0.1", "-p", String(port), ...args], { encoding: "utf8" });
  if (r.error || r.status !== 0) throw new Error(`redis-cli -p ${port} ${args.join(" ")} failed: ${r.stderr || r.error}`);
  return r.stdout.trim();
}

async function spawnServer(port: number, dir: string, args: string[]): Promise<ChildProcess> {
  const child = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, ...args],
    { stdio: "ignore" },
  );
  live.add(child);
  child.once("exit", () => live.delete(child));
  try {
    await waitForPing(port, child);
  } catch (err) {
    await killChild(child, "SIGKILL");
    throw err;
  }
  return child;
}

async function killChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((res) => child.once("exit", res));
  child.kill(signal);
  await exited;
}

export async function startRedis(opts: { args?: string[]; dir?: string; port?: number } = {}): Promise<RedisProcess> {
  assertRedisInstalled();
  const ownDir = !opts.dir;
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), "weft-redis-"));
  let port = opts.port ?? (await freePort());
  let child: ChildProcess;
  // A port found free can be taken by a parallel test file before redis-server binds it:
  // when we picked the port, try another one.
  for (let attempt = 1; ; attempt++) {
    try {
      child = await spawnServer(port, dir, opts.args ?? []);
      break;
    } catch (err) {
      if (opts.port || attempt >= 3) {
        if (ownDir) rmSync(dir, { recursive: true, force: true });
        throw err;
      }
      port = await freePort();
    }
  }
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    async stop() {
      await killChild(child, "SIGTERM");
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A node that writes every command to its AOF before replying (`appendfsync always`), so
 * even a SIGKILL loses nothing that was acknowledged: the restart tests rely on that.
 */
export async function startPersistentRedis(opts: { args?: string[] } = {}): Promise<PersistentRedis> {
  assertRedisInstalled();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "weft-redis-aof-"));
  const args = ["--appendonly", "yes", "--appendfsync", "always", ...(opts.args ?? [])];
  let child: ChildProcess | undefined = await spawnServer(port, dir, args);
  const halt = async ({ crash = false } = {}) => {
    if (child) await killChild(child, crash ? "SIGKILL" : "SIGTERM");
    child = undefined;
  };
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    halt,
    async restart() {
      if (child) throw new Error(`redis-server on port ${port} is still running; halt() it first`);
      child = await spawnServer(port, dir, args);
    },
    async stop() {
      await halt();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
