import { hostname } from "node:os";
import type { Task } from "@weft/core/sdk";
import { startAttempt, type Attempt, type AttemptOptions, type Outcome } from "./attempt.js";
import type { Agents } from "./context.js";
import { createClient, type WeftClient } from "./client.js";

/**
 * Pull mode: a long-running worker that claims its agents' ready nodes in batches (at most
 * `concurrency` in flight per agent), runs each handler with heartbeats keeping its lease,
 * and reports the result; a completion also claims that agent's next task in the same
 * round trip. close() stops claiming, lets the tasks in flight finish for a grace period,
 * then gives the rest back (ready again at once, the attempt not counted).
 */

export interface WorkerOptions {
  agents: Agents;
  /** A client to use; otherwise one is made from baseUrl/apiKey (env WEFT_API_URL / WEFT_API_KEY). */
  client?: WeftClient;
  baseUrl?: string;
  apiKey?: string;
  /** Most tasks in flight per agent: one number for all, or per agent name. Default 4. */
  concurrency?: number | Record<string, number>;
  /** Lease asked for at claim and at each heartbeat. Default 30 s. */
  leaseMs?: number;
  /** Heartbeat period. Default leaseMs / 3. */
  heartbeatMs?: number;
  /** Wait after a claim found nothing. Default 1 s. */
  pollMs?: number;
  /** Recorded with each claim and report; default `<host>-<pid>-<random>`. */
  workerId?: string;
  /** How long close() lets tasks in flight finish before it gives them back. Default 10 s. */
  shutdownGraceMs?: number;
  log?: (line: string) => void;
}

export interface WorkerStats {
  /** Attempts completed with their output. */
  completed: number;
  /** Attempts reported as failed (retrying or failed for good). */
  failed: number;
  /** Attempts given back at shutdown. */
  released: number;
  /** Attempts that suspended to wait for a signal (ctx.suspend). */
  suspended: number;
  /** Attempts whose lease was lost: another attempt owns the node, nothing was reported. */
  lost: number;
}

export interface Worker {
  /** Stops claiming, waits up to graceMs for tasks in flight, gives back the rest. Idempotent. */
  close(o?: { graceMs?: number }): Promise<void>;
  /** Resolves once the worker has stopped (after close()). */
  done: Promise<void>;
  /** Tasks whose handler is running or whose result is being reported. */
  readonly inFlight: number;
  stats(): WorkerStats;
}

export const DEFAULT_CONCURRENCY = 4;
export const DEFAULT_LEASE_MS = 30_000;
const DEFAULT_POLL_MS = 1_000;
const DEFAULT_GRACE_MS = 10_000;
const MAX_ERROR_BACKOFF_MS = 30_000;

/** A client from explicit options or the environment (WEFT_API_URL, WEFT_API_KEY). */
export function clientFrom(o: { client?: WeftClient; baseUrl?: string; apiKey?: string }): WeftClient {
  if (o.client) return o.client;
  const baseUrl = o.baseUrl ?? process.env.WEFT_API_URL;
  if (!baseUrl) throw new Error("weft worker: pass client or baseUrl, or set WEFT_API_URL");
  const apiKey = o.apiKey ?? process.env.WEFT_API_KEY;
  return createClient({ baseUrl, ...(apiKey ? { apiKey } : {}) });
}

export function defaultWorkerId(): string {
  const host = hostname().replace(/[^A-Za-z0-9_.-]/g, "-").slice(0, 60) || "host";
  return `${host}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

function positive(value: number | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) throw new Error(`weft worker: ${name} must be a positive number, got ${value}`);
  return value;
}

/** Resolves after `ms`, or at once when `wake` is called (shutdown, a freed slot). */
function wakeableSleep(ms: number): { done: Promise<void>; wake: () => void } {
  let wake!: () => void;
  let timer: NodeJS.Timeout | undefined;
  const done = new Promise<void>((res) => {
    wake = res;
    timer = setTimeout(res, ms);
  }).finally(() => clearTimeout(timer));
  return { done, wake };
}

export function worker(o: WorkerOptions): Worker {
  const names = Object.keys(o.agents ?? {});
  if (names.length === 0) throw new Error("weft worker: agents must name at least one handler");
  const client = clientFrom(o);
  const leaseMs = positive(o.leaseMs, "leaseMs", DEFAULT_LEASE_MS);
  const heartbeatMs = positive(o.heartbeatMs, "heartbeatMs", Math.max(1, Math.floor(leaseMs / 3)));
  const pollMs = positive(o.pollMs, "pollMs", DEFAULT_POLL_MS);
  const defaultGraceMs = o.shutdownGraceMs ?? DEFAULT_GRACE_MS;
  const workerId = o.workerId ?? defaultWorkerId();
  const log = o.log ?? ((line: string) => console.error(`weft worker: ${line}`));
  const limitOf = (agent: string) => {
    const c = o.concurrency;
    const n = typeof c === "number" ? c : (c?.[agent] ?? DEFAULT_CONCURRENCY);
    if (!Number.isInteger(n) || n < 1 || n > 1000) throw new Error(`weft worker: concurrency of ${agent} must be an integer from 1 to 1000`);
    return n;
  };

  const stats: WorkerStats = { completed: 0, failed: 0, released: 0, lost: 0, suspended: 0 };
  const count = (outcome: Outcome) => stats[outcome]++;
  const attemptOptions = (agent: string): AttemptOptions => ({
    leaseMs,
    heartbeatMs,
    workerId,
    log,
    // Hand the finishing task's slot straight to the agent's next one, unless shutting down.
    claimNext: () => (closing ? undefined : { agent, max: 1 }),
  });

  let closing = false;
  const all = new Set<Attempt>();
  const lanes = names.map((agent) => ({
    agent,
    handler: o.agents[agent]!,
    limit: limitOf(agent),
    running: new Set<Attempt>(),
    sleeping: undefined as { wake: () => void } | undefined,
    options: attemptOptions(agent),
  }));
  type Lane = (typeof lanes)[number];

  // Tasks claimed while closing go straight back; close() waits for these releases.
  const givingBack = new Set<Promise<void>>();
  const giveBack = (tasks: Task[]) => {
    for (const t of tasks) {
      const p = client.release(t, workerId).then(
        () => void count("released"),
        (err: unknown) => log(`could not give back ${t.dagId}/${t.nodeId} (its lease will expire): ${(err as Error).message}`),
      );
      givingBack.add(p);
      void p.finally(() => givingBack.delete(p));
    }
  };

  const start = (lane: Lane, task: Task) => {
    const attempt = startAttempt(client, task, lane.handler, lane.options);
    lane.running.add(attempt);
    all.add(attempt);
    void attempt.settled.then(({ outcome, next }) => {
      // A given-back attempt was counted when its release was answered.
      if (attempt.phase !== "releasing") count(outcome);
      lane.running.delete(attempt);
      all.delete(attempt);
      // The completion claimed the next task into the slot this one just freed.
      if (closing) giveBack(next);
      else for (const t of next) start(lane, t);
      lane.sleeping?.wake();
    });
  };

  const pump = async (lane: Lane) => {
    let errors = 0;
    while (!closing) {
      const free = lane.limit - lane.running.size;
      let wait = 0;
      if (free <= 0) {
        wait = pollMs * 10; // a finishing task wakes the lane
      } else {
        try {
          const tasks = await client.claim(lane.agent, { max: free, leaseMs, workerId });
          errors = 0;
          if (closing) {
            giveBack(tasks);
            break;
          }
          for (const t of tasks) start(lane, t);
          if (tasks.length > 0) continue;
          wait = pollMs;
        } catch (err) {
          errors++;
          wait = Math.min(MAX_ERROR_BACKOFF_MS, pollMs * 2 ** Math.min(errors, 10));
          log(`claim for ${lane.agent} failed (again in ${wait} ms): ${(err as Error).message}`);
        }
      }
      if (closing) break;
      const s = wakeableSleep(wait);
      lane.sleeping = s;
      await s.done;
      lane.sleeping = undefined;
    }
  };

  const pumps = Promise.all(lanes.map(pump));
  let closed: Promise<void> | undefined;
  let resolveDone!: () => void;
  const done = new Promise<void>((res) => (resolveDone = res));

  const close = async (graceMs: number) => {
    closing = true;
    for (const lane of lanes) lane.sleeping?.wake();
    await pumps;
    const settledAll = () => Promise.all([...all].map((a) => a.settled));
    const grace = wakeableSleep(graceMs);
    await Promise.race([settledAll(), grace.done]);
    grace.wake();
    // Past the grace period: handlers still running are aborted and their tasks given back;
    // results already being reported are let land.
    await Promise.all([...all].map((a) => (a.phase === "running" ? a.giveBack().then(count) : a.settled)));
    await Promise.all([...all].filter((a) => a.phase !== "releasing").map((a) => a.settled));
    while (givingBack.size > 0) await Promise.all([...givingBack]);
  };

  return {
    close(c) {
      closed ??= close(c?.graceMs ?? defaultGraceMs).finally(resolveDone);
      return closed;
    },
    done,
    get inFlight() {
      let n = 0;
      for (const a of all) if (a.phase !== "releasing") n++;
      return n;
    },
    stats: () => ({ ...stats }),
  };
}
