/**
 * `perf record` of redis-server while Weft runs one workload 3 times (after a warm-up), for
 * `perf report -i /tmp/weft-perf-<key>.data --no-children --sort dso,symbol`.
 * Usage: npx tsx bench/perf-redis.ts a   (needs `perf` on PATH)
 */
import { spawn } from "node:child_process";
import { Redis } from "ioredis";
import { startRedis } from "@weft/test-support";
import { parseInfo } from "./redis-info.js";
import { runWeft } from "./weft-runner.js";
import { FULL, workloads } from "./workloads.js";

const key = process.argv[2] ?? "a";
const w = workloads(FULL).find((x) => x.key === key);
if (!w) throw new Error(`unknown workload ${key}`);
const opts = { concurrency: 100, batch: 100 };
const server = await startRedis();
const admin = new Redis({ port: server.port });
try {
  await (await runWeft(server.url, w, opts)).close();
  const pid = parseInfo(await admin.info("server")).get("process_id")!;
  const out = `/tmp/weft-perf-${w.key}.data`;
  const perf = spawn("perf", ["record", "-F", "2000", "-g", "-p", pid, "-o", out], { stdio: "ignore" });
  await new Promise((r) => setTimeout(r, 500));
  for (let i = 0; i < 3; i++) {
    await admin.flushall();
    await (await runWeft(server.url, w, opts)).close();
  }
  perf.kill("SIGINT");
  await new Promise((r) => perf.once("exit", r));
  console.log(`wrote ${out}`);
} finally {
  admin.disconnect();
  await server.stop();
}
