import { createEngine, TcpRedis, type Engine, type Task } from "@weft/core";
import type { EngineRun } from "./measure.js";
import type { BenchNode, Workload } from "./workloads.js";

export interface WorkerOptions {
  /** Tasks in flight at once (the same number BullMQ's worker gets as `concurrency`). */
  concurrency: number;
  /** Largest claim batch. */
  batch: number;
}

const TENANT = "bench";
const AGENT = "noop";
const WORKER = "bench-worker";
const RUN_TIMEOUT_MS = 300_000;

/**
 * The bench's Weft worker: one loop claims batches while slots are free; each task is a
 * no-op, then `complete` with `claimNext` takes the worker's next task in the same script
 * call, so a busy worker costs about one round trip per node. Completions run concurrently
 * and ioredis auto-pipelining sends those issued in one tick as one write.
 */
export class BenchWorker {
  private inflight = 0;
  private hint = true;
  private stopped = false;
  private wakeup: (() => void) | undefined;
  private loopDone: Promise<void> | undefined;
  attempts = 0;

  constructor(
    private readonly engine: Engine,
    private readonly opts: WorkerOptions,
    private readonly failOnce: ReadonlySet<string>,
    private readonly onRunFinished: (dagId: string) => void,
    private readonly onError: (err: unknown) => void,
  ) {}

  start(): void {
    this.loopDone = this.loop().catch((err) => {
      this.stopped = true;
      this.onError(err);
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake(true);
    await this.loopDone;
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
      // Claim only when a slot is free and there may be work: after an empty claim, wait
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

  private run(first: Task): void {
    this.inflight++;
    void this.process(first)
      .catch((err) => {
        this.stopped = true;
        this.onError(err);
      })
      .finally(() => {
        this.inflight--;
        this.wake(false);
      });
  }

  private async process(first: Task): Promise<void> {
    let task: Task | undefined = first;
    while (task && !this.stopped) {
      this.attempts++;
      const t: Task = task;
      if (t.attempt === 1 && this.failOnce.has(t.nodeId)) {
        const f = await this.engine.fail(TENANT, t.dagId, t.nodeId, t.leaseToken, { message: "bench: fails once" }, true, { workerId: WORKER });
        if (f.status === "retrying") this.wake(true);
        return;
      }
      const r = await this.engine.complete(TENANT, t.dagId, t.nodeId, t.leaseToken, null, {
        claimNext: { agent: AGENT, max: 1, workerId: WORKER },
      });
      if (r.runStatus !== "running") this.onRunFinished(t.dagId);
      if (r.ready.length > (r.next?.length ?? 0)) this.wake(true);
      task = r.next?.[0];
    }
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

export async function runWeft(url: string, w: Workload, opts: WorkerOptions): Promise<EngineRun> {
  const redis = new TcpRedis({ url });
  await redis.client.ping();
  const maxNodes = Math.max(10_000, ...w.runs.map((r) => r.length));
  const engine = createEngine({ redis, limits: { maxNodes } });
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
async function weftLatencies(engine: Engine, dagIds: string[], failOnce: ReadonlySet<string>): Promise<number[]> {
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
