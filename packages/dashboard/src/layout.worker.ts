import dagre from "@dagrejs/dagre";
import { NODE_H, NODE_W, type LayoutInput, type Positions } from "./layout";

self.onmessage = (e: MessageEvent<LayoutInput>) => {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: "LR", nodesep: 12, ranksep: 60, marginx: 10, marginy: 10 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of e.data.nodes) g.setNode(n.id, { width: NODE_W, height: NODE_H });
  for (const n of e.data.nodes) for (const d of n.deps) if (g.hasNode(d)) g.setEdge(d, n.id);
  dagre.layout(g);
  const out: Positions = {};
  for (const id of g.nodes()) {
    const p = g.node(id);
    out[id] = { x: p.x - NODE_W / 2, y: p.y - NODE_H / 2 };
  }
  (self as unknown as Worker).postMessage(out);
};
