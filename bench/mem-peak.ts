/**
 * Redis memory per node at peak, the bench's way (bench/measure.ts: used_memory sampled every
 * 50 ms and at the end, minus the empty server's), with the breakdown by key kind at the
 * sample nearest the peak (MEMORY USAGE of every key but the node hashes, which are counted).
 * Usage: npx tsx bench/mem-peak.ts [a,b,c,d,e] [--kinds]   (--kinds scans while running: slower)
 */
import { Redis } from "ioredis";
import { startRedis } from "@weft/test-support";
import { measure } from "./measure.js";
import { parseInfo } from "./redis-info.js";
import { runWeft } from "./weft-runner.js";
import { FULL, nodeCount, workloads } from "./workloads.js";

const keys = (process.argv[2] ?? "a,b,c,d,e").split(",");
const withKinds = process.argv.includes("--kinds");

const kindOf = (k: string) =>
  /:n:[^:]*$/.test(k) ? "node hash" : k.endsWith(":events") ? "event log" : /outbox/.test(k) ? "outbox" : k.replace(/^.*:(\w+)$/, "$1");

async function kinds(admin: Redis, nodeHashes: boolean): Promise<Map<string, number>> {
  const m = new Map<string, number>();
  let cursor = "0";
  do {
    const [next, ks] = await admin.scan(cursor, "COUNT", 2000);
    cursor = next;
    const pipe = admin.pipeline();
    const counted: string[] = [];
    for (const k of ks) {
      const kind = kindOf(k);
      if (kind === "node hash" && !nodeHashes) m.set("node hash (keys)", (m.get("node hash (keys)") ?? 0) + 1);
      else {
        counted.push(kind);
        pipe.call("MEMORY", "USAGE", k, "SAMPLES", "0");
      }
    }
    const res = await pipe.exec();
    res?.forEach(([, v], i) => m.set(counted[i]!, (m.get(counted[i]!) ?? 0) + Number(v)));
  } while (cursor !== "0");
  return m;
}

const fmt = (m: Map<string, number>, nodes: number) =>
  [...m].sort((x, y) => y[1] - x[1]).map(([k, v]) => `${k} ${k.endsWith("(keys)") ? v : (v / nodes).toFixed(1)}`).join("; ");

for (const key of keys) {
  const w = workloads(FULL).find((x) => x.key === key)!;
  const nodes = nodeCount(w);
  const server = await startRedis();
  const admin = new Redis({ port: server.port });
  const probe = new Redis({ port: server.port });
  try {
    // A warm-up repetition first: it loads the library (FLUSHALL keeps it), as npm run bench's reps do.
    await measure(admin, nodes, () => runWeft(server.url, w, { concurrency: 100, batch: 100 }));
    let best = { used: 0, kinds: new Map<string, number>() };
    let stop = false;
    const sampler = (async () => {
      while (withKinds && !stop) {
        const used = Number(parseInfo(await probe.info("memory")).get("used_memory"));
        if (used > best.used) best = { used, kinds: await kinds(probe, false) };
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    // Client buffers while the engine's connection is still open (a big submit leaves its query buffer).
    let clients = 0;
    const s = await measure(admin, nodes, async () => {
      const r = await runWeft(server.url, w, { concurrency: 100, batch: 100 });
      const stats = (await admin.call("MEMORY", "STATS")) as unknown[];
      clients = Number(stats[stats.indexOf("clients.normal") + 1]);
      return r;
    });
    stop = true;
    await sampler;
    const end = await kinds(admin, true);
    console.log(`(${key}) ${nodes} nodes: peak ${s.memoryPerNode.toFixed(0)} B/node (Redis CPU ${s.redisCpuUsPerNode.toFixed(1)} us/node); end: ${fmt(end, nodes)}; client buffers at the end ${(clients / nodes).toFixed(1)}`);
    if (withKinds) console.log(`    near peak: ${fmt(best.kinds, nodes)}`);
  } finally {
    admin.disconnect();
    probe.disconnect();
    await server.stop();
  }
}
