import { isDeepStrictEqual } from "node:util";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { RunnableConfig } from "@langchain/core/runnables";
import {
  BaseCheckpointSaver,
  TASKS,
  WRITES_IDX_MAP,
  compareWritesSortKeys,
  maxChannelVersion,
  writesSortKey,
  type ChannelVersions,
  type Checkpoint,
  type CheckpointListOptions,
  type CheckpointMetadata,
  type CheckpointPendingWrite,
  type CheckpointTuple,
  type PendingWrite,
  type SerializerProtocol,
} from "@langchain/langgraph-checkpoint";
import { ValidationError } from "@weft/core";
import { connectRedis, luaScript, type LuaScript, type RedisConfig, type RedisPort } from "@weft/core/redis";
import { ThreadArchive, type ThreadDump } from "./cold.js";
import { arr, dumpValue, joinPayload, loadValue, nextVersion } from "./codec.js";
import { CheckpointConflictError, CheckpointTooLargeError } from "./errors.js";
import { saverKeys, type SaverKeys } from "./keys.js";

export interface ColdTierOptions {
  /** The cold-store table (Weft's archive table, TABLE in @weft/core). */
  table: string;
  /** A DynamoDB endpoint (local servers); ignored when `client` is given. */
  endpoint?: string;
  client?: DynamoDBClient;
  /** A thread not written for this long is archived by sweep(). Default 15 minutes. */
  coldAfterMs?: number;
  /** How long Redis keeps a thread once archived, or once read back. Default 1 hour. */
  keepMs?: number;
  /** How long archives are kept. Default 90 days. */
  retentionDays?: number;
  /** Run sweep() on this interval (unref'd timer; close() stops it). Default: never, call sweep() yourself. */
  sweepEveryMs?: number;
}

export interface WeftSaverOptions {
  /** `redis://` / `rediss://` URL, `{ url, token }` (Upstash REST), a RedisConfig (e.g. clusterNodes), or a port to share. */
  redis: string | { url: string; token: string } | RedisConfig | RedisPort;
  /** TTL of a thread in Redis, refreshed by writes (and reads, see refreshOnRead). Default 24 h; 0: none. Ignored with `cold`: Redis keeps a thread until it is archived. */
  ttlMs?: number;
  /** Reads restart the thread's TTL. Default true. */
  refreshOnRead?: boolean;
  /** Reject a put whose parent is not the namespace's latest checkpoint (CheckpointConflictError). Default false. */
  guarded?: boolean;
  /** Largest serialized checkpoint (or batch of writes). Default 4 MiB. */
  maxCheckpointBytes?: number;
  /** Key prefix. Default `weft:lg`. */
  prefix?: string;
  cold?: ColdTierOptions;
  serde?: SerializerProtocol;
}

/** A checkpoint row as the get and list scripts reply it (read_checkpoint in lua/includes/thread.lua). */
interface Row {
  id: string;
  ns: string;
  head: string;
  checkpoint: string;
  metadata: string;
  blobs: [channel: string, value: string][];
  writes: Write[];
  /** Pre-v4 checkpoints: the parent's pending sends. */
  sends: Write[] | undefined;
}
type Write = [taskId: string, idx: number, channel: string, path: string, value: string];
interface Head {
  p: string | false;
  v: number;
  cv: ChannelVersions;
}
type Reply = { missing?: true; ok?: true; index?: boolean; conflict?: true; latest?: string | false; moved?: true };

const HOUR = 3_600_000;
/** Thread-index score of an archived thread: never due for the cold tier again until written. */
const ARCHIVED = 2 ** 52;
const PAGE = 50;
const lua = join(dirname(fileURLToPath(import.meta.url)), "lua");
const script = (name: string): LuaScript => luaScript(name, lua);
/** The saver's scripts (src/lua/), made once. */
const S = {
  get: script("get"),
  list: script("list"),
  put: script("put"),
  putWrites: script("put_writes"),
  delete: script("delete"),
  dump: script("dump"),
  evict: script("evict"),
  restore: script("restore"),
  indexed: script("indexed"),
  threadIndex: script("thread_index"),
};

// LangGraph's own savers' wording (MemorySaver, PostgresSaver), so callers see one error whichever saver they use.
const NO_THREAD = (what: string) =>
  `Failed to put ${what}. The passed RunnableConfig is missing a required "thread_id" field in its "configurable" property. When using a checkpointer, you must pass a "thread_id" so the checkpointer knows which conversation thread to persist state for. Example: graph.stream(input, { configurable: { thread_id: "my-thread-id" } })`;

/**
 * A LangGraph checkpointer on plain Redis (no modules: single node, Cluster, Upstash REST),
 * every operation one Lua script on one thread's slot, with an optional cold tier in
 * Weft's DynamoDB table that threads move to when idle or finished and are read back from.
 */
export class WeftSaver extends BaseCheckpointSaver {
  private readonly redis: RedisPort;
  private readonly ownsRedis: boolean;
  private readonly keys: SaverKeys;
  private readonly ttlMs: number;
  private readonly refreshOnRead: boolean;
  private readonly guarded: boolean;
  private readonly maxBytes: number;
  private readonly archive: ThreadArchive | undefined;
  private readonly coldAfterMs: number;
  private readonly keepMs: number;
  private readonly dynamo: DynamoDBClient | undefined;
  private readonly timer: NodeJS.Timeout | undefined;

  constructor(o: WeftSaverOptions) {
    super(o.serde);
    if (typeof o.redis === "object" && "run" in o.redis) {
      this.redis = o.redis;
      this.ownsRedis = false;
    } else {
      const cfg: RedisConfig =
        typeof o.redis === "string" ? { url: o.redis } : "token" in o.redis ? { upstashUrl: o.redis.url, upstashToken: o.redis.token } : o.redis;
      this.redis = connectRedis(cfg);
      this.ownsRedis = true;
    }
    this.keys = saverKeys(o.prefix);
    this.refreshOnRead = o.refreshOnRead ?? true;
    this.guarded = o.guarded ?? false;
    this.maxBytes = positive(o.maxCheckpointBytes ?? 4 * 2 ** 20, "maxCheckpointBytes");
    this.coldAfterMs = positive(o.cold?.coldAfterMs ?? 15 * 60_000, "cold.coldAfterMs");
    this.keepMs = positive(o.cold?.keepMs ?? HOUR, "cold.keepMs");
    if (o.cold) {
      if (!o.cold.table) throw new ValidationError("cold.table is required", "cold.table");
      // A local endpoint (dynalite, DynamoDB Local) takes any credentials: the same ones functions/ use.
      this.dynamo =
        o.cold.client ??
        new DynamoDBClient(o.cold.endpoint ? { endpoint: o.cold.endpoint, region: "local", credentials: { accessKeyId: "weftlocal", secretAccessKey: "weftlocal" } } : {});
      const retention = positive(o.cold.retentionDays ?? 90, "cold.retentionDays") * 86_400;
      this.archive = new ThreadArchive(this.dynamo, o.cold.table, this.keys.prefix, retention);
      if (o.cold.sweepEveryMs) {
        this.timer = setInterval(() => void this.sweep().catch(() => {}), positive(o.cold.sweepEveryMs, "cold.sweepEveryMs"));
        this.timer.unref();
      }
    }
    // With a cold tier Redis keeps a thread until it is archived (cache-aside): no TTL before.
    this.ttlMs = this.archive ? 0 : nonNegative(o.ttlMs ?? 24 * HOUR, "ttlMs");
  }

  override getNextVersion(current: number | undefined): number {
    // The base class types versions as numbers; LangGraph treats them as opaque ChannelVersion (number | string).
    return nextVersion(current) as unknown as number;
  }

  async getTuple(config: RunnableConfig): Promise<CheckpointTuple | undefined> {
    const c = config.configurable ?? {};
    if (c.thread_id === undefined) return undefined;
    const threadId = String(c.thread_id);
    const ns = checked(c.checkpoint_ns ?? "", "checkpoint_ns");
    const args = [ns, this.refreshOnRead ? "1" : "0", TASKS];
    if (c.checkpoint_id !== undefined) args.push(checked(c.checkpoint_id, "checkpoint_id"));
    const keys = this.keys.thread(threadId);
    let r = await this.redis.run(S.get, keys, args);
    if (r === "M" && (await this.readBack(threadId))) r = await this.redis.run(S.get, keys, args);
    if (r.charCodeAt(0) !== 84 /* T */) return undefined;
    return this.tuple(threadId, readRow(r.split("\0"), { at: 1 }));
  }

  async *list(config: RunnableConfig, options: CheckpointListOptions = {}): AsyncGenerator<CheckpointTuple> {
    const c = config.configurable ?? {};
    const ns = c.checkpoint_ns === undefined ? false : checked(c.checkpoint_ns, "checkpoint_ns");
    const before = options.before?.configurable?.checkpoint_id === undefined ? false : checked(options.before.configurable.checkpoint_id, "before.checkpoint_id");
    const only = c.checkpoint_id === undefined ? undefined : String(c.checkpoint_id);
    let left = options.limit ?? Infinity;
    if (left <= 0) return;
    for await (const threadId of c.thread_id === undefined ? this.threads() : one(String(c.thread_id))) {
      let cursor: string | false = false;
      let readBack = false;
      for (;;) {
        const f: string[] = (await this.redis.run(S.list, this.keys.thread(threadId), [JSON.stringify({ ns, before, cursor, count: PAGE, tasks: TASKS, refresh: this.refreshOnRead })])).split("\0");
        if (f[0] === "M") {
          // Not in Redis: read the archive back once (cold tier), or there is nothing to list.
          if (readBack || !(readBack = await this.readBack(threadId))) break;
          continue;
        }
        for (const at = { at: 4 }; at.at < f.length; ) {
          const row = readRow(f, at);
          if (only !== undefined && row.id !== only) continue;
          const t = await this.tuple(threadId, row);
          if (options.filter && !Object.entries(options.filter).every(([k, v]) => isDeepStrictEqual((t.metadata as Record<string, unknown>)?.[k], v))) continue;
          yield t;
          if (--left <= 0) return;
        }
        if (f[1] !== "1") break;
        cursor = `${f[2]}\0${f[3]}`;
      }
    }
  }

  async put(config: RunnableConfig, checkpoint: Checkpoint, metadata: CheckpointMetadata, newVersions: ChannelVersions): Promise<RunnableConfig> {
    const c = config.configurable;
    if (c?.thread_id === undefined) throw new Error(NO_THREAD("checkpoint"));
    const threadId = String(c.thread_id);
    const ns = checked(c.checkpoint_ns ?? "", "checkpoint_ns");
    const parent = c.checkpoint_id === undefined ? false : checked(c.checkpoint_id, "checkpoint_id");
    const id = checked(checkpoint.id, "checkpoint.id");
    const { channel_values: values, channel_versions: versions, ...rest } = checkpoint;
    const blobs: [string, string][] = [];
    const payloads: string[] = [];
    for (const [ch, ver] of Object.entries(newVersions)) {
      if (!(ch in values) || (values as Record<string, unknown>)[ch] === undefined) continue;
      blobs.push([checked(ch, "channel"), String(ver)]);
      payloads.push(await dumpValue(this.serde, (values as Record<string, unknown>)[ch]));
    }
    const head = JSON.stringify({ p: parent, v: checkpoint.v, cv: versions } satisfies Head);
    const d = joinPayload(await dumpValue(this.serde, rest), await dumpValue(this.serde, metadata));
    this.limit(threadId, [head, d, ...payloads], "checkpoint");
    const r = await this.write(S.put, threadId, { ns, id, parent, guard: this.guarded, blobs }, [head, d, ...payloads]);
    if (r.conflict) {
      throw new CheckpointConflictError({ threadId, checkpointNs: ns, parentCheckpointId: parent || undefined, latestCheckpointId: r.latest || undefined });
    }
    return { configurable: { thread_id: threadId, checkpoint_ns: ns, checkpoint_id: id } };
  }

  async putWrites(config: RunnableConfig, writes: PendingWrite[], taskId: string, taskPath?: string): Promise<void> {
    const c = config.configurable;
    if (c?.thread_id === undefined) throw new Error(NO_THREAD("writes"));
    if (c.checkpoint_id === undefined) throw new Error(`Failed to put writes. The passed RunnableConfig is missing a required "checkpoint_id" field in its "configurable" property.`);
    const threadId = String(c.thread_id);
    const ns = checked(c.checkpoint_ns ?? "", "checkpoint_ns");
    const id = checked(c.checkpoint_id, "checkpoint_id");
    const entries = writes.map(([ch, _], i) => [checked(taskId, "taskId"), WRITES_IDX_MAP[ch] ?? i, checked(ch, "channel"), checked(taskPath ?? "", "taskPath")] as const);
    const values = await Promise.all(writes.map(([, v]) => dumpValue(this.serde, v)));
    this.limit(threadId, values, "writes");
    await this.write(S.putWrites, threadId, { ns, id, writes: entries }, values);
  }

  async deleteThread(threadId: string): Promise<void> {
    await this.call(S.delete, threadId, {});
    await this.archive?.delete(threadId);
    await this.index({ op: "rem", thread: threadId });
  }

  /**
   * The application says the thread is done: archive it to the cold tier now (a no-op
   * without one). `evict: true` also drops it from Redis at once instead of after keepMs.
   * Returns false when Redis no longer holds the thread (nothing to archive).
   */
  async finish(threadId: string, opts: { evict?: boolean } = {}): Promise<boolean> {
    if (!this.archive) return false;
    const d = (await this.call(S.dump, threadId, {})) as Reply & Partial<ThreadDump> & { archived?: number | false; t?: number };
    if (d.missing) return false;
    if (d.archived !== d.seq) await this.archive.put(threadId, { seq: d.seq!, hash: arr(d.hash), members: arr(d.members) });
    const r = await this.call(S.evict, threadId, { seq: d.seq, keepMs: this.keepMs, now: opts.evict === true });
    // Written since the dump: it stays dirty in the index and the next sweep archives it.
    if (!r.moved) await this.index({ op: "add", thread: threadId, score: ARCHIVED });
    return !r.moved;
  }

  /** Archives every thread idle for coldAfterMs (O(due): a range of the thread index). Returns how many. */
  async sweep(now = Date.now(), limit = 100): Promise<number> {
    if (!this.archive) return 0;
    const due = (await this.index({ op: "due", max: now - this.coldAfterMs, limit })) as { threads: string[] | Record<string, never> };
    let archived = 0;
    for (const threadId of arr(due.threads)) {
      const d = (await this.call(S.dump, threadId, {})) as Reply & { t?: number };
      if (d.missing) {
        await this.index({ op: "add", thread: threadId, score: ARCHIVED });
      } else if (now - (d.t ?? 0) < this.coldAfterMs) {
        await this.index({ op: "add", thread: threadId, score: d.t });
      } else if (await this.finish(threadId)) {
        archived++;
      }
    }
    return archived;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.ownsRedis) await this.redis.close();
    this.dynamo?.destroy();
  }

  /** A write script: rehydrates an archived thread first, and enters new or re-dirtied threads in the index. */
  private async write(s: LuaScript, threadId: string, args: Record<string, unknown>, extra: string[]): Promise<Reply> {
    const base = { ...args, now: Date.now(), ttl: this.ttlMs, cold: this.archive !== undefined };
    let r = await this.call(s, threadId, base, extra);
    // Not in Redis: archived (bring it back first, writes build on it) or new.
    if (r.missing) r = await this.call(s, threadId, { ...base, cold: await this.readBack(threadId) }, extra);
    if (r.index) {
      await this.index({ op: "add", thread: threadId, score: base.now });
      await this.call(S.indexed, threadId, {});
    }
    return r;
  }

  /** Read-through: restores an archived thread into Redis (kept for keepMs). False when there is no archive. */
  private async readBack(threadId: string): Promise<boolean> {
    const dump = await this.archive?.get(threadId);
    if (!dump) return false;
    const hash = arr(dump.hash);
    await this.call(S.restore, threadId, { seq: dump.seq, fields: hash.length / 2, keepMs: this.keepMs }, [...hash, ...arr(dump.members)]);
    return true;
  }

  private async *threads(): AsyncGenerator<string> {
    for (let offset = 0; ; offset += 200) {
      const page = (await this.index({ op: "page", offset, limit: 200 })) as { threads: string[] };
      const ids = arr(page.threads);
      yield* ids;
      if (ids.length < 200) return;
    }
  }

  private async tuple(threadId: string, row: Row): Promise<CheckpointTuple> {
    const head = JSON.parse(row.head) as Head;
    const load = (text: string) => loadValue(this.serde, text);
    const [stored, metadata] = (await Promise.all([load(row.checkpoint), load(row.metadata)])) as [Omit<Checkpoint, "channel_values" | "channel_versions">, CheckpointMetadata];
    const channel_values: Record<string, unknown> = {};
    for (const [ch, v] of row.blobs) channel_values[ch] = await load(v);
    const checkpoint: Checkpoint = { ...stored, channel_values, channel_versions: head.cv };
    if (row.sends) {
      // Checkpoints before format 4 kept pending sends as the parent's TASKS writes (as MemorySaver migrates them).
      checkpoint.channel_values[TASKS] = await Promise.all(sorted(row.sends).map((w) => load(w[4])));
      const vs = Object.values(checkpoint.channel_versions) as (string | number)[];
      checkpoint.channel_versions[TASKS] = vs.length > 0 ? maxChannelVersion(...vs) : this.getNextVersion(undefined);
    }
    const pendingWrites: CheckpointPendingWrite[] = [];
    for (const [taskId, , ch, , v] of sorted(row.writes)) pendingWrites.push([taskId, ch, await load(v)]);
    const at = (id: string) => ({ configurable: { thread_id: threadId, checkpoint_ns: row.ns, checkpoint_id: id } });
    return { config: at(row.id), checkpoint, metadata, pendingWrites, ...(head.p ? { parentConfig: at(head.p) } : {}) };
  }

  private limit(threadId: string, parts: string[], what: string): void {
    const bytes = parts.reduce((n, p) => n + Buffer.byteLength(p, "utf8"), 0);
    if (bytes > this.maxBytes) throw new CheckpointTooLargeError(threadId, bytes, this.maxBytes, what);
  }

  private async call(s: LuaScript, threadId: string, args: Record<string, unknown>, extra: string[] = []): Promise<Reply> {
    return JSON.parse(await this.redis.run(s, this.keys.thread(threadId), [JSON.stringify(args), ...extra])) as Reply;
  }

  private async index(args: Record<string, unknown>): Promise<unknown> {
    return JSON.parse(await this.redis.run(S.threadIndex, [this.keys.index], [JSON.stringify(args)]));
  }
}

/** Writes of one checkpoint in the order live execution applies them (writesSortKey). */
function sorted(ws: Write[]): Write[] {
  if (ws.length < 2) return ws;
  return [...ws].sort((a, b) => compareWritesSortKeys(writesSortKey(a[3], a[0], a[1]), writesSortKey(b[3], b[0], b[1])));
}

/** One checkpoint row of a get or list reply (`f`: its NUL-split fields), from field `pos.at` on; moves `pos.at` past it. */
function readRow(f: string[], pos: { at: number }): Row {
  let i = pos.at;
  const id = f[i++]!;
  const ns = f[i++]!;
  const head = f[i++]!;
  const checkpoint = f[i++]!;
  const metadata = f[i++]!;
  const blobs: Row["blobs"] = [];
  for (let n = Number(f[i++]); n > 0; n--, i += 2) blobs.push([f[i]!, f[i + 1]!]);
  const writes = (): Write[] => {
    const ws: Write[] = [];
    for (let n = Number(f[i++]); n > 0; n--, i += 5) ws.push([f[i]!, Number(f[i + 1]), f[i + 2]!, f[i + 3]!, f[i + 4]!]);
    return ws;
  };
  const own = writes();
  const sends = f[i++] === "1" ? writes() : undefined;
  pos.at = i;
  return { id, ns, head, checkpoint, metadata, blobs, writes: own, sends };
}

async function* one(x: string): AsyncGenerator<string> {
  yield x;
}

/** Field names in Redis are NUL-separated: an id or name holding NUL would be ambiguous. */
function checked(value: unknown, field: string): string {
  const s = String(value);
  if (s.includes("\0")) throw new ValidationError(`${field} must not contain NUL characters`, field);
  return s;
}

function positive(n: number, field: string): number {
  if (!Number.isFinite(n) || n <= 0) throw new ValidationError(`${field} must be a positive number`, field);
  return n;
}

function nonNegative(n: number, field: string): number {
  if (!Number.isFinite(n) || n < 0) throw new ValidationError(`${field} must be 0 or a positive number`, field);
  return n;
}
