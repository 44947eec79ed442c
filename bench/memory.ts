/**
 * Redis memory per node, by key kind, after one Weft workload has finished (nothing
 * archived): node hashes, event logs, the outbox and the rest (meta, order, indexes).
 * MEMORY USAGE of every key (SAMPLES 0: exact), summed per kind, over the nodes.
 * Usage: npx tsx bench/memory.ts [a|b|c|d|e]
 */
import { Redis } from "ioredis";
import { startRedis } from "@weft/test-support";
import { parseInfo } from "./redis-info.js";
import { runWeft } from "./weft-runner.js";
import { FULL, nodeCount, workloads } from "./workloads.js";

const key = process.argv[2] ?? "a";
const w = workloads(FULL).find((x) => x.key === key);
if (!w) throw new Error(`unknown workload ${key}`);
const server = await startRedis();
const admin = new Redis({ port: server.port });
try {
  const used = async () => Number(parseInfo(await admin.info("memory")).get("used_memory"));
  const before = await used();
  await (await runWeft(server.url, w, { concurrency: 100, batch: 100 })).close();
  const after = await used();
  const kinds = new Map<string, { keys: number; bytes: number }>();
  let cursor = "0";
  do {
    const [next, keys] = await admin.scan(cursor, "COUNT", 1000);
    cursor = next;
    for (const k of keys) {
      const kind = /:n:[^:]*$/.test(k) ? "node hash" : k.endsWith(":events") ? "event log" : /outbox/.test(k) ? "outbox" : k.replace(/^.*:(\w+)$/, "$1");
      const bytes = Number(await admin.call("MEMORY", "USAGE", k, "SAMPLES", "0"));
      const e = kinds.get(kind) ?? { keys: 0, bytes: 0 };
      e.keys++;
      e.bytes += bytes;
      kinds.set(kind, e);
    }
  } while (cursor !== "0");
  const nodes = nodeCount(w);
  console.log(`(${w.key}) ${nodes} nodes; used_memory delta ${((after - before) / nodes).toFixed(0)} B/node`);
  for (const [kind, e] of [...kinds].sort((x, y) => y[1].bytes - x[1].bytes)) {
    console.log(`${kind.padEnd(12)} ${String(e.keys).padStart(6)} keys ${(e.bytes / nodes).toFixed(1).padStart(8)} B/node`);
  }
} finally {
  admin.disconnect();
  await server.stop();
}
