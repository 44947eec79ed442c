import { useEffect, useState } from "react";
import { api, ApiError, runPath, type NodeView, type RunEvent, type RunView } from "./api";
import type { Act } from "./RunPage";
import { fmtMs, fmtTime, type LiveNode } from "./status";

/**
 * A node: input, output, error, attempts (worker and times, from the log), lease, parents;
 * a waiting node (M10) its wait and the approve / reject buttons (POST .../signal).
 */
export function NodePanel(p: { dagId: string; nodeId: string; live?: LiveNode; events: RunEvent[]; version: number; onSelect(id: string): void; act: Act }) {
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
              lease: {node.workerId}, expires {fmtTime(node.leaseExpiresAt ?? 0)}
            </p>
          )}
          {node.addedBy && <p>added while the run ran, by {"node" in node.addedBy ? `${node.addedBy.node} (attempt ${node.addedBy.attempt})` : node.addedBy.actor}</p>}
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
              #{a.attempt} by {a.actor} at {fmtTime(a.at)}
              {end && ` → ${end.type.slice(5)} after ${fmtMs(end.at - a.at)}`}
            </li>
          );
        })}
      </ul>
      {status === "waiting" && <Decide dagId={p.dagId} nodeId={p.nodeId} wait={node?.wait} ask={node?.wait?.input ?? node?.input} act={p.act} />}
      {node?.signal && (
        <p>
          signalled via {node.signal.via}
          {node.signal.by && ` by ${node.signal.by}`} at {fmtTime(node.signal.at)}
        </p>
      )}
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

/** Approve (the wait ends with this output) or reject (the node fails with this reason). */
function Decide(p: { dagId: string; nodeId: string; wait?: NodeView["wait"]; ask: unknown; act: Act }) {
  const [output, setOutput] = useState('{"approved": true}');
  const [reason, setReason] = useState("");
  const signal = `${runPath(p.dagId)}/nodes/${encodeURIComponent(p.nodeId)}/signal`;
  return (
    <div className="decide" data-testid="decide">
      <h4>Waiting for a decision</h4>
      {p.wait?.suspended && <p>a suspended agent: its next attempt gets the output</p>}
      {p.wait?.key && <p>signal key: {p.wait.key}</p>}
      {p.wait?.timeoutAt && <p>times out ({p.wait.onTimeout === "succeed" ? "succeeds" : "fails"}) at {fmtTime(p.wait.timeoutAt)}</p>}
      <Json label="what to decide" value={p.ask} />
      <label>
        output (JSON)
        <textarea aria-label="approval output" value={output} rows={3} onChange={(e) => setOutput(e.target.value)} />
      </label>
      <button
        className="approve"
        onClick={() => {
          let value: unknown;
          try {
            value = output.trim() ? JSON.parse(output) : null;
          } catch (err) {
            return p.act.fail("approve", `the output is not JSON: ${(err as Error).message}`);
          }
          void p.act.run("approve", signal, { output: value, by: "dashboard" });
        }}
      >
        Approve
      </button>
      <label>
        reason
        <input aria-label="rejection reason" value={reason} onChange={(e) => setReason(e.target.value)} placeholder="why not" />
      </label>
      <button className="reject" onClick={() => void p.act.run("reject", signal, { error: { message: reason.trim() || "rejected from the dashboard" }, by: "dashboard" })}>
        Reject
      </button>
    </div>
  );
}
