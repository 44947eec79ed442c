/**
 * Redis CPU per call of small Lua scripts that isolate the pieces Weft's scripts are made
 * of (cjson, redis.call of a hash command, XADD, number formatting), on a fresh server.
 * Calibrates the per-node budget in RESULTS.md. Usage: npx tsx bench/lua-costs.ts
 */
import { Redis } from "ioredis";
import { startRedis } from "@weft/test-support";
import { parseInfo } from "./redis-info.js";

const CALLS = 20_000;
const WINDOW = 500;
// A completeMany-like argument: one item and a claimNext.
const ARG = JSON.stringify({
  tenant: "bench",
  items: [{ dagId: "dag_0123456789abcdef01234567", nodeId: "m1234", token: "1.abcdefghijklmnopqrstuvwx", output: "null" }],
  seed: 12345,
  next: { agent: "noop", max: 1, leaseMs: 30000, workerId: "bench-worker", rands: ["abcdefghijklmnopqrstuvwx"] },
});

export const SCRIPTS: Record<string, string> = {
  trivial: "return 1",
  cjson_roundtrip: "local a = cjson.decode(ARGV[1]); return cjson.encode({ duplicate = false, ready = {}, runStatus = 'running' })",
  hget_x21: "for i = 1, 21 do redis.call('HGET', KEYS[1], 'f' .. (i % 5)) end return 1",
  hincrby_x21: "for i = 1, 21 do redis.call('HINCRBY', KEYS[1], 'f' .. (i % 5), 1) end return 1",
  xadd_event: "redis.call('XADD', KEYS[1] .. ':s', '*', 't', 'node.succeeded', 'by', 'bench-worker', 'at', 1732390000000, 'n', 'm1234', 'a', 1, 'f', 'running') return 1",
  xadd_outbox:
    "redis.call('XADD', KEYS[1] .. ':o', '*', 'type', 'NodeSucceeded', 'tenant', 'bench', 'dag', 'dag_0123456789abcdef01234567', 'node', 'm1234', 'agent', 'noop', 'attempt', 1, 'at', 1732390000000) return 1",
  time_plus_10_tostring: "local t = redis.call('TIME'); local at = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000); local s = ''; for i = 1, 10 do s = tostring(at + i) end return s",
  closures_30: "".concat(...Array.from({ length: 30 }, (_, i) => `local function f${i}(a, b) if a then return b end return a end\n`)) + "return 1",
};

async function main(): Promise<void> {
  const server = await startRedis();
  const r = new Redis({ port: server.port, enableAutoPipelining: true });
  const cpuUs = async () => {
    const i = parseInfo(await r.info("cpu"));
    return (Number(i.get("used_cpu_user")) + Number(i.get("used_cpu_sys"))) * 1e6;
  };
  try {
    await r.hset("h", "f0", 1, "f1", 1, "f2", 1, "f3", 1, "f4", 1);
    for (const [name, src] of Object.entries(SCRIPTS)) {
      const sha = String(await r.script("LOAD", src));
      const run = async () => {
        for (let d = 0; d < CALLS; d += WINDOW) await Promise.all(Array.from({ length: WINDOW }, () => r.evalsha(sha, 1, "h", ARG)));
      };
      await run();
      await r.del("h:s", "h:o");
      const c0 = await cpuUs();
      await run();
      const perCall = ((await cpuUs()) - c0) / CALLS;
      console.log(`${name.padEnd(22)} ${perCall.toFixed(2)} us redis CPU per call`);
    }
  } finally {
    r.disconnect();
    await server.stop();
  }
}

await main();
