import { aggMedian, coordCenter, coordGreedy, coordSimplex, decrossDfs, decrossTwoLayer, graph as dagGraph, layeringLongestPath, sugiyama, twolayerAgg } from "d3-dag";
import { layoutTier, NODE_H, NODE_W, type LayoutInput, type LayoutResult, type Positions } from "./layout";

/**
 * d3-dag's Sugiyama layout (layers from the longest path, left to right), its strategies picked
 * by the graph's size (layoutTier): the optimal ones are quadratic or worse and would take
 * minutes on a 5,000-node run, the cheap ones a fraction of a second.
 */
self.onmessage = (e: MessageEvent<LayoutInput>) => {
  const t0 = performance.now();
  // Built node by node (graphStratify checks and wraps each datum: twice the time at 5,000 nodes).
  const graph = dagGraph<{ id: string }, undefined>();
  const byId = new Map(e.data.nodes.map((n) => [n.id, graph.node({ id: n.id })]));
  for (const n of e.data.nodes) {
    const child = byId.get(n.id)!;
    for (const d of n.deps) {
      const parent = byId.get(d);
      if (parent) graph.link(parent, child);
    }
  }
  const tier = layoutTier(e.data.nodes.length);
  const twoLayer = (passes: number) => decrossTwoLayer().order(twolayerAgg().aggregator(aggMedian)).passes(passes);
  const layout = sugiyama()
    .layering(layeringLongestPath())
    .decross(tier === "fast" ? decrossDfs() : twoLayer(tier === "best" ? 8 : 2))
    .coord(tier === "best" ? coordSimplex() : tier === "good" ? coordGreedy() : coordCenter())
    // Laid out top-down with a layer's nodes side by side, drawn left to right: the axes swap.
    .nodeSize([NODE_H, NODE_W] as const)
    .gap([12, 60]);
  layout(graph);
  const positions: Positions = {};
  for (const n of graph.nodes()) positions[n.data.id] = { x: n.y - NODE_W / 2, y: n.x - NODE_H / 2 };
  const out: LayoutResult = { positions, tier, ms: performance.now() - t0 };
  (self as unknown as Worker).postMessage(out);
};
