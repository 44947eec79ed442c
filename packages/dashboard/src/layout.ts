/** Layered layout of a run's DAG (dagre), computed in a worker so the page stays responsive. */
export interface LayoutInput {
  nodes: { id: string; deps: string[] }[];
}
export type Positions = Record<string, { x: number; y: number }>;

export const NODE_W = 132;
export const NODE_H = 34;

export function layoutInWorker(input: LayoutInput): Promise<Positions> {
  const worker = new Worker(new URL("./layout.worker.ts", import.meta.url), { type: "module" });
  return new Promise((resolve, reject) => {
    worker.onmessage = (e: MessageEvent<Positions>) => {
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
