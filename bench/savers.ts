/**
 * LangGraph checkpointers side by side (issue M12): WeftSaver on a fresh redis-server vs
 * the official PostgresSaver on local PostgreSQL vs MemorySaver (in-process, the ceiling).
 * put and getTuple throughput and p50/p99 latency at 1 and 50 concurrent threads, and
 * Redis memory per checkpoint. Part of `npm run bench` (bench/run.ts); alone:
 *
 *   npx tsx bench/savers.ts [--smoke]      # writes its section of bench/RESULTS.md (not with --smoke)
 *
 * PostgreSQL: WEFT_BENCH_PG (default postgresql://postgres@127.0.0.1:5432/test); when it
 * cannot be reached PostgresSaver is left out and the report says so.
 */
import { runSection } from "./sections.js";
import { loadavg } from "node:os";
import { PerformanceObserver } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { Redis } from "ioredis";
import pg from "pg";
import { PostgresSaver } from "@langchain/langgraph-checkpoint-postgres";
import { MemorySaver, emptyCheckpoint, uuid6, type BaseCheckpointSaver, type Checkpoint } from "@langchain/langgraph-checkpoint";
import { WeftSaver } from "@weft/langgraph";
import { startRedis } from "@weft/test-support";
import { parseInfo } from "./redis-info.js";
import { percentile } from "./stats.js";

export interface OpStats {
  ops: number;
  perSec: number;
  p50Ms: number;
  p99Ms: number;
  /** Garbage-collection pauses of this (the client) process during the phase. */
  gcPauses: number;
  gcMs: number;
}
export interface SaverRow {
  saver: string;
  threads: number;
  put: OpStats;
  getTuple: OpStats;
}
export interface SaversReport {
  date: string;
  smoke: boolean;
  rows: SaverRow[];
  /** Bytes of Redis memory per stored checkpoint (with its channel values and one write). */
  redisBytesPerCheckpoint: number;
  checkpointBytes: number;
  postgres: string;
  durationS: number;
  /** 1-minute load average (os.loadavg) when the run started and when it ended. */
  load: [number, number];
  steps: { one: number; many: number };
}

export const SECTION_START = "<!-- savers:start -->";
export const SECTION_END = "<!-- savers:end -->";
const PG_URL = process.env.WEFT_BENCH_PG ?? "postgresql://postgres@127.0.0.1:5432/test";
const PG_SCHEMA = "weft_bench";

/** A step of a chat-like graph: two new messages and a step counter, both channels changed. */
function step(i: number): { checkpoint: Checkpoint; newVersions: Record<string, number> } {
  const text = (role: string) => ({ role, content: `${role} message ${i}: ${"lorem ipsum dolor sit amet ".repeat(15)}` });
  const values = { messages: [text("user"), text("assistant")], step: i };
  const versions = { messages: i + 1, step: i + 1 };
  return {
    checkpoint: { ...emptyCheckpoint(), id: uuid6(-1), channel_values: values, channel_versions: versions, versions_seen: { agent: { messages: i } } },
    newVersions: versions,
  };
}

async function timed(latencies: number[], fn: () => Promise<unknown>): Promise<void> {
  const t = performance.now();
  await fn();
  latencies.push(performance.now() - t);
}

/** GC pauses of this process (start, duration), so a p99 can be told apart from a collection. */
const pauses: [number, number][] = [];
const gcObserver = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) pauses.push([e.startTime, e.duration]);
});

/**
 * Stats of a phase that ran from t0 to now. Node delivers GC entries to observers only
 * on a later turn of the event loop (a phase without I/O, such as MemorySaver's, gets
 * none during it), so this waits for one and counts the pauses that started in the phase.
 */
async function stats(latencies: number[], t0: number): Promise<OpStats> {
  const t1 = performance.now();
  await new Promise((r) => setTimeout(r, 20));
  const inPhase = pauses.filter(([start]) => start >= t0 && start < t1);
  return {
    ops: latencies.length,
    perSec: (latencies.length / (t1 - t0)) * 1000,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    gcPauses: inPhase.length,
    gcMs: inPhase.reduce((n, [, d]) => n + d, 0),
  };
}

/** `threads` loops at once, each writing `steps` checkpoints (and one write each) to its own thread, then reading the latest `steps` times. */
async function drive(saver: BaseCheckpointSaver, run: string, threads: number, steps: number): Promise<{ put: OpStats; getTuple: OpStats }> {
  const ids = Array.from({ length: threads }, (_, t) => `${run}-${t}`);
  const puts: number[] = [];
  let t0 = performance.now();
  await Promise.all(
    ids.map(async (thread_id) => {
      let config = { configurable: { thread_id, checkpoint_ns: "" } } as { configurable: Record<string, unknown> };
      for (let i = 0; i < steps; i++) {
        const { checkpoint, newVersions } = step(i);
        await timed(puts, async () => {
          config = (await saver.put(config, checkpoint, { source: "loop", step: i, parents: {} }, newVersions)) as typeof config;
        });
        await saver.putWrites(config, [["messages", [{ role: "tool", content: `result ${i}` }]]], `task-${i}`);
      }
    }),
  );
  const put = await stats(puts, t0);
  const gets: number[] = [];
  t0 = performance.now();
  await Promise.all(
    ids.map(async (thread_id) => {
      for (let i = 0; i < steps; i++) {
        await timed(gets, async () => {
          if (!(await saver.getTuple({ configurable: { thread_id, checkpoint_ns: "" } }))) throw new Error(`getTuple found no checkpoint on ${thread_id}`);
        });
      }
    }),
  );
  return { put, getTuple: await stats(gets, t0) };
}

async function postgres(log: (m: string) => void): Promise<PostgresSaver | string> {
  const admin = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2_000 });
  try {
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS ${PG_SCHEMA} CASCADE`);
    await admin.query(`CREATE SCHEMA ${PG_SCHEMA}`);
    const version = (await admin.query<{ server_version: string }>("SHOW server_version")).rows[0]!.server_version;
    const saver = PostgresSaver.fromConnString(PG_URL, { schema: PG_SCHEMA });
    await saver.setup();
    log(`savers: PostgreSQL ${version} at ${new URL(PG_URL).host}`);
    return saver;
  } catch (e) {
    log(`savers: PostgreSQL not reachable (${(e as Error).message}): PostgresSaver left out`);
    return `not measured: PostgreSQL not reachable (${(e as Error).message})`;
  } finally {
    await admin.end().catch(() => {});
  }
}

export async function benchSavers(o: { smoke: boolean; log: (m: string) => void }): Promise<SaversReport> {
  const started = performance.now();
  const load0 = loadavg()[0]!;
  // 5,000 samples at 1 thread: the p99 is the 50th slowest, not the 20th.
  const steps = o.smoke ? { one: 20, many: 2 } : { one: 5_000, many: 200 };
  gcObserver.observe({ entryTypes: ["gc"] });
  const server = await startRedis();
  const admin = new Redis({ port: server.port });
  const pgSaver = await postgres(o.log);
  const savers: [string, BaseCheckpointSaver][] = [
    ["WeftSaver (Redis)", new WeftSaver({ redis: server.url })],
    ...(typeof pgSaver === "string" ? [] : ([["PostgresSaver (PostgreSQL)", pgSaver]] as [string, BaseCheckpointSaver][])),
    ["MemorySaver (in-process)", new MemorySaver()],
  ];
  const rows: SaverRow[] = [];
  try {
    for (const [name, saver] of savers) {
      // Warm-up until the JIT has compiled the hot paths (the first ~1,000 calls of a fresh
      // process run slower code and would land in the p99) and the connections are open.
      if (!o.smoke) {
        await drive(saver, `warm1-${name}`, 1, 1_500);
        await drive(saver, `warm-${name}`, 10, 100);
      }
      for (const [threads, n] of [[1, steps.one], [50, steps.many]] as const) {
        const r = await drive(saver, `${name}-${threads}`, threads, n);
        rows.push({ saver: name, threads, ...r });
        o.log(`savers: ${name} x${threads}: put ${Math.round(r.put.perSec)}/s p99 ${r.put.p99Ms.toFixed(2)} ms, getTuple ${Math.round(r.getTuple.perSec)}/s p99 ${r.getTuple.p99Ms.toFixed(2)} ms`);
      }
    }
    // Memory: a fresh keyspace, then `count` checkpoints over 10 threads.
    await admin.flushall();
    const count = o.smoke ? 100 : 5_000;
    const memory = async () => Number(parseInfo(await admin.info("memory")).get("used_memory"));
    const before = await memory();
    const weft = new WeftSaver({ redis: server.url, prefix: "mem" });
    await drive(weft, "mem", 10, count / 10);
    const bytes = (await memory()) - before;
    await weft.close();
    return {
      date: new Date().toISOString(),
      smoke: o.smoke,
      rows,
      redisBytesPerCheckpoint: bytes / count,
      checkpointBytes: Buffer.byteLength(JSON.stringify(step(1).checkpoint)),
      postgres: typeof pgSaver === "string" ? pgSaver : `PostgreSQL at ${new URL(PG_URL).host}, pg pool defaults`,
      durationS: (performance.now() - started) / 1000,
      load: [load0, loadavg()[0]!],
      steps,
    };
  } finally {
    gcObserver.disconnect();
    for (const [, s] of savers) await (s as { close?: () => Promise<void>; end?: () => Promise<void> }).close?.().catch(() => {});
    if (typeof pgSaver !== "string") await pgSaver.end().catch(() => {});
    admin.disconnect();
    await server.stop();
  }
}

const f = (n: number, d = 0) => n.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });

export function renderSavers(r: SaversReport): string {
  const gcs = (x: OpStats) => `${f(x.gcMs, 0)} (${x.gcPauses})`;
  const row = (x: SaverRow) =>
    `| ${x.saver} | ${x.threads} | ${f(x.put.perSec)} | ${f(x.put.p50Ms, 2)} | ${f(x.put.p99Ms, 2)} | ${gcs(x.put)} | ${f(x.getTuple.perSec)} | ${f(x.getTuple.p50Ms, 2)} | ${f(x.getTuple.p99Ms, 2)} | ${gcs(x.getTuple)} |`;
  const at = (saver: string, threads: number) => r.rows.find((x) => x.saver.startsWith(saver) && x.threads === threads);
  const weft50 = at("WeftSaver", 50);
  const pg50 = at("PostgresSaver", 50);
  const weftGet = Math.max(...r.rows.filter((x) => x.saver.startsWith("WeftSaver")).map((x) => x.getTuple.p99Ms));
  const ratio = weft50 && pg50 ? weft50.put.perSec / pg50.put.perSec : undefined;
  return [
    SECTION_START,
    "## LangGraph checkpointers: WeftSaver vs PostgresSaver vs MemorySaver",
    "",
    `Measured ${r.date} by \`bench/savers.ts\` (${f(r.durationS, 1)} s; load average ${f(r.load[0], 2)} at the start, ${f(r.load[1], 2)} at the end, 2 CPUs shared with ` +
      `other sessions). Each thread writes checkpoints one after another (a chat-like step: two new messages and a step counter, ` +
      `${f(r.checkpointBytes)} B as JSON, both channels in newVersions, plus one write), then reads its latest checkpoint as often; "threads" ` +
      `run at once (${f(r.steps.one)} steps at 1 thread, ${f(r.steps.many)} per thread at 50), after a warm-up of 1,500 steps at 1 thread and ` +
      `100 at 10. WeftSaver on one fresh redis-server over TCP (one connection); ${r.postgres}; MemorySaver is the in-process ceiling. ` +
      '"GC" is the client process\'s garbage-collection pauses during the phase, in ms (count).',
    "",
    "| saver | threads | put/s | put p50 ms | put p99 ms | put GC | getTuple/s | getTuple p50 ms | getTuple p99 ms | getTuple GC |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...r.rows.map(row),
    "",
    `- Goal: at least 3x PostgresSaver's puts/s at 50 threads: ${ratio === undefined ? "not measured (no PostgreSQL)" : `${f(ratio, 1)}x (${r.smoke ? "smoke figure" : ratio >= 3 ? "met" : "MISSED"})`}.`,
    `- Goal: getTuple p99 under 2 ms: ${f(at("WeftSaver", 1)?.getTuple.p99Ms ?? NaN, 2)} ms at 1 thread (${r.smoke ? "smoke figure" : (at("WeftSaver", 1)?.getTuple.p99Ms ?? 99) < 2 ? "met" : "MISSED"}), ` +
      `${f(weftGet, 2)} ms at worst; at 50 threads the p99 is time queued in the one client process (MemorySaver's own p99 there: ${f(at("MemorySaver", 50)?.getTuple.p99Ms ?? NaN, 2)} ms).`,
    `- Redis memory per checkpoint (its header, checkpoint, metadata, two channel values, one write; used_memory delta over ${r.smoke ? 100 : "5,000"} checkpoints): ${f(r.redisBytesPerCheckpoint)} B.`,
    SECTION_END,
  ].join("\n");
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const { values } = parseArgs({ options: { smoke: { type: "boolean", default: false } } });
  const log = (m: string) => process.stderr.write(`${m}\n`);
  runSection(() => benchSavers({ smoke: values.smoke, log }), renderSavers, { write: true, log });
}
