import { AsyncLocalStorage } from "node:async_hooks";
import { randomBytes } from "node:crypto";
import { checkId, checkInt, checkLeaseToken, LIMITS } from "../checks.js";
import { DEFAULT_LIMITS, type DagLimits, type RetryPolicy } from "../dag/spec.js";
import { PayloadTooLargeError, ValidationError } from "../errors.js";
import { call as callScript, failureError, isFailure, list, type Script } from "../redis/contract.js";
import { keySchema, type KeySchema, type RunKeys, type ShardKeys } from "../redis/keys.js";
import type { RedisPort } from "../redis/port.js";
import { decodeEvents, decodeOutbox } from "./codec.js";
import { buildAddition, growth } from "./grow.js";
import { handoff } from "./handoff.js";
import { lifecycle } from "./lifecycle.js";
import { readRunView } from "./read.js";
import * as S from "./scripts.js";
import { signalSealer } from "./signal-token.js";
import { buildSubmit } from "./submit.js";
import { waits } from "./waits.js";
import { parseTraceparent } from "../trace-context.js";
import type {
  ClaimOptions,
  CompleteItem,
  CompleteResult,
  Engine,
  EventPage,
  NodeError,
  OutboxEvent,
  ReconcileResult,
  RunStatus,
  StateWrite,
  Task,
} from "./types.js";

export interface EngineOptions {
  redis: RedisPort;
  /** Shards runs are spread over (hash tag per shard); 1 on a single Redis. */
  shardCount?: number;
  prefix?: string;
  limits?: Partial<DagLimits>;
  /** Retry policy of nodes that set none. Default: 3 attempts, 1 s backoff doubling up to 30 s. */
  defaultRetry?: RetryPolicy;
  /** Epoch-ms clock; by default scripts read Redis TIME, one clock for every worker. */
  clock?: () => number;
  /** Seals signal tokens (WEFT_SIGNING_SECRET, 32+ characters); without it waits have no token URLs. */
  signingSecret?: string;
  /** The API's public base URL: signal URLs in NodeWaiting events and node.waiting log entries. */
  publicUrl?: string;
  /**
   * Most runs a tenant may have in flight (running or paused); a submit over it is refused
   * with a RateLimitedError naming the limit. Counted per shard: with S shards each holds at
   * most ceil(max / S) of a tenant's runs. No limit by default.
   */
  maxRunsInFlight?: number;
  /**
   * Trace context travels with the work: a run submitted with a traceparent keeps it, and its
   * claimed tasks and NodeReady events carry it (each script call then gets the argument `tp`).
   * Off by default: no argument, no read, nothing stored but what submit is given.
   */
  traceContext?: boolean;
  /**
   * Wraps every script call (a tracer's span around it: functions/tracing.ts). `run` performs
   * the call; `args` are the script's arguments (ids, never to be logged whole). None by default.
   */
  aroundScript?: <R>(name: string, args: Readonly<Record<string, unknown>>, run: () => Promise<R>) => Promise<R>;
}

const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 3, backoffMs: 1000, maxBackoffMs: 30_000 };
const DEFAULT_LEASE_MS = 30_000;

// Lease tokens and jitter seeds come from one pooled CSPRNG buffer: a randomBytes call
// per token costs more than the rest of a chain hop's client work.
const POOL_BYTES = 16 * 1024;
let pool = randomBytes(POOL_BYTES);
let poolAt = 0;
function take(n: number): Buffer {
  if (poolAt + n > POOL_BYTES) {
    pool = randomBytes(POOL_BYTES);
    poolAt = 0;
  }
  const out = pool.subarray(poolAt, poolAt + n);
  poolAt += n;
  return out;
}
const rand = () => take(12).toString("base64url");
const seed = () => take(4).readUInt32BE(0);

// Ids, integers and lease tokens: the rules of checks.ts (the HTTP schemas' too), each a
// SchemaError naming the field; no zod parse on the hot path.
const id = checkId;
const token = (value: unknown) => checkLeaseToken(value);
const int = (value: unknown, field: string, min: number, max: number, fallback: number): number =>
  value === undefined ? fallback : checkInt(value, field, min, max);

export function createEngine(opts: EngineOptions): Engine {
  const redis = opts.redis;
  const keys: KeySchema = keySchema(opts.prefix, opts.shardCount);
  const limits: DagLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  const defaultRetry = opts.defaultRetry ?? DEFAULT_RETRY;
  const clock = opts.clock;
  let nextShard = 0;
  // Inside outboxScope(): the outbox events this engine's scripts write, as they reply them.
  const scope = new AsyncLocalStorage<OutboxEvent[]>();

  const traceContext = opts.traceContext === true;
  const around = opts.aroundScript;
  const exec = <C extends { shard: ShardKeys }, A, R>(script: Script<C, A, R>, ctx: C, args: A): Promise<R> => {
    if (clock) (args as { now?: number }).now = clock();
    if (traceContext) (args as { tp?: 1 }).tp = 1;
    if (around) return around(script.name, args as Record<string, unknown>, () => send(script, ctx, args));
    return send(script, ctx, args);
  };
  const send = <C extends { shard: ShardKeys }, A, R>(script: Script<C, A, R>, ctx: C, args: A): Promise<R> => {
    const written = scope.getStore();
    if (!written) return callScript(redis, script, ctx, args);
    const shard = ctx.shard.index;
    return callScript(redis, script, ctx, args, (entries) => {
      for (const entry of entries) written.push(...decorateOutbox(decodeOutbox(shard, entry)));
    });
  };
  const onShard = <A, R>(script: Script<S.OnShard, A, R>, shard: number, args: A) => exec(script, { shard: keys.shard(shard) }, args);
  const onRun = <A, R>(script: Script<S.OnRun, A, R>, tenant: string, dagId: string, args: Omit<A, "tenant" | "dagId">) => {
    const run = keys.run(tenant, dagId);
    return exec(script, { shard: keys.shard(run.shard), run }, { tenant, dagId, ...args } as A);
  };

  const claimArgs = (o: ClaimOptions | undefined) => ({
    max: int(o?.max, "max", 1, LIMITS.claimMax, 1),
    leaseMs: int(o?.leaseMs, "leaseMs", 1, LIMITS.maxDurationMs, DEFAULT_LEASE_MS),
    workerId: o?.workerId === undefined ? "anonymous" : id(o.workerId, "workerId"),
  });
  // Every script call that may claim gets its own fresh lease randoms: never reuse them across calls.
  const rands = (n: number) => Array.from({ length: n }, rand);

  const serialize = (value: unknown, field: string): string => {
    let json: string | undefined;
    try {
      json = JSON.stringify(value === undefined ? null : value);
    } catch {
      throw new ValidationError(`${field} must be JSON-serializable`, field);
    }
    if (json === undefined) throw new ValidationError(`${field} must be JSON-serializable`, field);
    if (Buffer.byteLength(json) > limits.maxInputBytes) {
      throw new PayloadTooLargeError(`${field} is larger than ${limits.maxInputBytes} bytes`, field);
    }
    return json;
  };

  const readEvents = async (tenant: string, dagId: string, after: number, limit: number) => {
    // The script cuts entries to the events after `after`, at most `limit` of them.
    return (await onRun(S.readEvents, tenant, dagId, { after, limit })).flatMap(decodeEvents);
  };

  const stateWrites = (writes: unknown, field: string) => {
    if (!Array.isArray(writes) || writes.length > LIMITS.stateWritesPerCompletion) throw new ValidationError(`${field} must be a list of at most ${LIMITS.stateWritesPerCompletion} writes`, field);
    return writes.map((w: StateWrite, i) => {
      const f = `${field}[${i}]`;
      if (!w || typeof w !== "object") throw new ValidationError(`${f} must be an object`, f);
      if ((w.expectedVersion === undefined) === (w.create !== true)) {
        throw new ValidationError(`${f} needs exactly one of expectedVersion (compare-and-set) or create: true`, `${f}.expectedVersion`);
      }
      const expected = w.create ? undefined : int(w.expectedVersion, `${f}.expectedVersion`, 1, LIMITS.maxInteger, 1);
      return { key: id(w.key, `${f}.key`), mode: w.create ? "create" : "match", expected, json: serialize(w.value, `${f}.value`) };
    });
  };

  const sealer = opts.signingSecret ? signalSealer(opts.signingSecret) : undefined;
  const { decorateEvents, decorateOutbox, ...waiting } = waits({
    keys,
    onShard,
    onRun,
    limits,
    id,
    now: clock ?? Date.now,
    ...(sealer ? { sealer } : {}),
    ...(opts.publicUrl ? { publicUrl: opts.publicUrl } : {}),
  });

  const inFlight =
    opts.maxRunsInFlight === undefined ? undefined : { maxInFlight: Math.ceil(int(opts.maxRunsInFlight, "maxRunsInFlight", 1, 1e9, 0) / keys.shardCount), shards: keys.shardCount };
  const engine: Engine = {
    shardCount: keys.shardCount,
    keys,
    ...lifecycle({ keys, exec, onShard, onRun, readEvents }),
    ...handoff({ onRun }),
    ...growth({ onRun }, limits, defaultRetry),
    ...waiting,

    async submit(tenant, spec, o) {
      const t = id(tenant, "tenant");
      const args: ReturnType<typeof buildSubmit> & { traceparent?: string } = buildSubmit(t, spec, limits, defaultRetry);
      if (o?.traceparent !== undefined) {
        if (!parseTraceparent(o.traceparent)) throw new ValidationError("traceparent must be a W3C traceparent (00-<32 hex>-<16 hex>-<2 hex>)", "traceparent");
        args.traceparent = o.traceparent;
      }
      const run = keys.run(t, args.id);
      const r = await exec(S.submit, { shard: keys.shard(run.shard), run }, inFlight ? { ...args, ...inFlight } : args);
      return { dagId: args.id, status: r.status, ready: list<string>(r.ready), created: r.created };
    },

    async claim(tenant, agent, o) {
      const base = { tenant: id(tenant, "tenant"), agent: id(agent, "agent"), ...claimArgs(o) };
      const tasks: Task[] = [];
      const start = nextShard++ % keys.shardCount;
      for (let i = 0; i < keys.shardCount && tasks.length < base.max; i++) {
        const shard = (start + i) % keys.shardCount;
        const max = base.max - tasks.length;
        tasks.push(...(await onShard(S.claim, shard, { ...base, max, rands: rands(max), seed: seed() })));
      }
      return tasks;
    },

    async claimNode(tenant, dagId, nodeId, o) {
      const { leaseMs, workerId } = claimArgs({ ...o, max: 1 });
      return onRun(S.claimNode, id(tenant, "tenant"), id(dagId, "dagId"), {
        nodeId: id(nodeId, "nodeId"),
        leaseMs,
        workerId,
        rand: rand(),
      });
    },

    async heartbeat(tenant, lease, leaseMs) {
      return onRun(S.heartbeat, id(tenant, "tenant"), id(lease?.dagId, "dagId"), {
        nodeId: id(lease.nodeId, "nodeId"),
        token: token(lease.leaseToken),
        leaseMs: int(leaseMs, "leaseMs", 1, LIMITS.maxDurationMs, DEFAULT_LEASE_MS),
      });
    },

    async complete(tenant, lease, output, o) {
      // The lease's three fields only: a claimed Task passed as its lease carries more.
      const item: CompleteItem = { dagId: lease?.dagId, nodeId: lease?.nodeId, leaseToken: lease?.leaseToken, output, ...(o?.state ? { state: o.state } : {}), ...(o?.add ? { add: o.add } : {}) };
      const { results, next } = await engine.completeMany(tenant, [item], o);
      const r = results[0]!;
      if ("error" in r) throw r.error;
      return next ? { ...r, next } : r;
    },

    async completeMany(tenant, items, o) {
      const t = id(tenant, "tenant");
      const actor = o?.workerId === undefined ? undefined : id(o.workerId, "workerId");
      const claimNext = (c: { agent: string } & ClaimOptions) => {
        const a = claimArgs(c);
        return { agent: id(c.agent, "claimNext.agent"), ...a, rands: rands(a.max) };
      };
      const next = o?.claimNext ? claimNext(o.claimNext) : undefined;
      if (!Array.isArray(items) || items.length === 0 || items.length > LIMITS.claimMax) {
        throw new ValidationError(`items must hold 1 to ${LIMITS.claimMax} completions`, "items");
      }
      // Per shard: the items, and the runs they name (declared as the script's `runs` keys).
      const byShard = new Map<number, { items: { index: number; item: S.CompleteItemArgs }[]; runs: RunKeys[]; at: Map<string, number> }>();
      // A single completion names its fields plainly; a batch names the item.
      const at = (index: number, name: string) => (items.length === 1 ? name : `items[${index}].${name}`);
      items.forEach((it, index) => {
        const dagId = id(it.dagId, at(index, "dagId"));
        const run = keys.run(t, dagId);
        let group = byShard.get(run.shard);
        if (!group) {
          group = { items: [], runs: [], at: new Map() };
          byShard.set(run.shard, group);
        }
        let r = group.at.get(dagId);
        if (r === undefined) {
          r = group.runs.push(run);
          group.at.set(dagId, r);
        }
        const item: S.CompleteItemArgs = {
          r,
          dagId,
          nodeId: id(it.nodeId, at(index, "nodeId")),
          token: token(it.leaseToken),
          output: serialize(it.output, at(index, "output")),
          actor,
          ...(it.state ? { state: stateWrites(it.state, at(index, "state")) } : {}),
          ...(it.add ? buildAddition(it.add, limits, defaultRetry, at(index, "add.")) : {}),
        };
        group.items.push({ index, item });
      });
      const results: ({ error: Error } | CompleteResult)[] = new Array(items.length);
      let claimed: Task[] | undefined;
      let first = true;
      for (const [shard, group] of byShard) {
        // The next tasks are claimed with the first shard's completions (one slot per script).
        const withNext = first && next ? next : undefined;
        first = false;
        const r = await exec(
          S.complete,
          { shard: keys.shard(shard), runs: group.runs },
          { tenant: t, items: group.items.map((g) => g.item), seed: seed(), ...(withNext ? { next: withNext } : {}) },
        );
        group.items.forEach((g, i) => {
          const one = r.results[i] as Record<string, unknown>;
          results[g.index] = isFailure(one)
            ? { error: failureError(one) }
            : { duplicate: one.duplicate as boolean, ready: list<string>(one.ready), runStatus: one.runStatus as RunStatus };
        });
        if (withNext) claimed = r.next ?? [];
      }
      return claimed ? { results, next: claimed } : { results };
    },

    async fail(tenant, lease, error: NodeError, o) {
      if (!error || typeof error !== "object" || typeof error.message !== "string" || error.message.length === 0) {
        throw new ValidationError("error.message must be a non-empty string", "error.message");
      }
      const retryable = o?.retryable ?? true;
      if (typeof retryable !== "boolean") throw new ValidationError("retryable must be a boolean", "retryable");
      return onRun(S.fail, id(tenant, "tenant"), id(lease?.dagId, "dagId"), {
        nodeId: id(lease.nodeId, "nodeId"),
        token: token(lease.leaseToken),
        error: serialize(error, "error"),
        retryable,
        seed: seed(),
        actor: o?.workerId === undefined ? undefined : id(o.workerId, "workerId"),
      });
    },

    async cancel(tenant, dagId, o) {
      return onRun(S.cancel, id(tenant, "tenant"), id(dagId, "dagId"), {
        reason: o?.reason ?? "cancelled",
        actor: o?.actor ?? "api",
      });
    },

    async getRun(tenant, dagId, o) {
      const t = id(tenant, "tenant");
      const d = id(dagId, "dagId");
      const raw = await onRun(S.readRun, t, d, {
        input: o?.include?.input ?? false,
        output: o?.include?.output ?? true,
      });
      return readRunView(t, d, raw);
    },

    async events(tenant, dagId, o): Promise<EventPage> {
      const after = int(o?.after, "after", 0, LIMITS.maxInteger, 0);
      const limit = int(o?.limit, "limit", 1, 10_000, 100);
      const t = id(tenant, "tenant");
      const d = id(dagId, "dagId");
      const events = decorateEvents(t, d, await readEvents(t, d, after, limit));
      return { events, cursor: events.length ? events[events.length - 1]!.seq : after };
    },

    async reconcile(o): Promise<ReconcileResult> {
      const limit = int(o?.limit, "limit", 1, 10_000, 1000);
      const total: ReconcileResult = { expiredLeases: 0, retriesDue: 0, waitsDue: 0, shards: keys.shardCount };
      for (let shard = 0; shard < keys.shardCount; shard++) {
        // Repeat while a shard fills its limit; each pass is O(limit).
        for (let pass = 0; pass < 100; pass++) {
          const r = await onShard(S.reconcile, shard, { limit, seed: seed() });
          total.expiredLeases += r.expiredLeases;
          total.retriesDue += r.retriesDue;
          total.waitsDue += r.waitsDue;
          if (r.expiredLeases < limit && r.retriesDue < limit && r.waitsDue < limit) break;
        }
      }
      return total;
    },

    async readOutbox(o) {
      const limit = int(o?.limit, "limit", 1, 10_000, 100);
      const shards = o?.shard === undefined ? [...Array(keys.shardCount).keys()] : [int(o.shard, "shard", 0, keys.shardCount - 1, 0)];
      const out: OutboxEvent[] = [];
      for (const shard of shards) {
        const entries = await onShard(S.outboxRead, shard, { limit });
        // Entries hold one script call's events each: at most `limit` events per shard, in
        // whole entries where possible (a part-acked entry is written back, which costs a copy).
        const mine: OutboxEvent[] = [];
        for (const entry of entries) {
          const events = decodeOutbox(shard, entry);
          if (mine.length > 0 && mine.length + events.length > limit) break;
          mine.push(...events.slice(0, limit - mine.length));
        }
        out.push(...mine);
      }
      return decorateOutbox(out);
    },

    outboxScope: (fn) => scope.run([], fn),

    takeOutbox() {
      const written = scope.getStore();
      return written ? written.splice(0) : undefined;
    },

    async ackOutbox(events) {
      // Event ids are `<entry id>/<position>`: the ack script removes those positions of each entry.
      const byShard = new Map<number, Map<string, number[]>>();
      for (const e of events) {
        const slash = e.id.lastIndexOf("/");
        const entries = byShard.get(e.shard) ?? new Map<string, number[]>();
        byShard.set(e.shard, entries);
        const entry = e.id.slice(0, slash);
        entries.set(entry, [...(entries.get(entry) ?? []), Number(e.id.slice(slash + 1))]);
      }
      let acked = 0;
      for (const [shard, entries] of byShard) acked += await onShard(S.outboxAck, shard, { entries: [...entries] });
      return acked;
    },

    close: () => redis.close(),
  };
  return engine;
}
