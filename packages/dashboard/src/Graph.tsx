import { Handle, Position, ReactFlow, type Edge, type Node, type NodeProps } from "@xyflow/react";
import { memo, useMemo } from "react";
import type { NodeStatus, NodeView } from "./api";
import { NODE_H, NODE_W, type Positions } from "./layout";
import { STATUS_COLOUR } from "./status";

export interface NodeData extends Record<string, unknown> {
  id: string;
  status: NodeStatus;
  attempt: number;
  selected: boolean;
}

/** A node as small as it can be: one div, its status as a data attribute (tests read it) and a colour. */
const WeftNode = memo(function WeftNode({ data }: NodeProps<Node<NodeData>>) {
  return (
    <div
      className={`wn${data.selected ? " sel" : ""}${data.status === "waiting" ? " waiting" : ""}`}
      data-testid={`node-${data.id}`}
      data-status={data.status}
      style={{ background: STATUS_COLOUR[data.status], width: NODE_W, height: NODE_H }}
      title={`${data.id}: ${data.status}`}
    >
      <Handle type="target" position={Position.Left} isConnectable={false} />
      <span>{data.id}</span>
      {data.attempt > 1 && <small>×{data.attempt}</small>}
      <Handle type="source" position={Position.Right} isConnectable={false} />
    </div>
  );
});
const nodeTypes = { weft: WeftNode };

/**
 * The run's DAG with React Flow: positions from the layered layout (computed in a worker),
 * and only what is in view rendered, so a 5,000-node run stays usable.
 */
export function Graph(p: {
  nodes: NodeView[];
  positions: Positions;
  statusOf: (id: string) => { status: NodeStatus; attempt: number };
  version: number;
  selected?: string;
  onSelect(id: string): void;
}) {
  const edges = useMemo<Edge[]>(
    () => p.nodes.flatMap((n) => n.deps.map((d) => ({ id: `${d}>${n.id}`, source: d, target: n.id, type: "straight" }))),
    [p.nodes],
  );
  const nodes = useMemo<Node<NodeData>[]>(
    () =>
      p.nodes.map((n) => {
        const s = p.statusOf(n.id);
        return {
          id: n.id,
          type: "weft",
          position: p.positions[n.id] ?? { x: 0, y: 0 },
          data: { id: n.id, status: s.status, attempt: s.attempt, selected: n.id === p.selected },
          draggable: false,
          connectable: false,
        };
      }),
    // statusOf reads a mutable map; `version` says when it changed (statusOf itself changes with time travel).
    [p.nodes, p.positions, p.version, p.selected, p.statusOf],
  );
  return (
    <ReactFlow
      nodes={nodes}
      edges={edges}
      nodeTypes={nodeTypes}
      onlyRenderVisibleElements
      fitView
      minZoom={0.02}
      nodesDraggable={false}
      nodesConnectable={false}
      elevateNodesOnSelect={false}
      onNodeClick={(_e, n) => p.onSelect(n.id)}
      proOptions={{ hideAttribution: true }}
    />
  );
}
