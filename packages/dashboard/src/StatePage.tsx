import { useEffect, useState } from "react";
import { api, describeError, request, type StateHistoryEntry, type StateKeyInfo } from "./api";
import { fmtTime } from "./status";

/**
 * Shared state: the tenant's namespaces (`#/state`), a namespace's or a run's keys with their
 * versions, and a key's value, version and history (the state routes, read-only here).
 */
export function StatePage({ namespace }: { namespace?: string }) {
  const [namespaces, setNamespaces] = useState<string[]>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    api<{ namespaces: string[] }>("GET", "/v1/state?limit=200").then(
      (r) => setNamespaces(r.namespaces),
      (err) => setError(describeError("namespaces", err)),
    );
  }, []);
  return (
    <main className="state-page">
      <nav className="namespaces" data-testid="namespaces">
        <h3>Namespaces</h3>
        {error && <p className="error" role="alert">{error}</p>}
        {namespaces && !namespaces.length && <p>No namespaces yet.</p>}
        <ul>
          {namespaces?.map((ns) => (
            <li key={ns} className={ns === namespace ? "cur" : ""}>
              <a href={`#/state/${encodeURIComponent(ns)}`} data-namespace={ns}>
                {ns}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <section className="state-keys">
        {namespace ? (
          <StateList key={namespace} base={`/v1/state/${encodeURIComponent(namespace)}`} listPath={`/v1/state/${encodeURIComponent(namespace)}`} title={`Namespace ${namespace}`} />
        ) : (
          <p className="hint">Pick a namespace for its keys, their values, versions and history.</p>
        )}
      </section>
    </main>
  );
}

/** A scope's keys (`listPath`), and the chosen key's value, version and history (under `base`). */
export function StateList(p: { base: string; listPath: string; title: string; refresh?: string }) {
  const [tick, setTick] = useState(0);
  const [keys, setKeys] = useState<StateKeyInfo[]>();
  const [more, setMore] = useState<string>();
  const [open, setOpen] = useState<string>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    api<{ keys: StateKeyInfo[]; cursor?: string }>("GET", `${p.listPath}?limit=200`).then(
      (r) => {
        setKeys(r.keys);
        setMore(r.cursor);
      },
      (err) => setError(describeError("keys", err)),
    );
  }, [p.listPath, p.refresh, tick]);
  return (
    <section className="state" data-testid="state">
      <h3>
        {p.title} {keys && <small>({keys.length}{more ? "+" : ""} keys)</small>}{" "}
        <button className="link" aria-label="reload keys" onClick={() => setTick((t) => t + 1)}>
          ↻
        </button>
      </h3>
      {error && <p className="error" role="alert">{error}</p>}
      {keys && !keys.length && <p className="hint">No keys.</p>}
      <ul className="keys">
        {keys?.map((k) => (
          <li key={k.key} data-key={k.key}>
            <button className="link" onClick={() => setOpen(open === k.key ? undefined : k.key)}>
              {k.key}
            </button>{" "}
            <small>
              v{k.version} · {fmtTime(k.at)}
            </small>
            {open === k.key && <StateKey path={`${p.base}/${encodeURIComponent(k.key)}`} />}
          </li>
        ))}
      </ul>
    </section>
  );
}

function StateKey({ path }: { path: string }) {
  const [value, setValue] = useState<{ value: unknown; version: string | null }>();
  const [history, setHistory] = useState<StateHistoryEntry[]>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    request<unknown>("GET", path).then(
      (r) => setValue({ value: r.data, version: r.headers.get("etag") }),
      (err) => setError(describeError("value", err)),
    );
    api<{ entries: StateHistoryEntry[] }>("GET", `${path}/history`).then(
      (r) => setHistory(r.entries),
      (err) => setError(describeError("history", err)),
    );
  }, [path]);
  return (
    <div className="state-key" data-testid="state-key">
      {error && <p className="error" role="alert">{error}</p>}
      {value && (
        <>
          <p>
            version <b data-testid="state-version">{value.version?.replace(/"/g, "")}</b>
          </p>
          <pre data-testid="state-value">{JSON.stringify(value.value, null, 2).slice(0, 20_000)}</pre>
        </>
      )}
      {history && (
        <ol className="history" data-testid="state-history">
          {history.map((h) => (
            <li key={h.version}>
              v{h.version} {h.op} at {fmtTime(h.at)}
              {h.writer && Object.keys(h.writer).length > 0 && (
                <small>
                  {" "}
                  by {[h.writer.agent, h.writer.run, h.writer.node, h.writer.attempt === undefined ? undefined : `#${h.writer.attempt}`].filter(Boolean).join(" / ")}
                </small>
              )}
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}
