import { Handle, Position, ReactFlow, type Edge, type Node, type NodeProps, type Viewport } from "@xyflow/react";
import { memo, useCallback, useContext, useMemo, useState, useSyncExternalStore } from "react";
import type { NodeView } from "./api";
import { NODE_H, NODE_W, type Positions } from "./layout";
import { STATUS_COLOUR } from "./status";
import { StoreContext } from "./store";

export interface NodeData extends Record<string, unknown> {
  id: string;
}

/**
 * A node as small as it can be: one div, its status as a data attribute (tests read it) and a
 * colour. It reads its state from the page's NodeStore by id, so a status change renders this
 * node alone; React Flow's node objects never change for it.
 */
const WeftNode = memo(function WeftNode({ data }: NodeProps<Node<NodeData>>) {
  const store = useContext(StoreContext)!;
  const subscribe = useCallback((fn: () => void) => store.subscribe(data.id, fn), [store, data.id]);
  const n = useSyncExternalStore(subscribe, () => store.get(data.id));
  const selected = useSyncExternalStore(subscribe, () => store.isSelected(data.id));
  return (
    <div
      className={`wn${selected ? " sel" : ""}${n.status === "waiting" ? " waiting" : ""}`}
      data-testid={`node-${data.id}`}
      data-status={n.status}
      style={{ background: STATUS_COLOUR[n.status], width: NODE_W, height: NODE_H }}
      title={`${data.id}: ${n.status}`}
    >
      <Handle type="target" position={Position.Left} isConnectable={false} />
      <span>{data.id}</span>
      {n.attempt > 1 && <small>×{n.attempt}</small>}
      <Handle type="source" position={Position.Right} isConnectable={false} />
    </div>
  );
});
const nodeTypes = { weft: WeftNode };
const NO_EDGES: Edge[] = [];

/** Where WeftNode's two handles are (edges end at their middle): the middle of its left and right sides. */
const HANDLES: NonNullable<Node["handles"]> = [
  { type: "target", position: Position.Left, x: 0, y: NODE_H / 2 - 0.5, width: 1, height: 1 },
  { type: "source", position: Position.Right, x: NODE_W - 1, y: NODE_H / 2 - 0.5, width: 1, height: 1 },
];

/** Runs with more nodes than this open at a readable zoom on their first layers instead of all of the run fitted. */
export const FIT_MAX = 300;
/**
 * A big run's zoom stops at BIG_MIN_ZOOM (about 1,000 nodes in a 1,400 x 860 window) and its
 * edges are left out below FAR_ZOOM: zoomed out to 0.1 a 5,000-node run put 2,858 nodes and
 * 6,189 edges in the DOM, with main-thread tasks of 3 to 3.8 s per step.
 */
const BIG_MIN_ZOOM = 0.3;
const FAR_ZOOM = 0.5;

/**
 * The run's DAG with React Flow: positions from the layered layout (computed in a worker),
 * statuses from the NodeStore, only what is in view rendered. The node and edge arrays are
 * built once per layout: a 5,000-node run costs its visible nodes per frame, not 5,000.
 */
export const Graph = memo(function Graph(p: { nodes: NodeView[]; positions: Positions; onSelect(id: string): void }) {
  const edges = useMemo<Edge[]>(
    () => p.nodes.flatMap((n) => n.deps.map((d) => ({ id: `${d}>${n.id}`, source: d, target: n.id, type: "straight" }))),
    [p.nodes],
  );
  const nodes = useMemo<Node<NodeData>[]>(
    () =>
      p.nodes.map((n) => ({
        id: n.id,
        type: "weft",
        position: p.positions[n.id] ?? { x: 0, y: 0 },
        // Known sizes and handles: without them React Flow renders every node once to measure it
        // (a node without handle bounds is never culled), 5,000 DOM nodes for a 5,000-node run.
        width: NODE_W,
        height: NODE_H,
        handles: HANDLES,
        data: { id: n.id },
        draggable: false,
        connectable: false,
        selectable: false,
      })),
    [p.nodes, p.positions],
  );
  const big = p.nodes.length > FIT_MAX;
  // A big run opens on its first layers (the top left of the layout) at a zoom that reads.
  const start = useMemo<Viewport>(() => {
    let minX = Infinity;
    let minY = Infinity;
    for (const q of Object.values(p.positions)) {
      minX = Math.min(minX, q.x);
      minY = Math.min(minY, q.y);
    }
    return { x: 20 - (Number.isFinite(minX) ? minX : 0) * 0.8, y: 20 - (Number.isFinite(minY) ? minY : 0) * 0.8, zoom: 0.8 };
  }, [p.positions]);
  // Zoomed out on a big run: no edges (they are most of the DOM there and unreadable anyway).
  const [far, setFar] = useState(false);
  const onMove = useCallback((_e: unknown, v: Viewport) => setFar(big && v.zoom < FAR_ZOOM), [big]);
  const onSelect = p.onSelect;
  const onNodeClick = useCallback((_e: unknown, n: Node) => onSelect(n.id), [onSelect]);
  return (
    <ReactFlow
      nodes={nodes}
      edges={far ? NO_EDGES : edges}
      onMove={onMove}
      nodeTypes={nodeTypes}
      onlyRenderVisibleElements
      {...(big ? { defaultViewport: start } : { fitView: true })}
      minZoom={big ? BIG_MIN_ZOOM : 0.02}
      nodesDraggable={false}
      nodesConnectable={false}
      elementsSelectable={false}
      elevateNodesOnSelect={false}
      onNodeClick={onNodeClick}
      proOptions={{ hideAttribution: true }}
    />
  );
});
