import { useEffect, useState } from "react";
import { api, ApiError, apiKey } from "./api";
import { RunsList } from "./RunsList";
import { preloadRun, RunPage } from "./RunPage";
import { StatePage } from "./StatePage";

type Where = { page: "runs" } | { page: "run"; run: string } | { page: "state"; namespace?: string };
const route = (): Where => {
  const run = /^#\/runs\/([^/?]+)/.exec(location.hash);
  if (run) return { page: "run", run: decodeURIComponent(run[1]!) };
  const state = /^#\/state(?:\/([^/?]+))?/.exec(location.hash);
  if (state) return state[1] ? { page: "state", namespace: decodeURIComponent(state[1]) } : { page: "state" };
  return { page: "runs" };
};

/** Runs at `#/`, a run at `#/runs/<id>`, shared state at `#/state[/<namespace>]`. With API keys it asks for one and keeps it in session storage. */
export function App() {
  const [where, setWhere] = useState(() => {
    const w = route();
    if (w.page === "run") preloadRun(w.run);
    return w;
  });
  const [auth, setAuth] = useState<"checking" | "ok" | "needed">("checking");
  const [keyError, setKeyError] = useState<string>();

  useEffect(() => {
    const on = () => setWhere(route());
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);

  const check = async () => {
    try {
      await api("GET", "/v1/dags?limit=1");
      setAuth("ok");
      setKeyError(undefined);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        if (apiKey.get()) setKeyError(err.message);
        apiKey.clear();
        setAuth("needed");
      } else {
        setAuth("ok"); // the pages show the API's error themselves
      }
    }
  };
  useEffect(() => void check(), []);

  if (auth === "checking") return <div className="shell">connecting…</div>;
  if (auth === "needed") {
    return (
      <div className="shell">
        <form
          className="keyprompt"
          onSubmit={(e) => {
            e.preventDefault();
            const k = new FormData(e.currentTarget).get("key");
            if (typeof k === "string" && k.trim()) apiKey.set(k.trim());
            void check();
          }}
        >
          <h2>Weft</h2>
          <p>This API needs an API key. It is kept in this tab's session storage only.</p>
          <input name="key" type="password" placeholder="API key" autoFocus aria-label="API key" />
          <button type="submit">Connect</button>
          {keyError && <p className="error" role="alert">{keyError}</p>}
        </form>
      </div>
    );
  }
  return (
    <div className="shell">
      <header>
        <a href="#/">Weft</a>
        {where.page === "run" && <span className="crumb">/ {where.run}</span>}
        <a href="#/state" className="nav">
          shared state
        </a>
        {apiKey.get() && (
          <button
            className="link"
            onClick={() => {
              apiKey.clear();
              setAuth("needed");
            }}
          >
            forget key
          </button>
        )}
      </header>
      {where.page === "run" ? <RunPage dagId={where.run} key={where.run} /> : where.page === "state" ? <StatePage namespace={where.namespace} key={where.namespace ?? ""} /> : <RunsList />}
    </div>
  );
}
