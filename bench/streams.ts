/**
 * The run stream under load (issue 14, item 1): `clients` concurrent Server-Sent Event streams
 * of one run (GET /v1/dags/{dagId}/events/stream) against the local emulation npm start runs
 * (functions/local: the API Gateway emulation, the Stream handler served as the REST API
 * streams it, a real redis-server), while a worker completes the run's nodes one at a time.
 * For each node and each client: the time from the completion returning (POST .../complete
 * answered) to its node.succeeded event arriving at that client. Goal: p95 < 100 ms.
 *
 * Cost of an idle stream: none per client in Redis. functions/live/log-watch.ts keeps one
 * reader per process, blocked in XREAD BLOCK over the logs of every followed run, and fans
 * each read out in memory to every follower; this bench counts the XREAD calls while the
 * streams sit idle to show it.
 *
 *   npx tsx bench/streams.ts [--smoke] [--clients N] [--nodes N]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { Redis } from "ioredis";
import { createClient } from "@weft/client";
import { startLocal } from "../functions/local/emulator.js";
import { diffStats, parseCommandStats } from "./redis-info.js";
import { percentile } from "./stats.js";
import { runSection } from "./sections.js";

export interface StreamsReport {
  date: string;
  smoke: boolean;
  clients: number;
  nodes: number;
  load: number[];
  /** Completion returned -> event at a client, ms, over every (node, client). */
  p50: number;
  p95: number;
  p99: number;
  max: number;
  samples: number;
  /** Complete request sent -> event at a client, ms, p95 (an upper bound on the above). */
  sendP50: number;
  sendP95: number;
  /** Share of events that reached a client before the completion's answer did. */
  earlyShare: number;
  /** Events a client missed (should be 0). */
  missing: number;
  /** XREAD calls Redis served while every stream sat idle, per second, all clients together. */
  idleXreadsPerS: number;
  idleS: number;
}

const AGENT = "bench-stream";

export async function benchStreams(o: { smoke: boolean; clients?: number; nodes?: number; log: (m: string) => void }): Promise<StreamsReport> {
  const clients = o.clients ?? (o.smoke ? 10 : 100);
  const nodes = o.nodes ?? (o.smoke ? 10 : 100);
  const idleMs = o.smoke ? 1_000 : 5_000;
  const dataDir = mkdtempSync(join(tmpdir(), "weft-bench-streams-"));
  const local = await startLocal({ port: 0, dataDir, reconcileMs: 3_600_000, subscriptions: () => false, log: () => {} });
  const admin = new Redis(local.redisUrl);
  const ctl = new AbortController();
  try {
    const auth: Record<string, string> = local.apiKey ? { authorization: `Bearer ${local.apiKey}` } : {};
    const client = createClient({ baseUrl: local.baseUrl, ...(local.apiKey ? { apiKey: local.apiKey } : {}) });
    const { dagId } = await client.submit({ nodes: Array.from({ length: nodes }, (_, i) => ({ id: `n${i}`, agent: AGENT })) });
    // arrivals[c].get(nodeId) = when client c saw node.succeeded for it.
    const arrivals = Array.from({ length: clients }, () => new Map<string, number>());
    const ready: Promise<void>[] = [];
    const done: Promise<void>[] = [];
    for (let c = 0; c < clients; c++) {
      let opened!: () => void;
      ready.push(new Promise<void>((r) => (opened = r)));
      done.push(
        (async () => {
          const res = await fetch(`${local.baseUrl}/v1/dags/${dagId}/events/stream`, { headers: { accept: "text/event-stream", ...auth }, signal: ctl.signal });
          if (!res.ok || !res.body) throw new Error(`stream ${c}: HTTP ${res.status}`);
          opened();
          const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
          let buf = "";
          for (;;) {
            const { done: eof, value } = await reader.read();
            if (eof) return;
            const now = performance.now();
            buf += value;
            let cut: number;
            while ((cut = buf.indexOf("\n\n")) >= 0) {
              const block = buf.slice(0, cut);
              buf = buf.slice(cut + 2);
              if (block.startsWith("event: end")) return;
              const data = block.split("\n").find((l) => l.startsWith("data: "));
              if (!data) continue;
              const e = JSON.parse(data.slice(6)) as { type: string; node?: string };
              if (e.type === "node.succeeded" && e.node) arrivals[c]!.set(e.node, now);
            }
          }
        })(),
      );
    }
    await Promise.all(ready);
    // Idle: every stream open, nothing happening. Count what Redis serves meanwhile.
    const before = parseCommandStats(await admin.info("commandstats"));
    await new Promise((r) => setTimeout(r, idleMs));
    const idle = diffStats(before, parseCommandStats(await admin.info("commandstats")));
    const idleXreads = idle.xread?.calls ?? 0;

    const completedAt = new Map<string, number>();
    const sentAt = new Map<string, number>();
    for (let i = 0; i < nodes; i++) {
      const [task] = await client.claim(AGENT, { max: 1 });
      if (!task) throw new Error("no task to claim");
      sentAt.set(task.nodeId, performance.now());
      await client.complete(task, { i });
      completedAt.set(task.nodeId, performance.now());
      // Spaced out, as nodes finish in a real run, so each completion is measured on its own.
      await new Promise((r) => setTimeout(r, o.smoke ? 5 : 20));
    }
    await Promise.race([Promise.all(done), new Promise((r) => setTimeout(r, 30_000))]);
    const lat: number[] = [];
    const fromSend: number[] = [];
    let missing = 0;
    let early = 0;
    for (const a of arrivals)
      for (const [nodeId, t] of completedAt) {
        const at = a.get(nodeId);
        if (at === undefined) missing++;
        else {
          // An event can reach a client before the completion's answer reaches the worker: 0, counted.
          if (at < t) early++;
          lat.push(Math.max(0, at - t));
          fromSend.push(at - sentAt.get(nodeId)!);
        }
      }
    const r2 = (x: number) => Math.round(x * 100) / 100;
    const { loadavg } = await import("node:os");
    return {
      date: new Date().toISOString().slice(0, 10),
      smoke: o.smoke,
      clients,
      nodes,
      load: loadavg().map((x) => r2(x)),
      p50: r2(percentile(lat, 50)),
      p95: r2(percentile(lat, 95)),
      p99: r2(percentile(lat, 99)),
      max: r2(Math.max(...lat)),
      sendP50: r2(percentile(fromSend, 50)),
      sendP95: r2(percentile(fromSend, 95)),
      earlyShare: r2(early / Math.max(1, lat.length)),
      samples: lat.length,
      missing,
      idleXreadsPerS: r2(idleXreads / (idleMs / 1000)),
      idleS: idleMs / 1000,
    };
  } finally {
    ctl.abort();
    admin.disconnect();
    await local.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export const STREAMS_START = "<!-- streams:start -->";

/** Its section of bench/RESULTS.md, between markers bench/run.ts keeps across runs. */
export function renderStreams(r: StreamsReport): string {
  return [
    STREAMS_START,
    `### Live stream: ${r.clients} concurrent SSE clients (bench/streams.ts${r.smoke ? ", smoke" : ""})`,
    "",
    `${r.date}, load average ${r.load.join(" ")}. One run of ${r.nodes} nodes, ${r.clients} clients on GET /v1/dags/{dagId}/events/stream through the local emulation; a worker completes the nodes one at a time. Latency = the completion's answer returning -> its node.succeeded event at a client, over ${r.samples} (node, client) pairs (${r.missing} missing).`,
    "",
    "| p50 | p95 | p99 | max | goal |",
    "|---|---|---|---|---|",
    `| ${r.p50} ms | ${r.p95} ms | ${r.p99} ms | ${r.max} ms | p95 < 100 ms: ${r.p95 < 100 ? "met" : "MISSED"} |`,
    "",
    `${Math.round(r.earlyShare * 100)}% of the events reached a client before the completion's answer reached the worker (counted as 0 ms). From the complete request being sent to the event at a client: p50 ${r.sendP50} ms, p95 ${r.sendP95} ms.`,
    "",
    `Idle cost: with all ${r.clients} streams open and nothing happening for ${r.idleS} s, Redis completed ${r.idleXreadsPerS} XREAD calls/s in total: one shared reader per process blocked in XREAD BLOCK (functions/live/log-watch.ts), not a polling loop per client.`,
    "<!-- streams:end -->",
  ].join("\n");
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const { values } = parseArgs({ options: { smoke: { type: "boolean", default: false }, clients: { type: "string" }, nodes: { type: "string" } } });
  const log = (m: string) => process.stderr.write(`${m}\n`);
  runSection(() => benchStreams({ smoke: values.smoke, log, ...(values.clients ? { clients: Number(values.clients) } : {}), ...(values.nodes ? { nodes: Number(values.nodes) } : {}) }), renderStreams, { write: false, log });
}
