import { afterAll, beforeAll, expect } from "vitest";
import { Redis } from "ioredis";
import { createEngine, type EngineOptions } from "@weft/core";
import type { Engine, OutboxEvent, RunEvent, RunView, Task } from "@weft/core";
import { TcpRedis, type RedisPort } from "@weft/core/redis";
import { foldEvents } from "@weft/core/sdk";
import { logViolations } from "./invariants.js";
import { startRedis, useBackend, type Backend, type BackendName, type RedisProcess } from "@weft/test-support";

/** A clock the test moves by hand, so lease expiry and backoff are deterministic. */
export interface FakeClock {
  now: number;
  advance(ms: number): number;
}

export function fakeClock(start = 1_000_000): FakeClock {
  const c: FakeClock = {
    now: start,
    advance(ms) {
      c.now += ms;
      return c.now;
    },
  };
  return c;
}

export interface EngineCtx {
  engine: Engine;
  clock: FakeClock;
  tenant: string;
  redis: RedisPort;
  prefix: string;
  shardCount: number;
}

let seq = 0;

/**
 * A fresh engine on its own key prefix: tests share one Redis per file but never see
 * each other's runs, ready queues, lease indexes or outboxes (reconcile included).
 */
export function freshEngine(backend: Backend, redis: RedisPort = backend.redis(), extra: Partial<EngineOptions> = {}): EngineCtx {
  seq++;
  const clock = fakeClock();
  const prefix = `t${process.pid}x${seq}`;
  const engine = createEngine({ redis, shardCount: backend.shardCount, prefix, clock: () => clock.now, ...extra });
  return { engine, clock, tenant: `tenant-${seq}`, redis, prefix, shardCount: backend.shardCount };
}

/** Another engine on the same keys and clock as `ctx`, over its own connection: a second process. */
export function peer(ctx: EngineCtx, redis: RedisPort): EngineCtx {
  const engine = createEngine({ redis, shardCount: ctx.shardCount, prefix: ctx.prefix, clock: () => ctx.clock.now });
  return { ...ctx, engine, redis };
}

export async function allEvents(engine: Engine, tenant: string, dagId: string): Promise<RunEvent[]> {
  const out: RunEvent[] = [];
  let after = 0;
  for (;;) {
    const page = await engine.events(tenant, dagId, { after, limit: 1000 });
    out.push(...page.events);
    if (page.events.length === 0) return out;
    after = page.cursor;
  }
}

export async function allOutbox(engine: Engine): Promise<OutboxEvent[]> {
  return engine.readOutbox({ limit: 10_000 });
}

export interface Snapshot {
  run: RunView;
  events: RunEvent[];
  outbox: OutboxEvent[];
}

export async function snapshot(ctx: EngineCtx, dagId: string): Promise<Snapshot> {
  const { engine, tenant } = ctx;
  return {
    run: await engine.getRun(tenant, dagId, { include: { input: true, output: true } }),
    events: await allEvents(engine, tenant, dagId),
    outbox: await allOutbox(engine),
  };
}

/** Asserts `action` rejects with `errorClass` and leaves the run, its log and the outbox exactly as they were. */
export async function expectRejectedUnchanged(
  ctx: EngineCtx,
  dagId: string,
  action: () => Promise<unknown>,
  errorClass: abstract new (...args: never[]) => Error,
): Promise<Error> {
  const before = await snapshot(ctx, dagId);
  let caught: unknown;
  try {
    await action();
  } catch (err) {
    caught = err;
  }
  expect(caught, "the transition should have been rejected").toBeInstanceOf(errorClass);
  const after = await snapshot(ctx, dagId);
  expect(after).toEqual(before);
  return caught as Error;
}

export async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a rejection, the call resolved");
}

export function statuses(run: RunView): Record<string, string> {
  return Object.fromEntries(run.nodes.map((n) => [n.id, n.status]));
}

export function node(run: RunView, id: string) {
  const n = run.nodes.find((x) => x.id === id);
  if (!n) throw new Error(`node ${id} not in run ${run.dagId}`);
  return n;
}

export function byNode(tasks: Task[]): Record<string, Task> {
  return Object.fromEntries(tasks.map((t) => [t.nodeId, t]));
}

/** Claims exactly the one named ready node (push-style), failing loudly otherwise. */
export async function claimOne(ctx: EngineCtx, dagId: string, nodeId: string, leaseMs = 10_000, workerId = "w1"): Promise<Task> {
  return ctx.engine.claimNode(ctx.tenant, dagId, nodeId, { leaseMs, workerId });
}

/** a -> {b, c} -> d, every node on agent "ag". */
export function diamond(extra: Record<string, unknown> = {}) {
  return {
    nodes: [
      { id: "a", agent: "ag", input: { n: 1 } },
      { id: "b", agent: "ag", deps: ["a"] },
      { id: "c", agent: "ag", deps: ["a"] },
      { id: "d", agent: "ag", deps: ["b", "c"] },
    ],
    ...extra,
  };
}

export function terminalEvents(events: RunEvent[]): RunEvent[] {
  return events.filter((e) => e.type === "run.succeeded" || e.type === "run.failed" || e.type === "run.cancelled");
}

/**
 * Starts `name` once for the enclosing describe block and opens one shared port on it;
 * `fresh()` gives each test its own engine (own prefix, own fake clock) over that port.
 */
export function useEngines(name: BackendName): { backend: () => Backend; fresh: (extra?: Partial<EngineOptions>) => EngineCtx } {
  const backend = useBackend(name);
  let redis: RedisPort | undefined;
  beforeAll(() => {
    redis = backend().redis();
  });
  return {
    backend,
    fresh: (extra?: Partial<EngineOptions>) => {
      if (!redis) throw new Error("useEngines: backend not started yet");
      return freshEngine(backend(), redis, extra);
    },
  };
}

/**
 * One redis-server for the enclosing describe block, for tests that write a stored form
 * directly (what an earlier version left behind): the port the engine runs on, and a plain
 * client on the same server. Getters, valid inside tests.
 */
export function useRawRedis(): { redis: () => TcpRedis; raw: () => Redis } {
  let server: RedisProcess | undefined;
  let redis: TcpRedis | undefined;
  let raw: Redis | undefined;
  beforeAll(async () => {
    server = await startRedis();
    redis = new TcpRedis({ url: server.url });
    raw = new Redis({ port: server.port });
  });
  afterAll(async () => {
    raw?.disconnect();
    await redis?.close();
    await server?.stop();
  });
  const started = <T>(x: T | undefined): T => {
    if (!x) throw new Error("useRawRedis: call it in a describe block, use it inside tests");
    return x;
  };
  return { redis: () => started(redis), raw: () => started(raw) };
}

/** The run's event log folds to the run as read now: every node's status and attempt. */
export async function expectLogFoldsToRun(ctx: EngineCtx, dagId: string, submitted: { id: string; deps?: string[] }[]): Promise<void> {
  const log = await allEvents(ctx.engine, ctx.tenant, dagId);
  const run = await ctx.engine.getRun(ctx.tenant, dagId);
  expect(foldEvents(submitted, log).nodes).toEqual(Object.fromEntries(run.nodes.map((x) => [x.id, { status: x.status, attempt: x.attempt }])));
}

/** The run's event log breaks no log invariant (invariants.ts) and folds to the run as read now. */
export async function expectSoundLog(ctx: EngineCtx, dagId: string, submitted: { id: string; deps?: string[] }[]): Promise<void> {
  expect(logViolations(submitted, await allEvents(ctx.engine, ctx.tenant, dagId))).toEqual([]);
  await expectLogFoldsToRun(ctx, dagId, submitted);
}
