import type { RunSummary } from "@weft/core";

/** One line of the tenant stream: a run that appeared or whose status or counts changed. */
export type RunChange = RunSummary;

export interface RunsSource {
  listHotRuns(tenant: string, opts: { limit: number }): Promise<RunSummary[]>;
}

export interface RunsWatch {
  /** Sends the tenant's current hot runs at once, then every change; returns a stop function. */
  follow(tenant: string, onChanges: (runs: RunChange[]) => void, onError?: (err: unknown) => void): () => void;
  stats(): { tenants: number; followers: number };
  close(): void;
}

interface Tenant {
  last?: Map<string, string>;
  runs: Map<string, RunSummary>;
  subs: Set<{ onChanges(runs: RunChange[]): void; onError(err: unknown): void }>;
  timer: NodeJS.Timeout;
  busy: boolean;
}

const LIMIT = 200;
const signature = (r: RunSummary) => `${r.status}|${r.finishedAt ?? ""}|${JSON.stringify(r.counts)}`;

/**
 * The tenant's run-level changes for a live runs list. Runs have no tenant-wide log, so
 * this reads the tenant's newest hot runs every `pollMs`, one read per tenant per
 * process however many clients follow it, and sends what changed. Archived runs do not
 * change, so the hot list is all there is to watch.
 */
export function createRunsWatch(o: { source: RunsSource; pollMs?: number }): RunsWatch {
  const tenants = new Map<string, Tenant>();
  const pollMs = o.pollMs ?? 500;

  async function poll(name: string, t: Tenant) {
    if (t.busy) return;
    t.busy = true;
    try {
      const list = await o.source.listHotRuns(name, { limit: LIMIT });
      const next = new Map(list.map((r) => [r.dagId, signature(r)]));
      const changed = list.filter((r) => t.last?.get(r.dagId) !== next.get(r.dagId));
      t.last = next;
      t.runs = new Map(list.map((r) => [r.dagId, r]));
      if (changed.length) for (const s of t.subs) s.onChanges(changed);
    } catch (err) {
      for (const s of t.subs) s.onError(err);
    } finally {
      t.busy = false;
    }
  }

  return {
    follow(name, onChanges, onError = () => {}) {
      let t = tenants.get(name);
      const sub = { onChanges, onError };
      if (!t) {
        const created: Tenant = { runs: new Map(), subs: new Set(), busy: false, timer: setInterval(() => void poll(name, created), pollMs) };
        tenants.set(name, (t = created));
        t.subs.add(sub);
        void poll(name, t);
      } else {
        t.subs.add(sub);
        if (t.last) onChanges([...t.runs.values()]);
      }
      const tenant = t;
      return () => {
        tenant.subs.delete(sub);
        if (!tenant.subs.size) {
          clearInterval(tenant.timer);
          tenants.delete(name);
        }
      };
    },
    stats() {
      let followers = 0;
      for (const t of tenants.values()) followers += t.subs.size;
      return { tenants: tenants.size, followers };
    },
    close() {
      for (const t of tenants.values()) clearInterval(t.timer);
      tenants.clear();
    },
  };
}

