import { Redis } from "ioredis";
import { startRedis } from "../test/support/redis.js";
import { runWeft } from "./weft-runner.js";
import { workloads, FULL } from "./workloads.js";
const server = await startRedis();
const admin = new Redis(server.port);
const w = workloads(FULL).find((w) => w.key === (process.argv[2] ?? "a"))!;
try {
  for (let i = 0; i < 3; i++) { await admin.flushall(); const r = await runWeft(server.url, w, { concurrency: 100, batch: 100 }); console.log(r.elapsedMs); await r.close(); }
} finally { admin.disconnect(); await server.stop(); }
