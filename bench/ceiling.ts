import { spawnSync } from "node:child_process";
import { Redis } from "ioredis";
import { parseInfo } from "./redis-info.js";

export interface Ceiling {
  /** redis-benchmark: 50 clients, pipeline 16, EVALSHA of `return 1` (requests/s); undefined when not on PATH. */
  redisBenchmark?: number;
  /** One ioredis client in this process, auto-pipelined, 1,000 EVALSHA in flight (calls/s). */
  ioredisLoop: number;
  /** One EVALSHA at a time (a chain's floor): wall time and CPU of both processes per round trip (us). */
  roundTrip: { wallUs: number; redisCpuUs: number; nodeCpuUs: number };
}

const TRIVIAL = "return 1";

/** Parses `EVALSHA ...: 123456.79 requests per second, ...` (the last figure printed). */
export function parseRedisBenchmark(out: string): number | undefined {
  const all = [...out.matchAll(/([\d.]+) requests per second/g)];
  const last = all[all.length - 1];
  return last ? Number(last[1]) : undefined;
}

async function redisCpuUs(client: Redis): Promise<number> {
  const info = parseInfo(await client.info("cpu"));
  return (Number(info.get("used_cpu_user") ?? 0) + Number(info.get("used_cpu_sys") ?? 0)) * 1e6;
}

async function sequentialRoundTrip(client: Redis, sha: string, calls: number): Promise<Ceiling["roundTrip"]> {
  const cpu0 = await redisCpuUs(client);
  const node0 = process.cpuUsage();
  const t = performance.now();
  for (let i = 0; i < calls; i++) await client.evalsha(sha, 0);
  const wallUs = ((performance.now() - t) * 1000) / calls;
  const node = process.cpuUsage(node0);
  return { wallUs, redisCpuUs: ((await redisCpuUs(client)) - cpu0) / calls, nodeCpuUs: (node.user + node.system) / calls };
}

/** EVALSHA throughput of a trivial script on the same server: what Redis itself can do. */
export async function measureCeiling(port: number, calls: number): Promise<Ceiling> {
  const client = new Redis({ port, enableAutoPipelining: true });
  try {
    const sha = String(await client.script("LOAD", TRIVIAL));
    const rb = spawnSync(
      "redis-benchmark",
      ["-h", "127.0.0.1", "-p", String(port), "-n", String(calls), "-c", "50", "-P", "16", "-q", "EVALSHA", sha, "0"],
      { encoding: "utf8", timeout: 120_000 },
    );
    const redisBenchmark = rb.error || rb.status !== 0 ? undefined : parseRedisBenchmark(rb.stdout);
    const window = 1000;
    const t = performance.now();
    for (let done = 0; done < calls; done += window) {
      await Promise.all(Array.from({ length: Math.min(window, calls - done) }, () => client.evalsha(sha, 0)));
    }
    const ioredisLoop = calls / ((performance.now() - t) / 1000);
    const roundTrip = await sequentialRoundTrip(client, sha, Math.min(5000, calls));
    return redisBenchmark === undefined ? { ioredisLoop, roundTrip } : { redisBenchmark, ioredisLoop, roundTrip };
  } finally {
    client.disconnect();
  }
}
