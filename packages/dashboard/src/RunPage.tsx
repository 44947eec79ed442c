import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { api, API_URL, ApiError, describeError, runPath, type NodeStatus, type RunAt, type RunEvent, type RunStatus, type RunView } from "./api";
import { Graph } from "./Graph";
import { layoutInWorker, type Positions } from "./layout";
import { NodePanel } from "./NodePanel";
import { StateList } from "./StatePage";
import { applyEvents, fmtMs, type LiveNode } from "./status";

/** An action of the page: a POST whose error is shown as the API sent it. */
export interface Act {
  run(what: string, path: string, body?: unknown): Promise<unknown>;
  fail(what: string, message: string): void;
}

declare global {
  interface Window {
    /** Timings the browser tests and the 5,000-node measurement read. */
    __weft?: { runLoadedAt?: number; layoutMs?: number; firstRenderAt?: number; navStart?: number; flushes?: number };
  }
}

/** A run: its DAG coloured live from the event stream, a node's details, the timeline, time travel, actions. */
export function RunPage({ dagId }: { dagId: string }) {
  const [run, setRun] = useState<RunView>();
  const [positions, setPositions] = useState<Positions>();
  const [error, setError] = useState<string>();
  const [actionError, setActionError] = useState<string>();
  const [runStatus, setRunStatus] = useState<RunStatus>();
  const [version, setVersion] = useState(0);
  const [selected, setSelected] = useState<string>();
  const [travelSeq, setTravelSeq] = useState<number>();
  const [travel, setTravel] = useState<RunAt>();
  const [streamState, setStreamState] = useState<"connecting" | "live" | "ended" | "reconnecting">("connecting");
  const live = useRef(new Map<string, LiveNode>());
  const events = useRef<RunEvent[]>([]);
  const pending = useRef<RunEvent[]>([]);

  const load = useCallback(async () => {
    try {
      const r = await api<RunView>("GET", runPath(dagId));
      window.__weft = { ...window.__weft, runLoadedAt: performance.now() };
      for (const n of r.nodes) if (!live.current.has(n.id)) live.current.set(n.id, { status: n.status, attempt: n.attempt });
      setRun(r);
      setRunStatus(r.status);
      const t0 = performance.now();
      const pos = await layoutInWorker({ nodes: r.nodes.map((n) => ({ id: n.id, deps: n.deps })) });
      window.__weft = { ...window.__weft, layoutMs: performance.now() - t0 };
      setPositions(pos);
    } catch (err) {
      setError(err instanceof ApiError ? `${err.code}: ${err.message}` : String(err));
    }
  }, [dagId]);
  useEffect(() => void load(), [load]);

  // The stream: EventSource with a watch token (it cannot send the key). It resumes by
  // Last-Event-ID by itself; when the token has expired, a new one resumes after the last seq.
  useEffect(() => {
    let es: EventSource | undefined;
    let stopped = false;
    let frame = 0;
    const flush = () => {
      frame = 0;
      const batch = pending.current.splice(0);
      if (!batch.length) return;
      events.current.push(...batch);
      const r = applyEvents(live.current, batch);
      if (r.run) setRunStatus(r.run);
      if (r.added) void load(); // nodes added while the run runs (M9): fetch and lay out again
      setVersion((v) => v + 1);
      window.__weft = { ...window.__weft, flushes: (window.__weft?.flushes ?? 0) + 1 };
    };
    const open = async () => {
      try {
        const { streamUrl } = await api<{ streamUrl: string }>("POST", `${runPath(dagId)}/watch-token`, {});
        if (stopped) return;
        const last = events.current.at(-1)?.seq ?? 0;
        const url = new URL(streamUrl, API_URL || location.href);
        if (last) url.searchParams.set("after", String(last));
        es = new EventSource(url);
        es.onopen = () => setStreamState("live");
        es.onmessage = (m) => {
          const e = JSON.parse(m.data as string) as RunEvent;
          const lastSeq = pending.current.at(-1)?.seq ?? events.current.at(-1)?.seq ?? 0;
          if (e.seq <= lastSeq) return;
          pending.current.push(e);
          frame ||= requestAnimationFrame(flush);
        };
        es.addEventListener("end", () => {
          es?.close();
          setStreamState("ended");
        });
        es.onerror = () => {
          if (es?.readyState === EventSource.CLOSED && !stopped) {
            setStreamState("reconnecting");
            setTimeout(() => void open(), 1000);
          } else setStreamState("reconnecting");
        };
      } catch (err) {
        setStreamState("reconnecting");
        if (!stopped) setTimeout(() => void open(), 2000);
        if (err instanceof ApiError && err.status === 404) setError(`${err.code}: ${err.message}`);
      }
    };
    void open();
    return () => {
      stopped = true;
      es?.close();
      cancelAnimationFrame(frame);
    };
  }, [dagId, load]);

  // Time travel: the run as it was after event `travelSeq` (GET /history), debounced.
  useEffect(() => {
    if (travelSeq === undefined) return setTravel(undefined);
    const t = setTimeout(() => {
      api<RunAt>("GET", `${runPath(dagId)}/history?at=${travelSeq}`).then(setTravel, (err: ApiError) => setActionError(`${err.code}: ${err.message}`));
    }, 120);
    return () => clearTimeout(t);
  }, [dagId, travelSeq]);

  const travelMap = useMemo(() => new Map(travel?.nodes.map((n) => [n.id, n]) ?? []), [travel]);
  const statusOf = useCallback(
    (id: string): { status: NodeStatus; attempt: number } =>
      travel ? (travelMap.get(id) ?? { status: "pending", attempt: 0 }) : (live.current.get(id) ?? { status: "pending", attempt: 0 }),
    [travel, travelMap],
  );

  useEffect(() => {
    if (positions && run && !window.__weft?.firstRenderAt) {
      requestAnimationFrame(() => requestAnimationFrame(() => (window.__weft = { ...window.__weft, firstRenderAt: performance.now() })));
    }
  }, [positions, run]);

  const act: Act = {
    async run(what, path, body) {
      setActionError(undefined);
      try {
        const r = await api<{ status?: RunStatus; runStatus?: RunStatus }>("POST", path, body ?? {});
        // pause / resume answer the run's status, a signal the run's too.
        const st = r?.runStatus ?? (path.endsWith("/pause") || path.endsWith("/resume") ? r?.status : undefined);
        if (st) setRunStatus(st);
        return r;
      } catch (err) {
        setActionError(describeError(what, err));
        return undefined;
      }
    },
    fail: (what, message) => setActionError(`${what}: ${message}`),
  };

  if (error) return <p className="error" role="alert">{error}</p>;
  if (!run) return <p>loading {dagId}…</p>;
  const lastSeq = events.current.at(-1)?.seq ?? 0;
  const waiting = [...live.current].filter(([, n]) => n.status === "waiting").map(([id]) => id);
  const shownStatus = travel ? travel.status : runStatus;
  const elapsed = (run.finishedAt ?? Date.now()) - run.createdAt;
  return (
    <main className="run" data-run-status={shownStatus}>
      <div className="bar">
        <strong>{dagId}</strong>
        <span className={`st st-${shownStatus}`} data-testid="run-status">{shownStatus}</span>
        <span>{run.nodes.length} nodes</span>
        <span>{fmtMs(elapsed)}</span>
        <span className="stream" data-testid="stream-state">stream: {streamState}</span>
        <span className="actions">
          {runStatus === "paused" ? (
            <button onClick={() => void act.run("resume", `${runPath(dagId)}/resume`)}>Resume</button>
          ) : (
            <button onClick={() => void act.run("pause", `${runPath(dagId)}/pause`)}>Pause</button>
          )}
          <button onClick={() => void act.run("cancel", `${runPath(dagId)}/cancel`)}>Cancel</button>
          <button onClick={() => void act.run("redrive", `${runPath(dagId)}/redrive`)}>Redrive</button>
          <button disabled={!selected} onClick={() => selected && void act.run("rewind", `${runPath(dagId)}/rewind`, { nodeId: selected })}>
            Rewind from {selected ?? "a node"}
          </button>
        </span>
      </div>
      {waiting.length > 0 && !travel && (
        <div className="waiting-bar" data-testid="waiting">
          waiting for a decision:{" "}
          {waiting.slice(0, 20).map((id) => (
            <button key={id} className="link" onClick={() => setSelected(id)}>
              {id}
            </button>
          ))}
          {waiting.length > 20 && ` and ${waiting.length - 20} more`}
        </div>
      )}
      {actionError && (
        <p className="error" role="alert" data-testid="action-error">
          {actionError}
        </p>
      )}
      <div className="travel">
        <input
          type="range"
          aria-label="time travel"
          min={1}
          max={Math.max(1, lastSeq)}
          value={travelSeq ?? lastSeq}
          onChange={(e) => {
            const v = Number(e.target.value);
            setTravelSeq(v >= lastSeq ? undefined : v);
          }}
        />
        <span data-testid="travel-label">{travel ? `after event ${travel.seq} of ${lastSeq}` : `live (event ${lastSeq})`}</span>
        {travel && <button onClick={() => setTravelSeq(undefined)}>back to live</button>}
      </div>
      <div className="panes">
        <div className="graph">
          {positions ? (
            <Graph nodes={run.nodes} positions={positions} statusOf={statusOf} version={version} selected={selected} onSelect={setSelected} />
          ) : (
            <p>laying out {run.nodes.length} nodes…</p>
          )}
        </div>
        <aside>
          {selected ? (
            <NodePanel dagId={dagId} nodeId={selected} live={live.current.get(selected)} events={events.current} version={version} onSelect={setSelected} act={act} />
          ) : (
            <p className="hint">Select a node for its input, output, error, attempts, lease and parents.</p>
          )}
          <StateList base={`${runPath(dagId)}/state`} listPath={`${runPath(dagId)}/state`} title="Run state" refresh={runStatus} />
          <Timeline events={events.current} version={version} onPick={setTravelSeq} current={travelSeq} />
        </aside>
      </div>
    </main>
  );
}

function Timeline({ events, onPick, current }: { events: RunEvent[]; version: number; onPick(seq: number): void; current?: number }) {
  const shown = events.slice(-300).reverse();
  return (
    <section className="timeline">
      <h3>Events ({events.length})</h3>
      <ol>
        {shown.map((e) => (
          <li key={e.seq} className={e.seq === current ? "cur" : ""} onClick={() => onPick(e.seq)} data-seq={e.seq}>
            <code>{e.seq}</code> {e.type} {e.node && <b>{e.node}</b>} <small>{e.actor} · {new Date(e.at).toLocaleTimeString()}</small>
          </li>
        ))}
      </ol>
    </section>
  );
}
