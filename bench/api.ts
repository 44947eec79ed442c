/**
 * Through the API (issue 18, goals 3 and 4): a chain of no-op nodes run by @weft/client over
 * the local emulator (functions/local: API Gateway emulation, the API Lambda handler, the
 * in-process bus standing in for EventBridge, a real redis-server), in both worker modes:
 * - pull: `worker()` claims, runs, and completes with claimNext (one request per hop);
 * - push: NodeReady -> `pushHandler()` (as its Lambda would be invoked) -> claim -> complete.
 * Reports ms per hop and the serverless bill per node, counted while the chain runs: API
 * Gateway requests (HTTP requests the gateway served), Lambda invocations (one per API
 * request, per push delivery and per archive delivery) and their duration, EventBridge events
 * (bus publishes), Redis script calls (each one Upstash request on the REST path) and Redis
 * commands (INFO commandstats, inside scripts included). Part of `npm run bench`; alone:
 *
 *   npx tsx bench/api.ts [--smoke] [--reps N] [--nodes N] [--write]   # prints (or writes) its section of RESULTS.md
 */
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import type { IncomingMessage } from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { Redis } from "ioredis";
import { createClient, pushHandler, worker, type NodeReadyEvent } from "@weft/client";
import type { BusEvent } from "@weft/core/events";
import { startLocal, type Local } from "../functions/local/emulator.js";
import { configureRuntime } from "../functions/config.js";
import { settleBackground } from "../functions/http/after-response.js";
import { loadHandler } from "../functions/local/handlers.js";
import { diffStats, parseCommandStats, scriptCalls, snapshot, totalCalls } from "./redis-info.js";
import { median } from "./stats.js";
import { groupedBarChart } from "./chart.js";
import { runSection } from "./sections.js";

export type ApiMode = "pull" | "push";

/** What one chain cost, per node. */
export interface ApiSample {
  msPerHop: number;
  apiRequests: number;
  lambdaInvocations: number;
  /** Lambda billed duration per node (ms, every function above, rounded up to 1 ms per invocation). */
  lambdaMs: number;
  events: number;
  scriptCalls: number;
  redisCommands: number;
  /** CPU of this whole process per node (us): client, gateway, API handler, bus, push handler. Steadier than ms per hop on a shared machine. */
  processCpuUs: number;
  /** redis-server CPU per node (us). */
  redisCpuUs: number;
}

export interface ApiReport {
  date: string;
  smoke: boolean;
  nodes: number;
  reps: number;
  load: number[];
  durationS: number;
  pull: ApiSample;
  push: ApiSample;
  /**
   * Redis script calls per node with the relay inside the request, as a deployed Lambda runs
   * it (WEFT_RELAY_AFTER_RESPONSE=0: each write's ack is its own call); pull and push above
   * run as the emulator does (acks coalesced after the response).
   */
  deployed: { pull: number; push: number };
}

/** When the list prices below were taken (README, "What a node costs"). */
export const PRICES_AS_OF = "2026-12-03";

/** List prices (us-east-1, on-demand, first tier), USD. */
export const PRICES = {
  apiGatewayPerM: 1.0, // HTTP API, per million requests
  lambdaPerM: 0.2, // per million invocations
  lambdaPerGbS: 0.0000166667, // x86, per GB-second
  lambdaGb: 1, // SST's default memory: 1024 MB (infra sets none)
  eventBridgePerM: 1.0, // custom events, per million (64 KB chunks)
  upstashPerM: 2.0, // pay as you go: $0.20 per 100,000 commands (a script call is one request)
} as const;

/** Monthly cost of `nodes` nodes in USD, without Redis (a provisioned ElastiCache is a fixed cost; Upstash separately). */
export function bill(s: ApiSample, nodes = 1_000_000): { apiGateway: number; lambda: number; eventBridge: number; total: number; upstash: number } {
  const m = nodes / 1_000_000;
  const apiGateway = s.apiRequests * PRICES.apiGatewayPerM * m;
  const lambda = (s.lambdaInvocations * PRICES.lambdaPerM + ((s.lambdaMs / 1000) * PRICES.lambdaGb * PRICES.lambdaPerGbS) * 1_000_000) * m;
  const eventBridge = s.events * PRICES.eventBridgePerM * m;
  return { apiGateway, lambda, eventBridge, total: apiGateway + lambda + eventBridge, upstash: s.scriptCalls * PRICES.upstashPerM * m };
}

const chain = (id: string, agent: string, n: number) => ({
  id,
  nodes: Array.from({ length: n }, (_, i) => ({ id: `c${i}`, agent, ...(i > 0 ? { deps: [`c${i - 1}`] } : {}) })),
});

/**
 * Counts HTTP requests the gateway (on `port`) served and their duration: each is one API
 * Lambda invocation. dynalite serves HTTP in this process too; its requests are left out.
 */
function countRequests(port: number) {
  const open = new WeakMap<IncomingMessage, number>();
  const c = { requests: 0, billedMs: 0 };
  const start = ({ request }: { request: IncomingMessage }) => {
    if (request.socket.localPort !== port) return;
    c.requests++;
    open.set(request, performance.now());
  };
  const finish = ({ request }: { request: IncomingMessage }) => {
    const t = open.get(request);
    if (t !== undefined) c.billedMs += Math.ceil(performance.now() - t);
  };
  subscribe("http.server.request.start", start as (m: unknown) => void);
  subscribe("http.server.response.finish", finish as (m: unknown) => void);
  return {
    c,
    stop: () => {
      unsubscribe("http.server.request.start", start as (m: unknown) => void);
      unsubscribe("http.server.response.finish", finish as (m: unknown) => void);
    },
  };
}

interface Harness {
  local: Local;
  admin: Redis;
  counters: { requests: number; billedMs: number; invocations: number; events: number };
  /** Resolves when the run's DagSucceeded is delivered. */
  finished(dagId: string): Promise<void>;
  setPush(fn: ((e: NodeReadyEvent) => Promise<unknown>) | undefined): void;
  stop(): Promise<void>;
}

async function harness(dataDir: string): Promise<Harness> {
  // Handlers read process.env; keep the emulator's schedules out of the measured window.
  const local = await startLocal({ port: 0, dataDir, reconcileMs: 3_600_000, subscriptions: () => false, log: () => {} });
  const admin = new Redis(local.redisUrl);
  const http = countRequests(Number(new URL(local.baseUrl).port));
  const counters = { get requests() { return http.c.requests; }, get billedMs() { return http.c.billedMs; }, invocations: 0, events: 0 };
  const waiting = new Map<string, () => void>();
  let push: ((e: NodeReadyEvent) => Promise<unknown>) | undefined;
  const timed = async (fn: () => Promise<unknown>) => {
    counters.invocations++;
    const t = performance.now();
    try {
      await fn();
    } finally {
      http.c.billedMs += Math.ceil(performance.now() - t);
    }
  };
  local.bus.subscribe({}, () => void counters.events++);
  // The archive subscription as infra deploys it: one invocation per finished run.
  const archive = await loadHandler<(e: BusEvent) => Promise<unknown>>("functions/archive.handler");
  local.bus.subscribe({ detailType: ["DagSucceeded", "DagFailed", "DagCancelled"] }, (e) => timed(() => archive(e)));
  local.bus.subscribe({ detailType: ["DagSucceeded"] }, (e) => waiting.get(e.detail.dagId)?.());
  local.bus.subscribe({ detailType: ["NodeReady"], detail: { agent: ["bench-push"] } }, (e) => (push ? timed(() => push!(e as unknown as NodeReadyEvent)) : undefined));
  return {
    local,
    admin,
    counters,
    finished: (dagId) => new Promise<void>((res) => waiting.set(dagId, res)),
    setPush: (fn) => (push = fn),
    stop: async () => {
      http.stop();
      admin.disconnect();
      await local.stop();
    },
  };
}

async function once(h: Harness, mode: ApiMode, n: number, rep: number): Promise<ApiSample> {
  const client = createClient({ baseUrl: h.local.baseUrl, ...(h.local.apiKey ? { apiKey: h.local.apiKey } : {}) });
  const agent = `bench-${mode}`;
  const dagId = `api-${mode}-${rep}-${Date.now().toString(36)}`;
  const agents = { [agent]: async () => "ok" };
  const done = h.finished(dagId);
  const before = { ...h.counters, stats: parseCommandStats(await h.admin.info("commandstats")), redisCpuMs: (await snapshot(h.admin)).cpuMs };
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  let w: ReturnType<typeof worker> | undefined;
  if (mode === "push") h.setPush(pushHandler({ agents, baseUrl: h.local.baseUrl, ...(h.local.apiKey ? { apiKey: h.local.apiKey } : {}), log: () => {} }));
  await client.submit(chain(dagId, agent, n));
  if (mode === "pull") w = worker({ agents, client, concurrency: 1, pollMs: 1, log: () => {} });
  await done;
  const ms = performance.now() - t0;
  const used = process.cpuUsage(cpu);
  const after = { ...h.counters, stats: parseCommandStats(await h.admin.info("commandstats")), redisCpuMs: (await snapshot(h.admin)).cpuMs };
  await w?.close();
  h.setPush(undefined);
  const d = diffStats(before.stats, after.stats);
  return {
    msPerHop: ms / n,
    apiRequests: (after.requests - before.requests) / n,
    lambdaInvocations: (after.requests - before.requests + after.invocations - before.invocations) / n,
    lambdaMs: (after.billedMs - before.billedMs) / n,
    events: (after.events - before.events) / n,
    scriptCalls: scriptCalls(d) / n,
    redisCommands: totalCalls(d) / n,
    processCpuUs: (used.user + used.system) / n,
    redisCpuUs: ((after.redisCpuMs - before.redisCpuMs) * 1000) / n,
  };
}

/** Runs `fn` with the API's runtime rebuilt to relay inside each request, then back. */
async function inRequestMode<T>(h: Harness, fn: () => Promise<T>): Promise<T> {
  const before = process.env.WEFT_RELAY_AFTER_RESPONSE;
  // Nothing of the previous runtime may still be running when it is replaced (the archive's delivery).
  const quiet = async () => {
    await settleBackground();
    await h.local.bus.drain();
  };
  await quiet();
  process.env.WEFT_RELAY_AFTER_RESPONSE = "0";
  await configureRuntime({ publisher: h.local.bus });
  try {
    return await fn();
  } finally {
    await quiet();
    if (before === undefined) delete process.env.WEFT_RELAY_AFTER_RESPONSE;
    else process.env.WEFT_RELAY_AFTER_RESPONSE = before;
    await configureRuntime({ publisher: h.local.bus });
  }
}

const medianSample = (xs: ApiSample[]): ApiSample =>
  Object.fromEntries(Object.keys(xs[0]!).map((k) => [k, median(xs.map((x) => x[k as keyof ApiSample]))])) as unknown as ApiSample;

export async function benchApi(o: { smoke: boolean; reps?: number; nodes?: number; log: (m: string) => void }): Promise<ApiReport> {
  const started = performance.now();
  const load = (await import("node:os")).loadavg();
  const nodes = o.nodes ?? (o.smoke ? 20 : 200);
  const reps = o.reps ?? (o.smoke ? 1 : 5);
  const dataDir = mkdtempSync(join(tmpdir(), "weft-bench-api-"));
  const h = await harness(dataDir);
  try {
    if (!o.smoke) for (const mode of ["pull", "push"] as const) await once(h, mode, Math.min(nodes, 50), -1);
    const samples: Record<ApiMode, ApiSample[]> = { pull: [], push: [] };
    // Interleaved, so drifting background load hits both modes alike.
    for (let i = 0; i < reps; i++) {
      for (const mode of ["pull", "push"] as const) samples[mode].push(await once(h, mode, nodes, i));
      o.log(`(api) rep ${i + 1}/${reps}: pull ${samples.pull[i]!.msPerHop.toFixed(2)} ms/hop, push ${samples.push[i]!.msPerHop.toFixed(2)} ms/hop`);
    }
    // The same chain once more per mode with the relay in the request (a deployed Lambda's
    // way), for the Redis and Upstash requests a deployment pays.
    const deployed = await inRequestMode(h, async () => ({
      pull: (await once(h, "pull", nodes, reps)).scriptCalls,
      push: (await once(h, "push", nodes, reps)).scriptCalls,
    }));
    return {
      date: new Date().toISOString(),
      smoke: o.smoke,
      nodes,
      reps,
      load,
      durationS: (performance.now() - started) / 1000,
      pull: medianSample(samples.pull),
      push: medianSample(samples.push),
      deployed,
    };
  } finally {
    await h.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export const API_START = "<!-- api:start -->";
export const API_END = "<!-- api:end -->";

const f = (n: number, d = 2) => n.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });

export function renderApi(r: ApiReport): string {
  const row = (label: string, get: (s: ApiSample) => string) => `| ${label} | ${get(r.pull)} | ${get(r.push)} |`;
  const b = { pull: bill(r.pull), push: bill(r.push) };
  const goal = (s: ApiSample) => (r.smoke ? "smoke figure" : s.msPerHop <= 2 ? "met" : "MISSED");
  return [
    API_START,
    "## Through the API: a chain run by @weft/client over the local emulator",
    "",
    `Measured ${r.date} by \`bench/api.ts\` (${f(r.durationS, 1)} s; load average before ${r.load.map((x) => f(x)).join(" ")}). ` +
      `A chain of ${r.nodes} no-op nodes, medians of ${r.reps} (modes interleaved, one warm-up each). Everything in one Node process: ` +
      "the local API Gateway, the API Lambda handler, the in-process bus for EventBridge, the archive subscription, and the client; " +
      "redis-server beside it. pull: `worker()` at concurrency 1 (each completion claims the next node); push: each NodeReady invokes " +
      "`pushHandler()` (claim, run, complete).",
    "",
    "| per node (median) | pull | push |",
    "| --- | ---: | ---: |",
    row("ms per hop", (s) => f(s.msPerHop)),
    row("CPU of the one Node process (client + gateway + API handler + bus), us", (s) => f(s.processCpuUs, 0)),
    row("redis-server CPU, us", (s) => f(s.redisCpuUs, 0)),
    row("API Gateway requests", (s) => f(s.apiRequests)),
    row("Lambda invocations", (s) => f(s.lambdaInvocations)),
    row("Lambda billed ms (1 ms rounding, as measured here)", (s) => f(s.lambdaMs)),
    row("EventBridge events", (s) => f(s.events)),
    row("Redis script calls (= Upstash requests), emulator: acks coalesced after the response", (s) => f(s.scriptCalls)),
    `| Redis script calls (= Upstash requests), deployed: the relay in the request | ${f(r.deployed.pull)} | ${f(r.deployed.push)} |`,
    row("Redis commands (inside scripts included)", (s) => f(s.redisCommands)),
    `| monthly cost of 1 M nodes, USD (API Gateway + Lambda + EventBridge) | ${f(b.pull.total)} | ${f(b.push.total)} |`,
    `| of which API Gateway / Lambda / EventBridge | ${f(b.pull.apiGateway)} / ${f(b.pull.lambda)} / ${f(b.pull.eventBridge)} | ${f(b.push.apiGateway)} / ${f(b.push.lambda)} / ${f(b.push.eventBridge)} |`,
    `| Upstash instead of a provisioned Redis, USD more (deployed calls) | ${f(r.deployed.pull * PRICES.upstashPerM)} | ${f(r.deployed.push * PRICES.upstashPerM)} |`,
    "",
    `- Goal (issue 18): <= 2 ms per hop with the pull worker: ${f(r.pull.msPerHop)} ms (${goal(r.pull)}); push: ${f(r.push.msPerHop)} ms.`,
    `- Prices: API Gateway HTTP API $${PRICES.apiGatewayPerM}/M requests, Lambda $${PRICES.lambdaPerM}/M invocations + $${PRICES.lambdaPerGbS}/GB-s at ${PRICES.lambdaGb * 1024} MB, ` +
      `EventBridge $${PRICES.eventBridgePerM}/M events, Upstash $${PRICES.upstashPerM}/M requests (us-east-1 list prices as of ${PRICES_AS_OF}). A provisioned Redis (ElastiCache) is a fixed monthly cost, not per node.`,
    API_END,
  ].join("\n");
}

/** ms per hop and API requests per node, pull and push (a panel of bench/chart.svg). */
export function apiChart(r: ApiReport): string {
  return groupedBarChart(
    `Through the local API: chain of ${r.nodes}, per node (lower is better)`,
    "per node",
    (["pull", "push"] as const).map((m) => ({
      label: m === "pull" ? "pull: worker()" : "push: pushHandler()",
      values: [
        { series: "ms per hop", value: r[m].msPerHop },
        { series: "API requests", value: r[m].apiRequests },
        { series: "EventBridge events", value: r[m].events },
        { series: "Redis script calls", value: r[m].scriptCalls },
      ],
    })),
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  // --write: put the section into bench/RESULTS.md (between its markers) instead of printing it.
  const { values } = parseArgs({ options: { smoke: { type: "boolean", default: false }, reps: { type: "string" }, nodes: { type: "string" }, write: { type: "boolean", default: false } } });
  const log = (m: string) => process.stderr.write(`${m}\n`);
  runSection(() => benchApi({ smoke: values.smoke, log, ...(values.reps ? { reps: Number(values.reps) } : {}), ...(values.nodes ? { nodes: Number(values.nodes) } : {}) }), renderApi, { write: values.write, log });
}
