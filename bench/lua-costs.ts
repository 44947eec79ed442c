import { Redis } from "ioredis";
import { startRedis } from "../test/support/redis.js";
import { parseInfo } from "./redis-info.js";

const server = await startRedis();
const r = new Redis({ port: server.port, enableAutoPipelining: true });
const cpu = async () => { const i = parseInfo(await r.info("cpu")); return (Number(i.get("used_cpu_user")) + Number(i.get("used_cpu_sys"))) * 1e6; };
const json = JSON.stringify({ tenant: "bench", dagId: "dag_0123456789abcdef01234567", nodeId: "m1234", token: "1.abcdefghijklmnopqrstuvwx", output: "null", seed: 12345, next: { agent: "noop", max: 1, leaseMs: 30000, workerId: "bench-worker", rands: ["abcdefghijklmnopqrstuvwx"] } });
const scripts: Record<string, string> = {
  trivial: "return 1",
  cjson_roundtrip: "local a = cjson.decode(ARGV[1]); return cjson.encode({ duplicate = false, ready = {}, runStatus = 'running' })",
  hget_x21: "for i = 1, 21 do redis.call('HGET', KEYS[1], 'f' .. (i % 5)) end return 1",
  hincrby_x21: "for i = 1, 21 do redis.call('HINCRBY', KEYS[1], 'f' .. (i % 5), 1) end return 1",
  xadd_events: "redis.call('XADD', KEYS[1] .. ':s', '*', 't', 'node.succeeded', 'by', 'bench-worker', 'at', 1732390000000, 'n', 'm1234', 'a', 1, 'f', 'running') return 1",
  xadd_outbox: "redis.call('XADD', KEYS[1] .. ':o', '*', 'type', 'NodeSucceeded', 'tenant', 'bench', 'dag', 'dag_0123456789abcdef01234567', 'node', 'm1234', 'agent', 'noop', 'attempt', 1, 'at', 1732390000000) return 1",
  time_ms_numbers: "local t = redis.call('TIME'); local at = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000); local s = ''; for i = 1, 10 do s = tostring(at + i) end return s",
  closures_30: "".concat(...Array.from({ length: 30 }, (_, i) => `local function f${i}(a, b) if a then return b end return a end\n`)) + "return 1",
};
try {
  await r.hset("h", "f0", 1, "f1", 1, "f2", 1, "f3", 1, "f4", 1);
  for (const [name, src] of Object.entries(scripts)) {
    const sha = String(await r.script("LOAD", src));
    const N = 20000;
    const run = async () => { for (let d = 0; d < N; d += 500) await Promise.all(Array.from({ length: 500 }, () => r.evalsha(sha, 1, "h", json))); };
    await run();
    await r.del("h:s", "h:o");
    const c0 = await cpu();
    await run();
    const c1 = await cpu();
    console.log(name.padEnd(18), ((c1 - c0) / N).toFixed(2), "us redis CPU per call");
  }
} finally {
  r.disconnect();
  await server.stop();
}
