import type { Redis } from "ioredis";
import { percentile } from "./stats.js";
import { clientRequests, diffStats, sampleMemory, scriptCalls, snapshot, totalCalls, type CommandStats } from "./redis-info.js";

/** What an engine runner reports for one repetition; `latencies` is read after the clock stops. */
export interface EngineRun {
  /** Time to submit the workload's runs (ms). */
  submitMs: number;
  /** Processing time: worker start (or first submit, for concurrent runs) to the last run finished (ms). */
  elapsedMs: number;
  /** Node attempts executed (nodes + retries). */
  attempts: number;
  /** Ready -> claimed per node (ms), read from Redis after the measured window. */
  latencies(): Promise<number[]>;
  close(): Promise<void>;
}

/** One repetition's figures. Per-node figures divide by the workload's node count. */
export interface Sample {
  nodes: number;
  attempts: number;
  submitMs: number;
  elapsedMs: number;
  nodesPerSec: number;
  latencyP50: number;
  latencyP99: number;
  /** Requests the process sent to Redis (counted in ioredis), per node. */
  requestsPerNode: number;
  /** EVALSHA + EVAL executed by the server, per node. */
  scriptsPerNode: number;
  /** Every command the server executed (inside scripts too), per node. */
  commandsPerNode: number;
  /** Server script calls per second of processing. */
  scriptsPerSec: number;
  /** Peak used_memory above the empty server, per node (bytes). */
  memoryPerNode: number;
  /** redis-server CPU per node (microseconds). */
  redisCpuUsPerNode: number;
  /** redis-server CPU time over the repetition's wall time (submit + processing): 1.0 = one core saturated. */
  redisBusy: number;
  /** This Node process's CPU per node (microseconds): the worker and the client library. */
  nodeCpuUsPerNode: number;
  stats: CommandStats;
}

/**
 * Runs one repetition on a FLUSHALLed server and takes the counters around it: commandstats,
 * used_memory (sampled for the peak), server and client CPU, client requests.
 */
export async function measure(admin: Redis, nodes: number, run: () => Promise<EngineRun>): Promise<Sample> {
  await admin.flushall();
  const before = await snapshot(admin);
  const requests = clientRequests.count;
  const cpu = process.cpuUsage();
  const memory = sampleMemory(admin);
  let r: EngineRun;
  let peakMemory = 0;
  const wall = performance.now();
  try {
    r = await run();
  } finally {
    peakMemory = await memory.stop();
  }
  const wallMs = performance.now() - wall;
  const nodeCpu = process.cpuUsage(cpu);
  const after = await snapshot(admin);
  const sentRequests = clientRequests.count - requests;
  const latencies = await r.latencies();
  await r.close();
  const stats = diffStats(before.stats, after.stats);
  const processingSec = r.elapsedMs / 1000;
  return {
    nodes,
    attempts: r.attempts,
    submitMs: r.submitMs,
    elapsedMs: r.elapsedMs,
    nodesPerSec: nodes / processingSec,
    latencyP50: percentile(latencies, 50),
    latencyP99: percentile(latencies, 99),
    requestsPerNode: sentRequests / nodes,
    scriptsPerNode: scriptCalls(stats) / nodes,
    commandsPerNode: totalCalls(stats) / nodes,
    scriptsPerSec: scriptCalls(stats) / processingSec,
    memoryPerNode: Math.max(0, Math.max(peakMemory, after.usedMemory) - before.usedMemory) / nodes,
    redisCpuUsPerNode: ((after.cpuMs - before.cpuMs) * 1000) / nodes,
    redisBusy: (after.cpuMs - before.cpuMs) / wallMs,
    nodeCpuUsPerNode: (nodeCpu.user + nodeCpu.system) / nodes,
    stats,
  };
}
