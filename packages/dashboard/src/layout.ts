/** Layered layout of a run's DAG (d3-dag's Sugiyama), computed in a worker so the page stays responsive. */
export interface LayoutInput {
  nodes: { id: string; deps: string[] }[];
}
export type Positions = Record<string, { x: number; y: number }>;
export interface LayoutResult {
  positions: Positions;
  tier: LayoutTier;
  /** Time the layout took in the worker. */
  ms: number;
}

export const NODE_W = 132;
export const NODE_H = 34;

/**
 * How hard the layout tries, by node count (measured with d3-dag 1.2 on a layered DAG of 2
 * parents per node, Node 20): "best" (8 median passes against crossings, coordinates by a
 * linear program) takes 0.14 s at 100 nodes and 24 s at 1,000; "good" (2 passes, greedy
 * coordinates) 0.7 s at 1,000 and 1.2 s at 5,000; "fast" (nodes ordered by a depth-first
 * walk, centred in their layer) 0.23 s at 5,000.
 */
export type LayoutTier = "best" | "good" | "fast";
export const layoutTier = (nodes: number): LayoutTier => (nodes <= 150 ? "best" : nodes <= 1_500 ? "good" : "fast");

const newWorker = () => new Worker(new URL("./layout.worker.ts", import.meta.url), { type: "module" });
let spare: Worker | undefined;

/** Starts a layout worker ahead of time: its script loads while the run is being read. */
export function prewarmLayout(): void {
  spare ??= newWorker();
}

export function layoutInWorker(input: LayoutInput): Promise<LayoutResult> {
  const worker = spare ?? newWorker();
  spare = undefined;
  return new Promise((resolve, reject) => {
    worker.onmessage = (e: MessageEvent<LayoutResult>) => {
      resolve(e.data);
      worker.terminate();
    };
    worker.onerror = (e) => {
      reject(new Error(e.message));
      worker.terminate();
    };
    worker.postMessage(input);
  });
}
