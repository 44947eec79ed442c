import { createEngine, type RunAdmin, type Task, type WorkerEngine } from "@weft/core";
import { TcpRedis } from "@weft/core/redis";
import type { EngineRun } from "./measure.js";
import type { BenchNode, Workload } from "./workloads.js";

export interface WorkerOptions {
  /** Tasks in flight at once (the same number BullMQ's worker gets as `concurrency`). */
  concurrency: number;
  /** Largest claim batch. */
  batch: number;
  /** Weft's scripts as Redis Functions (FCALL, the TCP default) or EVALSHA (`--eval`). */
  functions?: boolean;
}

const TENANT = "bench";
const AGENT = "noop";
const WORKER = "bench-worker";
const RUN_TIMEOUT_MS = 300_000;

/** Completion batches in flight at once (pipelined on the one connection). */
const MAX_FLUSHES = 4;

/**
 * The bench's Weft worker: a loop claims batches while slots are free; each task is a no-op;
 * the tasks that finished in one event-loop tick are completed together (`completeMany`:
 * one script call per batch) with `claimNext`, which claims as many next tasks in the same
 * call, so a busy worker costs a fraction of a round trip per node and a chain costs one
 * per hop. Several batches may be in flight; ioredis auto-pipelining sends them together.
 */
export class BenchWorker {
  private inflight = 0;
  private hint = true;
  private stopped = false;
  private wakeup: (() => void) | undefined;
  private loopDone: Promise<void> | undefined;
  private finished: Task[] = [];
  private flushScheduled = false;
  private flushing = 0;
  private readonly finishedRuns = new Set<string>();
  attempts = 0;

  constructor(
    private readonly engine: WorkerEngine,
    private readonly opts: WorkerOptions,
    private readonly failOnce: ReadonlySet<string>,
    private readonly onRunFinished: (dagId: string) => void,
    private readonly onError: (err: unknown) => void,
  ) {}

  start(): void {
    this.loopDone = this.loop().catch((err) => this.broke(err));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake(true);
    await this.loopDone;
  }

  private broke(err: unknown): void {
    this.stopped = true;
    this.onError(err);
  }

  private wake(work: boolean): void {
    if (work) this.hint = true;
    const w = this.wakeup;
    this.wakeup = undefined;
    w?.();
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const free = this.opts.concurrency - this.inflight;
      // Claim only when a slot is free and there may be work: after a short claim, wait
      // until a completion released more children than it claimed for itself.
      if (free > 0 && this.hint) {
        const max = Math.min(free, this.opts.batch);
        const tasks = await this.engine.claim(TENANT, AGENT, { max, workerId: WORKER });
        if (tasks.length < max) this.hint = false;
        for (const t of tasks) this.run(t);
        continue;
      }
      await new Promise<void>((resolve) => {
        this.wakeup = resolve;
        // Nothing in flight means nothing will wake us: poll (new runs, due retries).
        if (this.inflight === 0) setTimeout(() => this.wake(true), 1);
      });
    }
  }

  /** The no-op agent: done at once; failing nodes report their first attempt as failed. */
  private run(t: Task): void {
    this.inflight++;
    this.attempts++;
    if (t.attempt === 1 && this.failOnce.has(t.nodeId)) {
      void this.failTask(t).catch((err) => this.broke(err));
      return;
    }
    this.finished.push(t);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => {
        this.flushScheduled = false;
        this.flush();
      });
    }
  }

  private flush(): void {
    while (this.finished.length > 0 && this.flushing < MAX_FLUSHES && !this.stopped) {
      const batch = this.finished.splice(0, this.opts.batch);
      this.flushing++;
      void this.complete(batch)
        .catch((err) => this.broke(err))
        .finally(() => {
          this.flushing--;
          this.flush();
          this.wake(false);
        });
    }
  }

  private async complete(batch: Task[]): Promise<void> {
    const r = await this.engine.completeMany(
      TENANT,
      batch.map((t) => ({ dagId: t.dagId, nodeId: t.nodeId, leaseToken: t.leaseToken, output: null })),
      { workerId: WORKER, claimNext: { agent: AGENT, max: batch.length, workerId: WORKER } },
    );
    this.inflight -= batch.length;
    let released = 0;
    r.results.forEach((res, i) => {
      if ("error" in res) throw res.error;
      released += res.ready.length;
      const dagId = batch[i]!.dagId;
      if (res.runStatus !== "running" && !this.finishedRuns.has(dagId)) {
        this.finishedRuns.add(dagId);
        this.onRunFinished(dagId);
      }
    });
    const next = r.next ?? [];
    if (released > next.length) this.hint = true;
    for (const t of next) this.run(t);
  }

  private async failTask(t: Task): Promise<void> {
    const f = await this.engine.fail(TENANT, t, { message: "bench: fails once" }, { retryable: true, workerId: WORKER });
    this.inflight--;
    this.wake(f.status === "retrying");
  }
}

const spec = (nodes: BenchNode[], retries: boolean) => ({
  nodes: nodes.map((n) => ({
    id: n.id,
    agent: AGENT,
    ...(n.deps.length ? { deps: n.deps } : {}),
    ...(retries ? { retry: { maxAttempts: 2, backoffMs: 0 } } : {}),
  })),
});

/**
 * One repetition of a workload on Weft: on a redis-server at `url`, or on what `connect`
 * opens (bench/cluster.ts: a Redis Cluster, runs spread over `shardCount` shards).
 */
export async function runWeft(url: string | { connect: () => TcpRedis; shardCount: number; prefix: string }, w: Workload, opts: WorkerOptions): Promise<EngineRun> {
  const redis = typeof url === "string" ? new TcpRedis({ url, functions: opts.functions ?? true }) : url.connect();
  await redis.client.ping();
  await redis.prepare();
  const maxNodes = Math.max(10_000, ...w.runs.map((r) => r.length));
  const engine = createEngine({ redis, limits: { maxNodes }, ...(typeof url === "string" ? {} : { shardCount: url.shardCount, prefix: url.prefix }) });
  const specs = w.runs.map((r) => spec(r, w.failOnce.size > 0));
  let finished = 0;
  let allDone!: () => void;
  let broke!: (err: unknown) => void;
  const done = new Promise<void>((resolve, reject) => {
    allDone = resolve;
    broke = reject;
  });
  const worker = new BenchWorker(
    engine,
    opts,
    w.failOnce,
    () => {
      if (++finished === specs.length) allDone();
    },
    broke,
  );
  const dagIds: string[] = [];
  const submitAll = async () => {
    const t = performance.now();
    const subs = w.concurrentRuns ? await Promise.all(specs.map((s) => engine.submit(TENANT, s))) : [];
    for (const s of w.concurrentRuns ? [] : specs) subs.push(await engine.submit(TENANT, s));
    dagIds.push(...subs.map((s) => s.dagId));
    return performance.now() - t;
  };

  let submitMs: number;
  let t0: number;
  if (w.concurrentRuns) {
    worker.start();
    t0 = performance.now();
    submitMs = await submitAll();
  } else {
    submitMs = await submitAll();
    t0 = performance.now();
    worker.start();
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`weft ${w.key}: not finished after ${RUN_TIMEOUT_MS} ms (${finished} runs)`)), RUN_TIMEOUT_MS);
  });
  try {
    await Promise.race([done, timeout]);
  } finally {
    clearTimeout(timer);
  }
  const elapsedMs = performance.now() - t0;
  await worker.stop();
  return {
    submitMs,
    elapsedMs,
    attempts: worker.attempts,
    latencies: () => weftLatencies(engine, dagIds, w.failOnce),
    close: () => engine.close(),
  };
}

/**
 * Ready -> claimed from the run's own event log: `node.ready` (attempt 0) to `node.started`
 * (attempt 1), both stamped by Redis TIME inside the scripts (ms resolution). Nodes that fail
 * once are left out (BullMQ keeps only the last attempt's start, so both sides drop them).
 */
async function weftLatencies(engine: RunAdmin, dagIds: string[], failOnce: ReadonlySet<string>): Promise<number[]> {
  const out: number[] = [];
  for (const dagId of dagIds) {
    const ready = new Map<string, number>();
    let after = 0;
    for (;;) {
      const page = await engine.events(TENANT, dagId, { after, limit: 10_000 });
      for (const e of page.events) {
        if (!e.node || failOnce.has(e.node)) continue;
        if (e.type === "node.ready" && e.attempt === 0) ready.set(e.node, e.at);
        if (e.type === "node.started" && e.attempt === 1) {
          const r = ready.get(e.node);
          if (r !== undefined) out.push(e.at - r);
        }
      }
      if (page.events.length < 10_000) break;
      after = page.cursor;
    }
  }
  return out;
}
