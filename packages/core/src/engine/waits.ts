import { checkLeaseToken, isWellFormed } from "../checks.js";
import { WaitSpecSchema, type DagLimits } from "../dag/spec.js";
import { packWait } from "../dag/wait.js";
import { NotFoundError, PayloadTooLargeError, ValidationError } from "../errors.js";
import { fromZodError } from "../validation.js";
import type { ScriptContext } from "./lifecycle.js";
import * as S from "./scripts.js";
import { signalPath, type SignalSealer } from "./signal-token.js";
import type { Lease, NodeStatus, OutboxEvent, RunEvent, Signal, SignalResult, WaitSpec } from "./types.js";

/**
 * Waiting for people and the world: signals (with the tenant's key, by token, by key
 * across runs), agents that suspend, runs that pause. Scripts: lua/signal.lua,
 * signal_key.lua, suspend.lua, pause_run.lua; the timeouts are the reconcile's.
 */
export interface WaitContext extends Pick<ScriptContext, "keys" | "onShard" | "onRun"> {
  limits: DagLimits;
  id(value: unknown, field: string): string;
  /** Seals signal tokens; without a signing secret there are none (and no signal URLs). */
  sealer?: SignalSealer;
  /** The API's public base URL, for signal URLs. */
  publicUrl?: string;
  /** Epoch ms, for token expiry: the engine's clock. */
  now(): number;
}

const MAX_TEXT = 256;

function text(value: unknown, field: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || value.length === 0 || value.length > MAX_TEXT || value.includes("|") || !isWellFormed(value)) {
    throw new ValidationError(`${field} must be well-formed text of 1 to ${MAX_TEXT} characters (no '|')`, field);
  }
  return value;
}

function json(value: unknown, field: string, maxBytes: number): string {
  let out: string | undefined;
  try {
    out = JSON.stringify(value === undefined ? null : value);
  } catch {
    out = undefined;
  }
  if (out === undefined) throw new ValidationError(`${field} must be JSON-serializable`, field);
  if (Buffer.byteLength(out) > maxBytes) throw new PayloadTooLargeError(`${field} is larger than ${maxBytes} bytes`, field);
  return out;
}

/** A signal as the scripts take it: output or error as raw JSON, never both. */
function signalArgs(s: Signal, maxBytes: number): S.SignalArgs {
  if (!s || typeof s !== "object") throw new ValidationError("the signal must be an object", "signal");
  if (s.output !== undefined && s.error !== undefined) {
    throw new ValidationError("a signal carries an output (approve) or an error (reject), not both", "error");
  }
  const out: S.SignalArgs = {};
  if (s.error !== undefined) {
    const e = s.error as { message?: unknown } | null;
    if (!e || typeof e !== "object" || typeof e.message !== "string" || e.message.length === 0) {
      throw new ValidationError("error.message must be a non-empty string", "error.message");
    }
    out.error = json(s.error, "error", maxBytes);
  } else {
    out.output = json(s.output, "output", maxBytes);
  }
  const by = text(s.by, "by");
  if (by) out.by = by;
  const signalId = text(s.signalId, "signalId");
  if (signalId) out.signalId = signalId;
  return out;
}

export function waits(ctx: WaitContext) {
  const { id, limits } = ctx;
  const seal = (tenant: string, dagId: string, nodeId: string, gen: number, expiresAt = 0) =>
    ctx.sealer?.seal({ tenant, dagId, nodeId, gen, expiresAt });
  const url = (token: string | undefined) => (token && ctx.publicUrl ? `${ctx.publicUrl.replace(/\/+$/, "")}${signalPath(token)}` : undefined);

  return {
    async signal(tenant: string, dagId: string, nodeId: string, signal: Signal): Promise<SignalResult> {
      return ctx.onRun(S.signal, id(tenant, "tenant"), id(dagId, "dagId"), {
        nodeId: id(nodeId, "nodeId"),
        via: "api",
        ...signalArgs(signal, limits.maxInputBytes),
      });
    },

    async signalByToken(
      token: string,
      signal: Signal,
      o?: { prepare?: (target: { tenant: string; dagId: string; nodeId: string }) => Promise<Signal> },
    ): Promise<SignalResult & { tenant: string; dagId: string; nodeId: string }> {
      const address = typeof token === "string" ? ctx.sealer?.open(token, ctx.now()) : undefined;
      if (!address) throw new NotFoundError("no such signal");
      const prepared = o?.prepare ? await o.prepare({ tenant: address.tenant, dagId: address.dagId, nodeId: address.nodeId }) : signal;
      const args = signalArgs(prepared, limits.maxInputBytes);
      try {
        const r = await ctx.onRun(S.signal, address.tenant, address.dagId, { nodeId: address.nodeId, gen: address.gen, via: "url", ...args });
        return { ...r, tenant: address.tenant, dagId: address.dagId, nodeId: address.nodeId };
      } catch (err) {
        // A run that is gone says no more than a wrong token.
        if (err instanceof NotFoundError) throw new NotFoundError("no such signal");
        throw err;
      }
    },

    async signalKey(tenant: string, key: string, signal: Signal) {
      const t = id(tenant, "tenant");
      const args = { tenant: t, key: id(key, "key"), ...signalArgs(signal, limits.maxInputBytes) };
      const nodes: { dagId: string; nodeId: string; status: NodeStatus }[] = [];
      for (let shard = 0; shard < ctx.keys.shardCount; shard++) {
        const r = await ctx.onShard(S.signalKey, shard, { ...args });
        for (const [dagId, nodeId, status] of r.nodes) nodes.push({ dagId, nodeId, status });
      }
      return { signalled: nodes.length, nodes };
    },

    async suspend(
      tenant: string,
      lease: Lease,
      wait: WaitSpec,
      o?: { input?: unknown; workerId?: string },
    ) {
      const parsed = WaitSpecSchema.safeParse(wait ?? {});
      if (!parsed.success) throw fromZodError(parsed.error, "wait");
      const w = packWait(parsed.data, "wait", limits.maxInputBytes);
      checkLeaseToken(lease?.leaseToken);
      const t = id(tenant, "tenant");
      const dagId = id(lease.dagId, "dagId");
      const nodeId = id(lease.nodeId, "nodeId");
      const r = await ctx.onRun(S.suspend, t, dagId, {
        nodeId,
        token: lease.leaseToken,
        wait: w.packed,
        ...(w.outputJson !== undefined ? { waitOutput: w.outputJson } : {}),
        ...(o?.input !== undefined ? { input: json(o.input, "input", limits.maxInputBytes) } : {}),
        ...(o?.workerId !== undefined ? { actor: id(o.workerId, "workerId") } : {}),
      });
      const signalToken = seal(t, dagId, nodeId, r.gen, r.timeoutAt);
      return {
        status: r.status,
        attempt: r.attempt,
        ...(r.timeoutAt ? { timeoutAt: r.timeoutAt } : {}),
        ...(signalToken ? { signalToken } : {}),
      };
    },

    async pause(tenant: string, dagId: string, o?: { actor?: string }) {
      return ctx.onRun(S.pauseRun, id(tenant, "tenant"), id(dagId, "dagId"), { mode: "pause", actor: o?.actor ?? "api" });
    },

    async resume(tenant: string, dagId: string, o?: { actor?: string }) {
      return ctx.onRun(S.pauseRun, id(tenant, "tenant"), id(dagId, "dagId"), { mode: "resume", actor: o?.actor ?? "api" });
    },

    /** node.waiting events of a read get the wait's signal token and URL (never stored). */
    decorateEvents(tenant: string, dagId: string, events: RunEvent[]): RunEvent[] {
      if (!ctx.sealer) return events;
      for (const e of events) {
        if (e.type !== "node.waiting" || !e.node || typeof e.data?.gen !== "number") continue;
        const token = seal(tenant, dagId, e.node, e.data.gen, typeof e.data.timeoutAt === "number" ? e.data.timeoutAt : 0)!;
        e.data.signalToken = token;
        const u = url(token);
        if (u) e.data.signalUrl = u;
      }
      return events;
    },

    /** NodeWaiting outbox events get their token (and URL) on the way to the bus. */
    decorateOutbox(events: OutboxEvent[]): OutboxEvent[] {
      if (!ctx.sealer) return events;
      for (const e of events) {
        if (e.type !== "NodeWaiting" || e.waitGen === undefined || !e.nodeId) continue;
        e.signalToken = seal(e.tenant, e.dagId, e.nodeId, e.waitGen, e.waitDeadline)!;
        const u = url(e.signalToken);
        if (u) e.signalUrl = u;
      }
      return events;
    },
  };
}

