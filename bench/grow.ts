/**
 * The growth workload (run by `npm run bench`, or alone with `--only grow`): a planner
 * adds `width` nodes in one completion (each depending on it, and a sink waiting for all of
 * them), then the nodes run and fan in. Measured against submitting the same fan-out/fan-in
 * whole: adding a node should cost about what submitting it costs (goal: within 1.5x).
 */
import { createEngine, type WorkerEngine } from "@weft/core";
import { TcpRedis } from "@weft/core/redis";

const TENANT = "bench";
const AGENT = "work";

export interface GrowSample {
  width: number;
  /** Submitting src -> width mids -> sink in one call. */
  submitMs: number;
  /** The planner's completion that adds the width mids and makes the sink wait for them. */
  addMs: number;
  /** addMs / submitMs, per node alike (same node count within 2). */
  ratio: number;
  addedPerSec: number;
  /** Claiming and completing every added node and the sink, batched. */
  runMs: number;
  nodesPerSec: number;
}

async function drain(engine: WorkerEngine, dagId: string, batch: number): Promise<void> {
  for (;;) {
    const tasks = await engine.claim(TENANT, AGENT, { max: batch });
    if (tasks.length === 0) return;
    const { results } = await engine.completeMany(
      TENANT,
      tasks.map((t) => ({ dagId: t.dagId, nodeId: t.nodeId, leaseToken: t.leaseToken, output: null })),
    );
    for (const r of results) if ("error" in r) throw r.error;
    if (tasks.some((t) => t.dagId !== dagId)) throw new Error("grow bench: a task of another run");
  }
}

export async function measureGrow(url: string, width: number, batch = 100): Promise<GrowSample> {
  const redis = new TcpRedis({ url });
  const engine = createEngine({ redis, limits: { maxNodes: width + 2 } });
  try {
    const mids = Array.from({ length: width }, (_, i) => ({ id: `m${i}`, agent: AGENT, deps: ["src"] }));
    let t = performance.now();
    const whole = await engine.submit(TENANT, { nodes: [{ id: "src", agent: AGENT }, ...mids, { id: "sink", agent: AGENT, deps: mids.map((m) => m.id) }] });
    const submitMs = performance.now() - t;
    await engine.cancel(TENANT, whole.dagId);

    const { dagId } = await engine.submit(TENANT, { nodes: [{ id: "src", agent: AGENT }, { id: "sink", agent: AGENT, deps: ["src"] }] });
    const [plan] = await engine.claim(TENANT, AGENT, { max: 1 });
    t = performance.now();
    await engine.complete(TENANT, { dagId, nodeId: "src", leaseToken: plan!.leaseToken }, null, { add: { nodes: mids, deps: { sink: mids.map((m) => m.id) } } });
    const addMs = performance.now() - t;
    t = performance.now();
    await drain(engine, dagId, batch);
    const runMs = performance.now() - t;
    const run = await engine.getRun(TENANT, dagId, { include: { output: false } });
    if (run.status !== "succeeded" || run.nodes.length !== width + 2) throw new Error(`grow bench: run ended ${run.status} with ${run.nodes.length} nodes`);
    return { width, submitMs, addMs, ratio: addMs / submitMs, addedPerSec: (width / addMs) * 1000, runMs, nodesPerSec: ((width + 1) / runMs) * 1000 };
  } finally {
    await engine.close();
  }
}

/** Medians of `reps` samples (after one discarded warm-up unless `warmup` is false). */
export async function growWorkload(url: string, width: number, reps: number, warmup: boolean, log: (m: string) => void): Promise<GrowSample> {
  if (warmup) await measureGrow(url, width);
  const samples: GrowSample[] = [];
  for (let i = 0; i < reps; i++) {
    const s = await measureGrow(url, width);
    samples.push(s);
    log(`(grow) rep ${i + 1}/${reps}: submit ${s.submitMs.toFixed(0)} ms, add ${s.addMs.toFixed(0)} ms (${s.ratio.toFixed(2)}x), ${Math.round(s.nodesPerSec)} nodes/s after`);
  }
  const med = (k: keyof GrowSample) => {
    const v = samples.map((s) => s[k]).sort((a, b) => a - b);
    const mid = Math.floor(v.length / 2);
    return v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
  };
  return { width, submitMs: med("submitMs"), addMs: med("addMs"), ratio: med("ratio"), addedPerSec: med("addedPerSec"), runMs: med("runMs"), nodesPerSec: med("nodesPerSec") };
}
