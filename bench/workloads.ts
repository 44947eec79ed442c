import { prng } from "@weft/test-support";

/** One node of a benchmark DAG, engine-neutral. */
export interface BenchNode {
  id: string;
  deps: string[];
}

export type WorkloadKey = "a" | "b" | "c" | "d" | "e";

export interface Workload {
  key: WorkloadKey;
  title: string;
  /** One DAG per run (most workloads have a single run). */
  runs: BenchNode[][];
  /** Node ids whose first attempt fails (retried with backoff 0). */
  failOnce: ReadonlySet<string>;
  /** Runs are submitted while the worker is already running (many small concurrent runs). */
  concurrentRuns: boolean;
  /** How the BullMQ side differs from the DAG. */
  bullmqNote: string;
}

export interface Sizes {
  fanWidth: number;
  chainLength: number;
  layers: number;
  layerWidth: number;
  depsPerNode: number;
  retryWidth: number;
  failEvery: number;
  runs: number;
  runWidth: number;
}

export const FULL: Sizes = {
  fanWidth: 10_000,
  chainLength: 1_000,
  layers: 50,
  layerWidth: 200,
  depsPerNode: 3,
  retryWidth: 10_000,
  failEvery: 20,
  runs: 100,
  runWidth: 98,
};

/** Every workload once, small: CI runs this so the bench cannot rot. */
export const SMOKE: Sizes = {
  fanWidth: 200,
  chainLength: 50,
  layers: 10,
  layerWidth: 30,
  depsPerNode: 3,
  retryWidth: 200,
  failEvery: 20,
  runs: 10,
  runWidth: 18,
};

export function fanOutIn(width: number, prefix = ""): BenchNode[] {
  const src = `${prefix}src`;
  const mids = Array.from({ length: width }, (_, i) => `${prefix}m${i}`);
  return [{ id: src, deps: [] }, ...mids.map((id) => ({ id, deps: [src] })), { id: `${prefix}sink`, deps: mids }];
}

export function chain(length: number): BenchNode[] {
  return Array.from({ length }, (_, i) => ({ id: `c${i}`, deps: i === 0 ? [] : [`c${i - 1}`] }));
}

/** `layers` x `width` nodes; every node past the first layer depends on `deps` distinct nodes of the previous one. */
export function layered(layers: number, width: number, deps: number, seed = 42): BenchNode[] {
  const rnd = prng(seed);
  const nodes: BenchNode[] = [];
  for (let l = 0; l < layers; l++) {
    for (let i = 0; i < width; i++) {
      const picked = new Set<string>();
      while (l > 0 && picked.size < Math.min(deps, width)) picked.add(`l${l - 1}n${Math.floor(rnd() * width)}`);
      nodes.push({ id: `l${l}n${i}`, deps: [...picked] });
    }
  }
  return nodes;
}

export function workloads(s: Sizes): Workload[] {
  const fan = fanOutIn(s.fanWidth);
  const retry = fanOutIn(s.retryWidth);
  const failOnce = new Set(retry.filter((_, i) => i % s.failEvery === s.failEvery - 1).map((n) => n.id));
  const many = Array.from({ length: s.runs }, (_, r) => fanOutIn(s.runWidth, `r${r}-`));
  const keep1 = "BullMQ jobs have one parent: each node keeps only the edge to its first dependent (a forest of flows)";
  return [
    {
      key: "a",
      title: `fan-out/fan-in 1 -> ${s.fanWidth} -> 1`,
      runs: [fan],
      failOnce: new Set(),
      concurrentRuns: false,
      bullmqNote: `${keep1}; here the sink's children are the ${s.fanWidth} middle nodes and the source is a child of m0 only, so the other middle nodes do not wait for it.`,
    },
    {
      key: "b",
      title: `chain of ${s.chainLength}`,
      runs: [chain(s.chainLength)],
      failOnce: new Set(),
      concurrentRuns: false,
      bullmqNote: "Exact: a flow nested 1,000 deep (the last node is the top parent, the first node the deepest child).".replace(
        "1,000",
        s.chainLength.toLocaleString("en-US"),
      ),
    },
    {
      key: "c",
      title: `random layered DAG, ${s.layers} x ${s.layerWidth} nodes, ${s.depsPerNode} deps each`,
      runs: [layered(s.layers, s.layerWidth, s.depsPerNode)],
      failOnce: new Set(),
      concurrentRuns: false,
      bullmqNote: `${keep1}; about 1 of the ${s.depsPerNode} edges per node is kept, and nodes nobody depends on become the tops of separate flows (FlowProducer.addBulk, one atomic add).`,
    },
    {
      key: "d",
      title: `1 -> ${s.retryWidth} -> 1 with ${Math.round(100 / s.failEvery)}% of nodes failing once (retry, backoff 0)`,
      runs: [retry],
      failOnce,
      concurrentRuns: false,
      bullmqNote: `Same tree as (a); attempts: 2, backoff fixed 0.`,
    },
    {
      key: "e",
      title: `${s.runs} concurrent runs of ${s.runWidth + 2} nodes (1 -> ${s.runWidth} -> 1 each)`,
      runs: many,
      failOnce: new Set(),
      concurrentRuns: true,
      bullmqNote: `One flow per run, same tree shape as (a); all ${s.runs} submitted concurrently while the worker runs.`,
    },
  ];
}

export const nodeCount = (w: Workload) => w.runs.reduce((n, r) => n + r.length, 0);

/** A BullMQ flow tree: children finish before their parent. */
export interface TreeNode {
  id: string;
  children: TreeNode[];
}

/**
 * The closest forest BullMQ flows can express: a job has at most one parent, so each node
 * keeps only the edge to its first dependent (in node order); the other edges are dropped.
 */
export function closestForest(nodes: readonly BenchNode[]): { roots: TreeNode[]; keptEdges: number; totalEdges: number } {
  const tree = new Map<string, TreeNode>(nodes.map((n) => [n.id, { id: n.id, children: [] }]));
  const hasParent = new Set<string>();
  let totalEdges = 0;
  for (const n of nodes) {
    for (const d of n.deps) {
      totalEdges++;
      if (hasParent.has(d)) continue;
      hasParent.add(d);
      tree.get(n.id)!.children.push(tree.get(d)!);
    }
  }
  const roots = nodes.filter((n) => !hasParent.has(n.id)).map((n) => tree.get(n.id)!);
  return { roots, keptEdges: hasParent.size, totalEdges };
}
