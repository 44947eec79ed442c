import { useEffect, useState } from "react";
import { api, ApiError, runPath, type NodeView, type RunEvent, type RunView } from "./api";
import { fmtMs, type LiveNode } from "./status";

/**
 * A node: input, output, error, attempts (worker and times, from the log), lease, parents.
 * Waiting nodes (M10) will get their approve / reject buttons in the actions row below,
 * next to the node they act on; the page already colours `waiting` apart.
 */
export function NodePanel(p: { dagId: string; nodeId: string; live?: LiveNode; events: RunEvent[]; version: number; onSelect(id: string): void }) {
  const [node, setNode] = useState<NodeView>();
  const [error, setError] = useState<string>();
  const status = p.live?.status;
  useEffect(() => {
    api<RunView>("GET", `${runPath(p.dagId)}?include=input`).then(
      (r) => setNode(r.nodes.find((n) => n.id === p.nodeId)),
      (err: ApiError) => setError(`${err.code}: ${err.message}`),
    );
  }, [p.dagId, p.nodeId, status]);
  const mine = p.events.filter((e) => e.node === p.nodeId);
  const attempts = mine.filter((e) => e.type === "node.started");
  return (
    <section className="node" data-testid="node-panel">
      <h3>
        {p.nodeId} <span className={`st st-${status}`}>{status}</span>
      </h3>
      {error && <p className="error">{error}</p>}
      {node && (
        <>
          <p>
            agent <b>{node.agent}</b> · attempt {p.live?.attempt ?? node.attempt}
            {p.live?.startedAt && ` · ${fmtMs((p.live.endedAt ?? Date.now()) - p.live.startedAt)}`}
          </p>
          {node.deps.length > 0 && (
            <p>
              parents:{" "}
              {node.deps.map((d) => (
                <button key={d} className="link" onClick={() => p.onSelect(d)}>
                  {d}
                </button>
              ))}
            </p>
          )}
          {node.workerId && (
            <p>
              lease: {node.workerId}, expires {new Date(node.leaseExpiresAt ?? 0).toLocaleTimeString()}
            </p>
          )}
          <Json label="input" value={node.input} />
          <Json label="output" value={node.output} />
          <Json label="error" value={node.error} />
        </>
      )}
      <h4>Attempts</h4>
      <ul>
        {attempts.map((a) => {
          const end = mine.find((e) => e.seq > a.seq && e.attempt === a.attempt && e.type !== "node.heartbeat" && e.type !== "node.started");
          return (
            <li key={a.seq}>
              #{a.attempt} by {a.actor} at {new Date(a.at).toLocaleTimeString()}
              {end && ` → ${end.type.slice(5)} after ${fmtMs(end.at - a.at)}`}
            </li>
          );
        })}
      </ul>
      <div className="node-actions">{/* M10: approve / reject for a waiting node go here. */}</div>
    </section>
  );
}

function Json({ label, value }: { label: string; value: unknown }) {
  if (value === undefined) return null;
  return (
    <details open>
      <summary>{label}</summary>
      <pre>{JSON.stringify(value, null, 2).slice(0, 20_000)}</pre>
    </details>
  );
}
