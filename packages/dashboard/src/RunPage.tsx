import { memo, useCallback, useEffect, useMemo, useRef, useState } from "react";
import { api, API_URL, ApiError, describeError, runPath, type NodeStatus, type RunAt, type RunEvent, type RunStatus, type RunView } from "./api";
import { Graph } from "./Graph";
import { layoutInWorker, prewarmLayout, type LayoutTier, type Positions } from "./layout";
import { NodePanel } from "./NodePanel";
import { StateList } from "./StatePage";
import { fmtMs, fmtTime, STATUS_COLOUR } from "./status";
import { NodeStore, StoreContext } from "./store";

/** An action of the page: a POST whose error is shown as the API sent it. */
export interface Act {
  run(what: string, path: string, body?: unknown): Promise<unknown>;
  fail(what: string, message: string): void;
}

declare global {
  interface Window {
    /** Timings the browser tests and the 5,000-node measurement read. */
    __weft?: { runLoadedAt?: number; layoutMs?: number; layoutWorkerMs?: number; layoutTier?: LayoutTier; firstRenderAt?: number; renderedNodes?: number; flushes?: number; events?: number };
  }
}

/** How often the page around the graph follows the stream, at most (ms). */
const PAGE_MS = 250;

let early: { dagId: string; read: Promise<RunView> } | undefined;

/**
 * Opening a run's page: its read and a layout worker start at once, while the app still checks
 * the key (GET /v1/dags?limit=1). A read that failed (no key yet) is not used: the page reads again.
 */
export function preloadRun(dagId: string): void {
  prewarmLayout();
  const read = api<RunView>("GET", runPath(dagId));
  read.catch(() => {});
  early = { dagId, read };
}
const readRun = async (dagId: string): Promise<RunView> => {
  const pre = early?.dagId === dagId ? early.read : undefined;
  early = undefined;
  return (pre && (await pre.catch(() => undefined))) || api<RunView>("GET", runPath(dagId));
};

/** A run: its DAG coloured live from the event stream, a node's details, the timeline, time travel, actions. */
export function RunPage({ dagId }: { dagId: string }) {
  const [run, setRun] = useState<RunView>();
  const [positions, setPositions] = useState<Positions>();
  const [error, setError] = useState<string>();
  const [actionError, setActionError] = useState<string>();
  const [runStatus, setRunStatus] = useState<RunStatus>();
  const [version, setVersion] = useState(0);
  const [selected, select] = useState<string>();
  const [travelSeq, setTravelSeq] = useState<number>();
  const [travel, setTravel] = useState<RunAt>();
  const [streamState, setStreamState] = useState<"connecting" | "live" | "ended" | "reconnecting">("connecting");
  const store = useMemo(() => new NodeStore(), [dagId]);
  const events = useRef<RunEvent[]>([]);
  const pending = useRef<RunEvent[]>([]);

  const load = useCallback(async () => {
    try {
      const r = await readRun(dagId);
      window.__weft = { ...window.__weft, runLoadedAt: performance.now() };
      store.seed(r.nodes);
      setRun(r);
      setRunStatus(r.status);
      const t0 = performance.now();
      const laid = await layoutInWorker({ nodes: r.nodes.map((n) => ({ id: n.id, deps: n.deps })) });
      window.__weft = { ...window.__weft, layoutMs: performance.now() - t0, layoutWorkerMs: laid.ms, layoutTier: laid.tier };
      setPositions(laid.positions);
    } catch (err) {
      setError(err instanceof ApiError ? `${err.code}: ${err.message}` : String(err));
    }
  }, [dagId, store]);
  useEffect(() => void load(), [load]);

  // The stream: EventSource with a watch token (it cannot send the key). It resumes by
  // Last-Event-ID by itself; when the token has expired, a new one resumes after the last seq.
  // It opens once the graph is laid out: the statuses come from the run's read, and the log's
  // replay (from seq 1: 15,000 events for a finished 5,000-node run) does not compete with the
  // first render.
  const laidOut = positions !== undefined;
  useEffect(() => {
    if (!laidOut) return;
    let es: EventSource | undefined;
    let stopped = false;
    let frame = 0;
    // The graph's nodes follow every frame (the store renders the nodes that changed); the rest
    // of the page (counts, timeline, node panel) at most every PAGE_MS, so a busy run does not
    // re-render them 60 times a second.
    let pageAt = 0;
    let pageTimer: ReturnType<typeof setTimeout> | undefined;
    const renderPage = () => {
      pageTimer = undefined;
      pageAt = performance.now();
      setVersion((v) => v + 1);
    };
    const flush = () => {
      frame = 0;
      const batch = pending.current.splice(0);
      if (!batch.length) return;
      for (const e of batch) events.current.push(e);
      const r = store.apply(batch);
      if (r.run) setRunStatus(r.run);
      if (r.added) void load(); // nodes added while the run runs (M9): fetch and lay out again
      if (performance.now() - pageAt >= PAGE_MS) renderPage();
      else pageTimer ??= setTimeout(renderPage, PAGE_MS - (performance.now() - pageAt));
      window.__weft = { ...window.__weft, flushes: (window.__weft?.flushes ?? 0) + 1, events: events.current.length };
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
      clearTimeout(pageTimer);
    };
  }, [dagId, load, store, laidOut]);

  // Time travel: the run as it was after event `travelSeq` (GET /history), debounced.
  useEffect(() => {
    if (travelSeq === undefined) return setTravel(undefined);
    const t = setTimeout(() => {
      api<RunAt>("GET", `${runPath(dagId)}/history?at=${travelSeq}`).then(setTravel, (err: ApiError) => setActionError(`${err.code}: ${err.message}`));
    }, 120);
    return () => clearTimeout(t);
  }, [dagId, travelSeq]);

  useEffect(() => store.setTravel(travel?.nodes), [store, travel]);
  const setSelected = useCallback(
    (id: string | undefined) => {
      store.select(id);
      select(id);
    },
    [store],
  );

  // First render (bench/dashboard.ts): the frame after the one that painted the laid-out graph's nodes.
  useEffect(() => {
    if (!positions || window.__weft?.firstRenderAt) return;
    let frame = requestAnimationFrame(function check() {
      const drawn = document.querySelectorAll(".react-flow__node").length;
      frame = drawn
        ? requestAnimationFrame(() => (window.__weft = { ...window.__weft, firstRenderAt: performance.now(), renderedNodes: drawn }))
        : requestAnimationFrame(check);
    });
    return () => cancelAnimationFrame(frame);
  }, [positions]);

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
  const { counts, waiting } = store.summary();
  const shownStatus = travel ? travel.status : runStatus;
  const elapsed = (run.finishedAt ?? Date.now()) - run.createdAt;
  return (
    <main className="run" data-run-status={shownStatus}>
      <div className="bar">
        <strong>{dagId}</strong>
        <span className={`st st-${shownStatus}`} data-testid="run-status">{shownStatus}</span>
        <span>{run.nodes.length} nodes</span>
        <span className="counts" data-testid="counts" {...Object.fromEntries(Object.entries(counts).map(([st, c]) => [`data-${st}`, c]))}>
          {Object.entries(counts).map(([st, c]) => (
            <span key={st} title={st}>
              <i style={{ background: STATUS_COLOUR[st as NodeStatus] }} />
              {c} {st}
            </span>
          ))}
        </span>
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
            <StoreContext.Provider value={store}>
              <Graph nodes={run.nodes} positions={positions} onSelect={setSelected} />
            </StoreContext.Provider>
          ) : (
            <p>laying out {run.nodes.length} nodes…</p>
          )}
        </div>
        <aside>
          {selected ? (
            <NodePanel dagId={dagId} nodeId={selected} live={store.liveOf(selected)} events={events.current} version={version} onSelect={setSelected} act={act} />
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

/** The last 300 events, newest first. A row renders once: a new batch renders only its new rows. */
function Timeline({ events, onPick, current }: { events: RunEvent[]; version: number; onPick(seq: number): void; current?: number }) {
  const shown = events.slice(-300).reverse();
  return (
    <section className="timeline">
      <h3 data-testid="event-count" data-count={events.length}>
        Events ({events.length})
      </h3>
      <ol>
        {shown.map((e) => (
          <EventRow key={e.seq} e={e} cur={e.seq === current} onPick={onPick} />
        ))}
      </ol>
    </section>
  );
}

const EventRow = memo(function EventRow({ e, cur, onPick }: { e: RunEvent; cur: boolean; onPick(seq: number): void }) {
  return (
    <li className={cur ? "cur" : ""} onClick={() => onPick(e.seq)} data-seq={e.seq}>
      <code>{e.seq}</code> {e.type} {e.node && <b>{e.node}</b>} <small>{e.actor} · {fmtTime(e.at)}</small>
    </li>
  );
});
