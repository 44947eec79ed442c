import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { api, API_URL, ApiError, runPath, type NodeStatus, type RunAt, type RunEvent, type RunStatus, type RunView } from "./api";
import { Graph } from "./Graph";
import { layoutInWorker, type Positions } from "./layout";
import { NodePanel } from "./NodePanel";
import { applyEvents, fmtMs, type LiveNode } from "./status";

declare global {
  interface Window {
    /** Timings the browser tests and the 5,000-node measurement read. */
    __weft?: { runLoadedAt?: number; layoutMs?: number; firstRenderAt?: number; navStart?: number };
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

  const act = async (what: string, path: string, body?: unknown) => {
    setActionError(undefined);
    try {
      await api("POST", path, body ?? {});
    } catch (err) {
      setActionError(err instanceof ApiError ? `${what}: ${err.status} ${err.code}: ${err.message}` : String(err));
    }
  };

  if (error) return <p className="error" role="alert">{error}</p>;
  if (!run) return <p>loading {dagId}…</p>;
  const lastSeq = events.current.at(-1)?.seq ?? 0;
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
          <button onClick={() => void act("cancel", `${runPath(dagId)}/cancel`)}>Cancel</button>
          <button onClick={() => void act("redrive", `${runPath(dagId)}/redrive`)}>Redrive</button>
          <button disabled={!selected} onClick={() => selected && void act("rewind", `${runPath(dagId)}/rewind`, { nodeId: selected })}>
            Rewind from {selected ?? "a node"}
          </button>
        </span>
      </div>
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
            <NodePanel dagId={dagId} nodeId={selected} live={live.current.get(selected)} events={events.current} version={version} onSelect={setSelected} />
          ) : (
            <p className="hint">Select a node for its input, output, error, attempts, lease and parents.</p>
          )}
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
