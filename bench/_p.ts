import { Redis } from "ioredis";
import { startRedis } from "../test/support/redis.js";
import { measure } from "./measure.js";
import { scriptCosts } from "./profile.js";
import { countClientRequests } from "./redis-info.js";
import { runWeft } from "./weft-runner.js";
import { nodeCount, workloads, FULL } from "./workloads.js";

countClientRequests();
const server = await startRedis();
const admin = new Redis(server.port);
const keys = (process.argv[2] ?? "a").split(",");
try {
  for (const w of workloads(FULL).filter((w) => keys.includes(w.key))) {
    await measure(admin, nodeCount(w), () => runWeft(server.url, w, { concurrency: 100, batch: 100 }));
    const s = await measure(admin, nodeCount(w), () => runWeft(server.url, w, { concurrency: 100, batch: 100 }));
    const { stats, ...rest } = s;
    console.log(w.key, JSON.stringify(rest));
    const n = nodeCount(w);
    for (const [c, v] of Object.entries(stats).sort((a, b) => b[1].usec - a[1].usec)) console.log(c.padEnd(12), (v.calls / n).toFixed(2), (v.usec / n).toFixed(1), (v.usec / v.calls).toFixed(2));
    await admin.flushall();
    console.log(await scriptCosts(admin, async () => void (await (await runWeft(server.url, w, { concurrency: 100, batch: 100 })).close()), n * 30));
  }
} finally {
  admin.disconnect();
  await server.stop();
}
