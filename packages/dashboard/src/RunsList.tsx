import { useEffect, useRef, useState } from "react";
import { api, ApiError, type RunStatus, type RunSummary } from "./api";
import { followSse } from "./sse";
import { age } from "./status";

const SINCE: Record<string, number | undefined> = { any: undefined, "1h": 3_600_000, "24h": 86_400_000, "7d": 7 * 86_400_000 };

/** Every run of the tenant, hot and archived (GET /v1/dags), kept live by GET /v1/events/stream. */
export function RunsList() {
  const [runs, setRuns] = useState<Map<string, RunSummary>>(new Map());
  const [status, setStatus] = useState<RunStatus | "">("");
  const [since, setSince] = useState("any");
  const [error, setError] = useState<string>();
  const [, tick] = useState(0);
  // Runs the stream has reported: fresher than any page of the list, whose answer may arrive
  // after the stream's (a run submitted meanwhile would otherwise vanish until a reload).
  const live = useRef(new Set<string>());

  useEffect(() => {
    const q = new URLSearchParams({ limit: "200" });
    if (status) q.set("status", status);
    const s = SINCE[since];
    if (s) q.set("since", String(Date.now() - s));
    api<{ runs: RunSummary[] }>("GET", `/v1/dags?${q}`).then(
      (page) =>
        setRuns((m) => {
          const listed = new Map(page.runs.map((r) => [r.dagId, r]));
          for (const id of live.current) {
            const r = m.get(id);
            if (r) listed.set(id, r);
          }
          return listed;
        }),
      (err: ApiError) => setError(`${err.code}: ${err.message}`),
    );
  }, [status, since]);

  useEffect(
    () =>
      followSse(
        "/v1/events/stream",
        (data) => {
          const r = JSON.parse(data) as RunSummary;
          live.current.add(r.dagId);
          setRuns((m) => new Map(m).set(r.dagId, r));
        },
        (code) => code && setError(`live updates unavailable (HTTP ${code})`),
      ),
    [],
  );
  useEffect(() => {
    const t = setInterval(() => tick((n) => n + 1), 1000);
    return () => clearInterval(t);
  }, []);

  const s = SINCE[since];
  const shown = [...runs.values()]
    .filter((r) => (!status || r.status === status) && (!s || r.createdAt >= Date.now() - s))
    .sort((a, b) => b.createdAt - a.createdAt);
  return (
    <main className="runs">
      <div className="filters">
        <label>
          status{" "}
          <select value={status} onChange={(e) => setStatus(e.target.value as RunStatus | "")} aria-label="status filter">
            <option value="">any</option>
            {["running", "paused", "succeeded", "failed", "cancelled"].map((x) => (
              <option key={x}>{x}</option>
            ))}
          </select>
        </label>
        <label>
          created{" "}
          <select value={since} onChange={(e) => setSince(e.target.value)} aria-label="time filter">
            {Object.keys(SINCE).map((x) => (
              <option key={x} value={x}>
                {x === "any" ? "any time" : `last ${x}`}
              </option>
            ))}
          </select>
        </label>
      </div>
      {error && <p className="error" role="alert">{error}</p>}
      <table>
        <thead>
          <tr>
            <th>run</th>
            <th>status</th>
            <th>progress</th>
            <th>age</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((r) => {
            const total = Object.values(r.counts).reduce((a, b) => a + b, 0);
            const done = (r.counts.succeeded ?? 0) + (r.counts.failed ?? 0) + (r.counts.skipped ?? 0) + (r.counts.cancelled ?? 0);
            return (
              <tr key={r.dagId} data-run={r.dagId} data-status={r.status}>
                <td>
                  <a href={`#/runs/${encodeURIComponent(r.dagId)}`}>{r.dagId}</a>
                </td>
                <td className={`st st-${r.status}`}>{r.status}</td>
                <td>
                  <progress max={total || 1} value={done} /> {done}/{total}
                </td>
                <td>{age(r.createdAt)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {!shown.length && !error && <p>No runs yet.</p>}
    </main>
  );
}
