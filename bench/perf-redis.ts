import { spawn } from "node:child_process";
import { Redis } from "ioredis";
import { startRedis } from "../test/support/redis.js";
import { parseInfo } from "./redis-info.js";
import { runWeft } from "./weft-runner.js";
import { workloads, FULL } from "./workloads.js";

const server = await startRedis();
const admin = new Redis(server.port);
const w = workloads(FULL).find((w) => w.key === (process.argv[2] ?? "b"))!;
try {
  await (await runWeft(server.url, w, { concurrency: 100, batch: 100 })).close();
  await admin.flushall();
  const pid = parseInfo(await admin.info("server")).get("process_id")!;
  const perf = spawn("perf", ["record", "-F", "2000", "-g", "-p", pid, "-o", `/tmp/weft-perf-${w.key}.data`], { stdio: "ignore" });
  await new Promise((r) => setTimeout(r, 500));
  for (let i = 0; i < 3; i++) { await admin.flushall(); await (await runWeft(server.url, w, { concurrency: 100, batch: 100 })).close(); }
  perf.kill("SIGINT");
  await new Promise((r) => perf.once("exit", r));
} finally {
  admin.disconnect();
  await server.stop();
}
