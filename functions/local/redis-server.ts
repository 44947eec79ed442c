import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync } from "node:fs";
import { createServer } from "node:net";

/** A redis-server child process (the local emulator's, or a test's). */
export interface RedisServer {
  port: number;
  url: string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export function redisServerVersion(): string | undefined {
  const r = spawnSync("redis-server", ["--version"], { encoding: "utf8" });
  return r.error || r.status !== 0 ? undefined : r.stdout.trim();
}

/** Waits until the child answers PING (NOAUTH also proves it is up: a node with --requirepass). */
export async function waitForPing(port: number, child: ChildProcess, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`redis-server on port ${port} exited with code ${child.exitCode}`);
    const r = spawnSync("redis-cli", ["-p", String(port), "ping"], { encoding: "utf8" });
    if (/^(PONG|NOAUTH)/.test(r.stdout?.trim() ?? "")) return;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error(`redis-server on port ${port} did not answer PING within ${timeoutMs} ms`);
}

/**
 * Spawns redis-server from PATH with its data in `dir` (append-only file on, so the local
 * emulator's runs survive a restart).
 */
export async function spawnRedisServer(opts: { dir: string; port?: number; args?: string[] }): Promise<RedisServer> {
  if (!redisServerVersion()) {
    throw new Error("redis-server was not found on PATH: install it (e.g. `apt-get install redis-server`) or set REDIS_URL");
  }
  mkdirSync(opts.dir, { recursive: true });
  const port = opts.port ?? (await freePort());
  const child = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--dir", opts.dir, "--appendonly", "yes", "--save", "", ...(opts.args ?? [])],
    { stdio: "ignore" },
  );
  await waitForPing(port, child, 10_000);
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((res) => child.once("exit", res));
      child.kill("SIGTERM");
      await exited;
    },
  };
}
