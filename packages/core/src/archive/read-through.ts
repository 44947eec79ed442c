import { foldEvents } from "../engine/fold.js";
import type { EventPage, Maintenance, RunAdmin, NodeStatus, ResetResult, RunEvent, RunStatus, RunView } from "../engine/types.js";
import { LIMITS } from "../checks.js";
import { NotFoundError, SchemaError, ValidationError } from "../errors.js";
import type { ColdStore, ListRunsOptions, RunList } from "./port.js";

/** A run's state just after event `seq` of its log. */
export interface RunAt {
  dagId: string;
  seq: number;
  /** Epoch ms of event `seq`. */
  at: number;
  status: RunStatus;
  counts: Record<NodeStatus, number>;
  /** The nodes the run had then, each with the deps it had then. */
  nodes: { id: string; agent: string; deps: string[]; status: NodeStatus; attempt: number }[];
}

const isNotFound = (err: unknown) => err instanceof NotFoundError;

/**
 * Reads that do not care where a run lives: Redis while it is hot, DynamoDB once Redis has
 * let it go, in the same shape. Redrive and rewind rehydrate a cold run first.
 */
export function createReadThrough(o: { engine: RunAdmin & Maintenance; cold: ColdStore; restoreTtlSeconds?: number }) {
  const { engine, cold } = o;

  async function getRun(tenant: string, dagId: string, include?: { input?: boolean; output?: boolean }): Promise<RunView> {
    try {
      return await engine.getRun(tenant, dagId, include ? { include } : undefined);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      const archived = await cold.getRun(tenant, dagId);
      if (!archived) throw err;
      const keepInput = include?.input ?? false;
      const keepOutput = include?.output ?? true;
      return {
        ...archived.snapshot,
        nodes: archived.snapshot.nodes.map(({ input, output, ...n }) => ({
          ...n,
          ...(keepInput && input !== undefined ? { input } : {}),
          ...(keepOutput && output !== undefined ? { output } : {}),
        })),
      };
    }
  }

  async function events(tenant: string, dagId: string, opts?: { after?: number; limit?: number }): Promise<EventPage> {
    try {
      return await engine.events(tenant, dagId, opts);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      const page = await cold.getEvents(tenant, dagId, opts);
      if (!page) throw err;
      return page;
    }
  }

  async function history(tenant: string, dagId: string, seq: number): Promise<RunAt> {
    if (!Number.isInteger(seq) || seq < 1 || seq > LIMITS.maxInteger) throw new SchemaError("at must be an event seq (an integer >= 1)", "at");
    const run = await getRun(tenant, dagId, { output: false });
    // The whole log: deps added after `seq` are told apart from the submitted ones by their node.deps_added.
    const log: RunEvent[] = [];
    for (let after = 0; ; ) {
      const page = await events(tenant, dagId, { after, limit: 5000 });
      log.push(...page.events);
      if (page.events.length === 0) break;
      after = page.cursor;
    }
    const at = log.find((e) => e.seq === seq);
    if (!at) throw new ValidationError(`run ${dagId} has no event ${seq} (its log ends at ${log[log.length - 1]?.seq ?? 0})`, "at");
    const later = new Map<string, Set<string>>();
    for (const e of log) {
      if (e.type !== "node.deps_added" || !e.node || !Array.isArray(e.data?.deps)) continue;
      const s = later.get(e.node) ?? new Set<string>();
      for (const d of e.data.deps) s.add(String(d));
      later.set(e.node, s);
    }
    const submitted = run.nodes.filter((n) => !n.addedBy).map((n) => ({ id: n.id, deps: n.deps.filter((d) => !later.get(n.id)?.has(d)) }));
    // Nodes added while the run ran exist from their node.added event on, with the agent and deps it gave them.
    const folded = foldEvents(submitted, log, seq);
    const agentOf = new Map(run.nodes.map((n) => [n.id, n.agent]));
    const listed = new Set(run.nodes.map((n) => n.id));
    // The nodes the run had at `seq`, in the run's order: added ones from their node.added on, removed ones until then.
    const ids = [...run.nodes.map((n) => n.id).filter((id) => folded.nodes[id]), ...Object.keys(folded.nodes).filter((id) => !listed.has(id))];
    return {
      dagId,
      seq,
      at: at.at,
      status: folded.status,
      counts: folded.counts,
      nodes: ids.map((id) => ({ id, agent: folded.added[id] ?? agentOf.get(id) ?? "", deps: folded.deps[id] ?? [], ...folded.nodes[id]! })),
    };
  }

  /**
   * Runs `op` on the hot run; when Redis no longer has the run, rehydrates it from the
   * cold store and runs `op` again (a hot run costs no extra read).
   */
  async function onHotRun<T>(tenant: string, dagId: string, op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      if (!isNotFound(err)) throw err;
      const archived = await cold.getRun(tenant, dagId);
      if (!archived?.spec) throw err;
      // False when another caller restored it first: either way Redis has it now.
      await engine.restoreRun(
        tenant,
        { snapshot: archived.snapshot, events: archived.events, spec: archived.spec as never },
        o.restoreTtlSeconds ?? 3600,
      );
      return op();
    }
  }

  async function redrive(tenant: string, dagId: string, opts?: { actor?: string }): Promise<ResetResult> {
    return onHotRun(tenant, dagId, () => engine.redrive(tenant, dagId, opts));
  }

  async function rewind(tenant: string, dagId: string, nodeId: string, opts?: { actor?: string }): Promise<ResetResult> {
    return onHotRun(tenant, dagId, () => engine.rewind(tenant, dagId, nodeId, opts));
  }

  /**
   * A tenant's runs, hot and cold: first the runs Redis holds that are not archived yet
   * (running, or finished and awaiting their flush), newest first; then the archived ones
   * from the cold store's index, newest first. The cursor says which phase to continue.
   */
  async function listRuns(tenant: string, opts: ListRunsOptions = {}): Promise<RunList> {
    const limit = opts.limit ?? LIMITS.runPageDefault;
    if (!Number.isInteger(limit) || limit < 1 || limit > LIMITS.pageMax) throw new SchemaError(`limit must be an integer from 1 to ${LIMITS.pageMax}`, "limit");
    const cursor = decodeCursor(opts.cursor);
    const filter = { ...(opts.status ? { status: opts.status } : {}), ...(opts.since !== undefined ? { since: opts.since } : {}) };
    const runs: RunList["runs"] = [];
    if (cursor.hot !== undefined) {
      const hot = await engine.listHotRuns(tenant, { ...filter, limit: limit + 1, offset: cursor.hot });
      if (hot.length > limit) return { runs: hot.slice(0, limit), cursor: encodeCursor({ hot: cursor.hot + limit }) };
      runs.push(...hot);
      // An empty `cold` cursor means "archived runs, from the start".
      if (runs.length === limit) return { runs, cursor: encodeCursor({ cold: "" }) };
    }
    const seen = new Set(runs.map((r) => r.dagId));
    const page = await cold.listRuns(tenant, { ...filter, limit: limit - runs.length, ...(cursor.cold ? { cursor: cursor.cold } : {}) });
    // A redriven run can be hot and archived at once: the hot line wins.
    for (const r of page.runs) if (!seen.has(r.dagId)) runs.push(r);
    return page.cursor ? { runs, cursor: encodeCursor({ cold: page.cursor }) } : { runs };
  }

  return { getRun, events, history, redrive, rewind, listRuns };
}

export type ReadThrough = ReturnType<typeof createReadThrough>;

interface ListCursor {
  hot?: number;
  cold?: string;
}

function decodeCursor(raw: string | undefined): ListCursor {
  if (!raw) return { hot: 0 };
  try {
    const c = JSON.parse(Buffer.from(raw, "base64url").toString("utf8")) as ListCursor;
    if ((c.hot !== undefined && Number.isInteger(c.hot) && c.hot >= 0) || typeof c.cold === "string") return c;
  } catch {
    // fall through
  }
  throw new SchemaError("cursor is not one this API returned", "cursor");
}

function encodeCursor(c: ListCursor): string {
  return Buffer.from(JSON.stringify(c)).toString("base64url");
}
