import { Redis } from "ioredis";
import { startRedis } from "../test/support/redis.js";
import { runWeft } from "./weft-runner.js";
import { workloads, FULL } from "./workloads.js";

const server = await startRedis();
const admin = new Redis(server.port);
const w = workloads(FULL).find((w) => w.key === (process.argv[2] ?? "b"))!;
try {
  await (await runWeft(server.url, w, { concurrency: 100, batch: 100 })).close();
  await admin.flushall();
  await admin.config("SET", "slowlog-max-len", "100000");
  await admin.config("SET", "slowlog-log-slower-than", "0");
  await admin.slowlog("RESET");
  await (await runWeft(server.url, w, { concurrency: 100, batch: 100 })).close();
  console.log("len", await admin.slowlog("LEN"));
  const e = (await admin.slowlog("GET", "-1")) as [number, number, number, string[]][];
  const d = e.filter((x) => String(x[3][0]).toLowerCase() === "evalsha").map((x) => x[2]).sort((a, b) => a - b);
  console.log("evalsha entries", d.length, "p50", d[Math.floor(d.length / 2)], "p90", d[Math.floor(d.length * 0.9)], "max", d[d.length - 1], "sum", d.reduce((a, b) => a + b, 0));
  const cmds = new Map<string, number>();
  for (const x of e) cmds.set(String(x[3][0]), (cmds.get(String(x[3][0])) ?? 0) + 1);
  console.log(cmds);
} finally {
  admin.disconnect();
  await server.stop();
}
