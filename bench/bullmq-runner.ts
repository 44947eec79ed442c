import { FlowProducer, Queue, Worker, type FlowJob, type Job } from "bullmq";
import type { EngineRun } from "./measure.js";
import type { WorkerOptions } from "./weft-runner.js";
import { closestForest, type TreeNode, type Workload } from "./workloads.js";

const RUN_TIMEOUT_MS = 300_000;

interface Flows {
  /** One addBulk per run (a forest when the DAG is not a tree). */
  perRun: FlowJob[][];
  /** Children of each job id, to find when a parent became ready. */
  children: Map<string, string[]>;
}

function toFlows(w: Workload, queueName: string): Flows {
  const children = new Map<string, string[]>();
  const opts = w.failOnce.size ? { attempts: 2, backoff: { type: "fixed", delay: 0 } } : {};
  const toJob = (n: TreeNode): FlowJob => {
    children.set(n.id, n.children.map((c) => c.id));
    return { name: "noop", queueName, opts: { jobId: n.id, ...opts }, children: n.children.map(toJob) };
  };
  return { perRun: w.runs.map((r) => closestForest(r).roots.map(toJob)), children };
}

/**
 * The same workload on BullMQ flows: one Worker with the same concurrency, a no-op processor,
 * BullMQ defaults otherwise (completed jobs kept, as Weft keeps a finished run until archived).
 */
export async function runBullmq(port: number, w: Workload, opts: WorkerOptions): Promise<EngineRun> {
  const connection = { host: "127.0.0.1", port, maxRetriesPerRequest: null };
  const queueName = `bench-${w.key}`;
  const flows = toFlows(w, queueName);
  const total = flows.children.size;
  const producer = new FlowProducer({ connection });
  const queue = new Queue(queueName, { connection });
  let attempts = 0;
  const worker = new Worker(
    queueName,
    async (job: Job) => {
      attempts++;
      if (job.attemptsMade === 0 && w.failOnce.has(job.id!)) throw new Error("bench: fails once");
    },
    { connection, concurrency: opts.concurrency, autorun: false },
  );
  await Promise.all([producer.waitUntilReady(), queue.waitUntilReady(), worker.waitUntilReady()]);
  let completed = 0;
  const done = new Promise<void>((resolve, reject) => {
    worker.on("completed", () => {
      if (++completed === total) resolve();
    });
    worker.on("error", reject);
  });
  const submitAll = async () => {
    const t = performance.now();
    await Promise.all(flows.perRun.map((f) => producer.addBulk(f)));
    return performance.now() - t;
  };

  let submitMs: number;
  let t0: number;
  let running: Promise<void>;
  if (w.concurrentRuns) {
    running = worker.run();
    t0 = performance.now();
    submitMs = await submitAll();
  } else {
    submitMs = await submitAll();
    t0 = performance.now();
    running = worker.run();
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`bullmq ${w.key}: ${completed}/${total} jobs after ${RUN_TIMEOUT_MS} ms`)), RUN_TIMEOUT_MS);
  });
  try {
    await Promise.race([done, timeout]);
  } finally {
    clearTimeout(timer);
  }
  const elapsedMs = performance.now() - t0;
  await worker.close();
  await running;
  return {
    submitMs,
    elapsedMs,
    attempts,
    latencies: () => bullmqLatencies(queue, flows.children, w.failOnce),
    close: async () => {
      await Promise.all([producer.close(), queue.close()]);
    },
  };
}

/**
 * Ready -> claimed from the jobs' own timestamps (ms, the clients' clocks, set in BullMQ's
 * scripts): a job is ready when added (leaf) or when its last child finished (parent);
 * it is claimed at `processedOn`. Jobs that failed once are left out (their `processedOn`
 * is the retry's).
 */
async function bullmqLatencies(queue: Queue, children: Map<string, string[]>, failOnce: ReadonlySet<string>): Promise<number[]> {
  const jobs = await queue.getJobs(["completed"], 0, -1, true);
  const byId = new Map(jobs.map((j) => [j.id!, j]));
  const out: number[] = [];
  for (const job of jobs) {
    if (failOnce.has(job.id!) || job.processedOn === undefined) continue;
    let ready = job.timestamp;
    for (const c of children.get(job.id!) ?? []) ready = Math.max(ready, byId.get(c)?.finishedOn ?? ready);
    out.push(job.processedOn - ready);
  }
  return out;
}
