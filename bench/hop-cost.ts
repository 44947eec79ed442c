/**
 * Redis CPU per node of (a) the 10,000-node fan-out and (b) the 1,000-node chain, Weft only,
 * on a fresh redis-server (one warm-up, then `reps` repetitions each): what a change to the
 * hot scripts costs per node and per chain hop, without BullMQ's half of `npm run bench`.
 * Usage: npx tsx bench/hop-cost.ts [reps=5] [root]. `root` is a checkout whose engine and
 * bench are measured (default this one), so two checkouts compare on the same machine:
 *   for i in 1 2 3 4; do for r in /path/main /path/branch; do npx tsx bench/hop-cost.ts 5 $r; done; done
 * Prints one JSON line per workload: redis-server CPU per node (us, median and min of reps),
 * Redis commands per node (inside scripts too), processing ms per node.
 */
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const reps = Number(process.argv[2] ?? 5);
const root = resolve(process.argv[3] ?? resolve(dirname(fileURLToPath(import.meta.url)), ".."));
const { Redis } = (await import(`${root}/node_modules/ioredis/built/index.js`)) as typeof import("ioredis");
const { startRedis } = (await import(`${root}/packages/test-support/src/index.ts`)) as typeof import("@weft/test-support");
const { measure } = (await import(`${root}/bench/measure.ts`)) as typeof import("./measure.js");
const { runWeft } = (await import(`${root}/bench/weft-runner.ts`)) as typeof import("./weft-runner.js");
const { workloads, FULL, nodeCount } = (await import(`${root}/bench/workloads.ts`)) as typeof import("./workloads.js");

const server = await startRedis();
const admin = new Redis({ port: server.port });
const worker = { concurrency: 100, batch: 100, functions: true };
const median = (x: number[]) => [...x].sort((a, b) => a - b)[Math.floor(x.length / 2)]!;
try {
  for (const w of workloads(FULL).filter((w) => w.key === "a" || w.key === "b")) {
    const n = nodeCount(w);
    await measure(admin, n, () => runWeft(server.url, w, worker));
    const cpu: number[] = [];
    const cmds: number[] = [];
    const ms: number[] = [];
    for (let i = 0; i < reps; i++) {
      const s = await measure(admin, n, () => runWeft(server.url, w, worker));
      cpu.push(s.redisCpuUsPerNode);
      cmds.push(s.commandsPerNode);
      ms.push(s.elapsedMs / n);
    }
    const r1 = (x: number) => Math.round(x * 10) / 10;
    process.stdout.write(
      `${JSON.stringify({ root, workload: w.key, redisCpuUsPerNode: { median: r1(median(cpu)), min: r1(Math.min(...cpu)), all: cpu.map(r1) }, commandsPerNode: Math.round(median(cmds) * 100) / 100, msPerNode: Math.round(median(ms) * 1e4) / 1e4 })}\n`,
    );
  }
} finally {
  admin.disconnect();
  await server.stop();
}
process.exit(0);
