import type { Script } from "../redis/contract.js";
import type { KeySchema, ShardKeys } from "../redis/keys.js";
import { encodeEvent, hash } from "./codec.js";
import { readRunView } from "./read.js";
import * as S from "./scripts.js";
import type { ArchivedNode, RunEvent, RunExport, ResetResult, RunStatus, RunSummary } from "./types.js";

/**
 * A run's life after it finishes: export for the cold store, release (TTL) once archived,
 * the overdue-flush index, restore from an archive, and redrive/rewind.
 */
export interface ScriptContext {
  keys: KeySchema;
  exec<C extends { shard: ShardKeys }, A, R>(script: Script<C, A, R>, ctx: C, args: A): Promise<R>;
  onShard<A, R>(script: Script<S.OnShard, A, R>, shard: number, args: A): Promise<R>;
  onRun<A, R>(script: Script<S.OnRun, A, R>, tenant: string, dagId: string, args: Omit<A, "tenant" | "dagId">): Promise<R>;
  readEvents(tenant: string, dagId: string, after: number, limit: number): Promise<RunEvent[]>;
}

const EVENT_PAGE = 5000;

function policyFields(p: string | undefined): Pick<ArchivedNode, "retry" | "timeoutMs"> {
  if (!p) return {};
  const [maxAttempts, backoffMs, maxBackoffMs, timeoutMs] = p.split(",").map(Number) as [number, number, number, number];
  return {
    ...(maxAttempts > 0 ? { retry: { maxAttempts, backoffMs, ...(maxBackoffMs ? { maxBackoffMs } : {}) } } : {}),
    ...(timeoutMs ? { timeoutMs } : {}),
  };
}

export function lifecycle(ctx: ScriptContext) {
  return {
    /** Everything the cold store keeps of a run: final snapshot, whole event log, definition. */
    async exportRun(tenant: string, dagId: string): Promise<RunExport> {
      const raw = await ctx.onRun(S.readRun, tenant, dagId, { input: true, output: true, policy: true });
      const snapshot = readRunView(tenant, dagId, raw);
      const pAt = raw.fields.indexOf("p");
      const tAt = raw.fields.indexOf("t");
      const rows = raw.nodes;
      const wAt = raw.fields.indexOf("W");
      const woAt = raw.fields.indexOf("wo");
      const meta = Object.fromEntries(hash(raw.meta));
      const events: RunEvent[] = [];
      for (let after = 0; ; ) {
        const page = await ctx.readEvents(tenant, dagId, after, EVENT_PAGE);
        events.push(...page);
        if (page.length < EVENT_PAGE) break;
        after = page[page.length - 1]!.seq;
      }
      const nodes = snapshot.nodes.map((n, i): ArchivedNode => {
        const p = rows[i]?.[pAt];
        const w = rows[i]?.[wAt];
        const wo = rows[i]?.[woAt];
        // A wait node's wait is its definition; a suspended agent's was only its attempt's.
        const wait = typeof w === "string" && !n.agent ? { packed: w, ...(typeof wo === "string" ? { output: wo } : {}) } : undefined;
        return {
          id: n.id,
          agent: n.agent,
          ...(wait ? { wait } : {}),
          ...(n.deps.length ? { deps: n.deps } : {}),
          ...(n.input !== undefined ? { input: n.input } : {}),
          ...policyFields(typeof p === "string" ? p : undefined),
          ...(typeof p === "string" ? { policy: p } : {}),
          ...(n.join ? { join: n.join } : {}),
          ...(n.onFailure ? { onFailure: n.onFailure } : {}),
          ...(n.addedBy ? { addedBy: n.addedBy } : {}),
          ...(typeof rows[i]?.[tAt] === "string" ? { tolerated: true as const } : {}),
        };
      });
      return {
        snapshot,
        events,
        spec: {
          id: dagId,
          ...(meta.idempotencyKey ? { idempotencyKey: meta.idempotencyKey } : {}),
          onFailure: snapshot.onFailure,
          nodes,
          meta,
        },
      };
    },

    /** Gives a finished, archived run's keys a TTL. False if it is running again. */
    async releaseRun(tenant: string, dagId: string, o: { ttlSeconds: number; archivedAt: number }): Promise<boolean> {
      return ctx.onRun(S.releaseRun, tenant, dagId, o);
    },

    /** Finished runs, across shards, not yet released olderThanMs after they finished. */
    async finishedRuns(o: { olderThan: number; limit?: number }): Promise<{ tenant: string; dagId: string }[]> {
      const out: { tenant: string; dagId: string }[] = [];
      for (let shard = 0; shard < ctx.keys.shardCount; shard++) {
        for (const m of await ctx.onShard(S.finishedDue, shard, { olderThan: o.olderThan, limit: o.limit ?? 100 })) {
          const bar = m.indexOf("|");
          out.push({ tenant: m.slice(0, bar), dagId: m.slice(bar + 1) });
        }
      }
      return out;
    },

    /** Writes an archived run back to Redis (with a TTL). False if Redis still has it. */
    async restoreRun(tenant: string, archive: RunExport, ttlSeconds: number): Promise<boolean> {
      const { snapshot, events, spec } = archive;
      const children = new Map<string, string[]>();
      for (const n of spec.nodes) for (const d of n.deps ?? []) children.set(d, [...(children.get(d) ?? []), n.id]);
      const byId = new Map(spec.nodes.map((n) => [n.id, n]));
      const nodes = snapshot.nodes.map((n) => {
        const s = byId.get(n.id);
        const f: (string | number)[] = ["s", n.status, "a", n.attempt, "w", 0];
        if (n.agent) f.push("g", n.agent);
        if (s?.wait) f.push("W", s.wait.packed, ...(s.wait.output !== undefined ? ["wo", s.wait.output] : []));
        // The wait generation keeps growing across a restore, so old signal tokens stay void.
        if (n.wait) f.push("wg", n.wait.gen);
        if (n.signal) f.push("sg", JSON.stringify(n.signal));
        if (n.deps.length) f.push("d", n.deps.join(","));
        const c = children.get(n.id);
        if (c) f.push("c", c.join(","));
        if (s?.policy) f.push("p", s.policy);
        if (s?.input !== undefined) f.push("i", JSON.stringify(s.input));
        if (n.output !== undefined) f.push("o", JSON.stringify(n.output));
        if (n.error !== undefined) f.push("e", JSON.stringify(n.error));
        if (s?.join) f.push("j", s.join.min);
        if (s?.onFailure) f.push("f", s.onFailure);
        if (s?.tolerated) f.push("t", 1);
        const by = s?.addedBy;
        if (by) f.push("ab", "node" in by ? `${by.node}|${by.attempt}` : `|${by.actor}`);
        return { id: n.id, f };
      });
      const evs = events.map((e) => ({ seq: e.seq, f: encodeEvent(e) }));
      const meta = Object.entries({ ...spec.meta, remaining: "0" }).flat();
      return ctx.onRun(S.restoreRun, tenant, snapshot.dagId, {
        meta,
        order: snapshot.nodes.map((n) => n.id).join(","),
        ttlSeconds,
        nodes,
        events: evs,
      });
    },

    /**
     * A tenant's runs still in Redis and not archived yet (running, or finished and awaiting
     * their flush), newest first across shards; `offset` pages through them.
     */
    async listHotRuns(tenant: string, o: { status?: RunStatus; since?: number; limit: number; offset?: number }): Promise<RunSummary[]> {
      const offset = o.offset ?? 0;
      const all: RunSummary[] = [];
      for (let shard = 0; shard < ctx.keys.shardCount; shard++) {
        const args = { tenant, since: o.since ?? 0, limit: offset + o.limit, ...(o.status ? { status: o.status } : {}) };
        all.push(...(await ctx.exec(S.listRuns, { shard: ctx.keys.shard(shard), tenant }, args)));
      }
      all.sort((x, y) => y.createdAt - x.createdAt || (x.dagId < y.dagId ? -1 : 1));
      return all.slice(offset, offset + o.limit);
    },

    /** Re-runs the failed, cancelled and skipped nodes of a finished run; succeeded outputs stay. */
    async redrive(tenant: string, dagId: string, o?: { actor?: string }): Promise<ResetResult> {
      return reset(ctx, tenant, dagId, { mode: "redrive", actor: o?.actor ?? "api" });
    },

    /** Resets one node and its descendants, and runs again from there. */
    async rewind(tenant: string, dagId: string, nodeId: string, o?: { actor?: string }): Promise<ResetResult> {
      return reset(ctx, tenant, dagId, { mode: "rewind", nodeId, actor: o?.actor ?? "api" });
    },
  };
}

function reset(ctx: ScriptContext, tenant: string, dagId: string, args: { mode: "redrive" | "rewind"; nodeId?: string; actor: string }): Promise<ResetResult> {
  return ctx.onRun(S.resetNodes, tenant, dagId, args);
}
