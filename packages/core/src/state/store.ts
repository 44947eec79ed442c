import { apply as applyMergePatch } from "json-merge-patch";
import { LIMITS } from "../checks.js";
import { DEFAULT_LIMITS } from "../dag/spec.js";
import { ConflictError, NotFoundError, ValidationError } from "../errors.js";
import { call as callScript, type Script } from "../redis/contract.js";
import { keySchema, type KeySchema } from "../redis/keys.js";
import type { RedisPort } from "../redis/port.js";
import { stateKeys } from "./keys.js";
import * as S from "./scripts.js";
import type {
  HistoryEntry,
  Machine,
  StateEntry,
  StateRef,
  TransitionResult,
  WriteResult,
  Writer,
} from "./types.js";
import { backoffDelay, sleep, update } from "./update.js";
import { checkId, checkMachine, checkRef, checkVersion, checkWriter, toJsonText } from "./validate.js";

export interface StateStoreOptions {
  redis: RedisPort;
  /**
   * The engine's key layout (`engine.keys`), so run-scoped state shares its run's hash slot
   * and prefix and shard count cannot differ from the engine's. Default: the layout of an
   * engine made with no prefix or shard count (keySchema()).
   */
  keys?: KeySchema;
  /** Epoch ms; default: Redis TIME inside the scripts. */
  clock?: () => number;
  /** History entries kept per key. Default LIMITS.stateHistory (50). */
  historyLimit?: number;
  /**
   * Largest value, in bytes of JSON text. Default: the engine's bound on a value
   * (DEFAULT_LIMITS.maxInputBytes, 256 KB), which also bounds the state a completion writes.
   */
  maxValueBytes?: number;
}

export interface WriteOptions {
  writer?: Writer;
}

export interface RetryOptions {
  /** Re-tries after a version conflict when the caller gave no version. Default 10. */
  retries?: number;
  /** First backoff; doubles per retry, with full jitter. Default 5 ms. */
  backoffMs?: number;
}

export interface StateStore {
  /** The entry, or NotFoundError when the key does not exist. */
  get(ref: StateRef): Promise<StateEntry>;
  /** The entry, or undefined when the key does not exist. */
  read(ref: StateRef): Promise<StateEntry | undefined>;
  /** Compare-and-set: writes only if the key is at `expectedVersion`, else ConflictError. */
  put(ref: StateRef, value: unknown, opts: WriteOptions & { expectedVersion: number }): Promise<WriteResult>;
  /** Create-only (If-None-Match: *): ConflictError when the key exists. */
  create(ref: StateRef, value: unknown, opts?: WriteOptions): Promise<WriteResult>;
  /**
   * RFC 7396 merge patch. With `expectedVersion` it is a compare-and-set on that version;
   * without, it re-reads and re-applies on conflict (the patch applies to the latest value).
   */
  patch(
    ref: StateRef,
    patch: unknown,
    opts?: WriteOptions & RetryOptions & { expectedVersion?: number },
  ): Promise<WriteResult & { value: unknown }>;
  delete(ref: StateRef, opts: WriteOptions & { expectedVersion: number }): Promise<WriteResult>;
  /** Newest first, at most `limit` (default and cap: historyLimit). */
  history(ref: StateRef, opts?: { limit?: number }): Promise<HistoryEntry[]>;
  /**
   * A page of a scope's keys (a run's, or a namespace's), each with its version and time,
   * sorted by name within the page; deleted keys are left out. `cursor` from the last page.
   * Namespace keys are listed from the first write after the index existed (it is kept by
   * every write, in the same script).
   */
  keys(scope: StateScope, opts?: { cursor?: string; limit?: number }): Promise<{ keys: StateKeyInfo[]; cursor?: string }>;
  /** A page of the tenant's namespaces (each listed from its first key created since the index existed). */
  namespaces(tenant: string, opts?: { cursor?: string; limit?: number }): Promise<{ namespaces: string[]; cursor?: string }>;
  putMachine(tenant: string, name: string, definition: unknown): Promise<Machine>;
  getMachine(tenant: string, name: string): Promise<Machine>;
  /**
   * Moves the key's `state` to `to` if machine `machine` allows it from the current state
   * (a missing key may only start in `initial`). `expectedVersion` (0: must not exist)
   * makes it a compare-and-set; without it, writes to other fields are retried over.
   */
  transition(
    ref: StateRef,
    req: WriteOptions & RetryOptions & { machine: string; to: string; expectedVersion?: number },
  ): Promise<TransitionResult>;
}

/** Where keys live: a run, or a tenant namespace. */
export type StateScope = { tenant: string; dagId: string } | { tenant: string; namespace: string };
export interface StateKeyInfo {
  key: string;
  version: number;
  at: number;
}

export function createStateStore(opts: StateStoreOptions): StateStore {
  const schema: KeySchema = opts.keys ?? keySchema();
  const historyLimit = opts.historyLimit ?? LIMITS.stateHistory;
  const maxValueBytes = opts.maxValueBytes ?? DEFAULT_LIMITS.maxInputBytes;
  const { redis } = opts;

  const call = <C, A, R>(script: Script<C, A, R>, keys: C, args: A): Promise<R> =>
    callScript(redis, script, keys, opts.clock ? { ...args, now: opts.clock() } : args);

  /** A version conflict found here (not in a script), in the scripts' shape. */
  const conflict = (message: string, entry: StateEntry | undefined): ConflictError =>
    new ConflictError(message, {
      reason: "version",
      current: entry ? { value: entry.value, version: entry.version, ...machineOf(entry) } : { value: null, version: 0 },
    });

  const written = (r: S.Written): WriteResult => ({ version: r.version, at: r.at });

  const read = async (ref: StateRef): Promise<StateEntry | undefined> => {
    const r = checkRef(ref);
    const got = await call(S.get, stateKeys(schema, r), {});
    if (!got.found || got.json === undefined) return undefined;
    const entry: StateEntry = {
      value: JSON.parse(got.json),
      json: got.json,
      version: got.version,
      writer: got.writer ? (JSON.parse(got.writer) as Writer) : {},
      at: got.at!,
    };
    if (got.machine !== undefined) entry.machine = got.machine;
    if (got.state !== undefined) entry.state = got.state;
    return entry;
  };

  const write = async (
    ref: StateRef,
    json: string,
    w: { mode: "match" | "create"; expected?: number; op: "put" | "create" | "patch"; writer?: Writer },
  ): Promise<WriteResult> => {
    const r = checkRef(ref);
    const k = stateKeys(schema, r);
    const writer = checkWriter(w.writer, r);
    return indexed(
      r,
      written(await call(S.put, k, { key: r.key, dagId: k.run?.dagId, mode: w.mode, expected: w.expected, json, op: w.op, writer, historyMax: historyLimit })),
    );
  };

  /**
   * A namespace's first key (version 1) lists the namespace under its tenant: that set is on
   * another slot, so it is one more call, and only on a key's first write.
   */
  const indexed = async <W extends { version: number }>(ref: StateRef, w: W): Promise<W> => {
    if ("namespace" in ref && w.version === 1) await call(S.nameAdd, { index: schema.namespaces(ref.tenant) }, { name: ref.namespace });
    return w;
  };

  const page = async (index: string, o: { cursor?: string; limit?: number }): Promise<{ names: string[]; cursor?: string }> => {
    const limit = o.limit ?? 100;
    if (!Number.isInteger(limit) || limit < 1 || limit > LIMITS.stateListMax) throw new ValidationError(`limit must be a whole number from 1 to ${LIMITS.stateListMax}`, "limit");
    if (o.cursor !== undefined && !/^\d{1,20}$/.test(o.cursor)) throw new ValidationError("cursor must be one a previous page returned", "cursor");
    const r = await call(S.names, { index }, { cursor: o.cursor ?? "0", count: limit });
    return { names: r.names.sort(), ...(r.cursor === "0" ? {} : { cursor: r.cursor }) };
  };

  const getMachine = async (tenant: string, name: string): Promise<Machine> => {
    checkId(tenant, "tenant");
    checkId(name, "machine");
    const r = await call(S.machineGet, { machine: schema.machine(tenant, name) }, {});
    if (!r.found || r.json === undefined) throw new NotFoundError(`machine ${name} not found`);
    return { name, version: r.version!, ...(JSON.parse(r.json) as Omit<Machine, "name" | "version">) };
  };

  const store: StateStore = {
    read,
    async get(ref) {
      const entry = await read(ref);
      if (!entry) throw new NotFoundError(`state key ${ref.key} not found`);
      return entry;
    },
    async put(ref, value, o) {
      const expected = checkVersion(o?.expectedVersion);
      return write(ref, toJsonText(value, maxValueBytes), { mode: "match", expected, op: "put", writer: o.writer });
    },
    async create(ref, value, o) {
      return write(ref, toJsonText(value, maxValueBytes), { mode: "create", op: "create", writer: o?.writer });
    },
    async patch(ref, patch, o = {}) {
      checkRef(ref);
      const patchValue = JSON.parse(toJsonText(patch, maxValueBytes, "patch")) as unknown;
      if (o.expectedVersion !== undefined) checkVersion(o.expectedVersion);
      checkWriter(o.writer, ref);
      // Merge patches are computed here and written with compare-and-set on the version
      // read: applying them in Lua would re-encode the stored JSON through cjson.
      let value: unknown;
      const patching = {
        read,
        put: (r: StateRef, v: unknown, w: { expectedVersion: number; writer?: Writer }) =>
          write(r, toJsonText(v, maxValueBytes), { mode: "match", expected: w.expectedVersion, op: "patch", writer: w.writer }),
        create: () => Promise.reject(new NotFoundError(`state key ${ref.key} not found`)),
      };
      const result = await update(
        patching,
        ref,
        (current, entry) => {
          if (!entry) throw new NotFoundError(`state key ${ref.key} not found`);
          if (o.expectedVersion !== undefined && entry.version !== o.expectedVersion) {
            throw conflict(`version is ${entry.version}, not ${o.expectedVersion}`, entry);
          }
          value = applyMergePatch(current, structuredClone(patchValue));
          return value;
        },
        { retries: o.expectedVersion !== undefined ? 0 : (o.retries ?? 10), backoffMs: o.backoffMs, writer: o.writer },
      );
      return { version: result.version, at: result.at, value };
    },
    async delete(ref, o) {
      const r = checkRef(ref);
      const expected = checkVersion(o?.expectedVersion);
      const k = stateKeys(schema, r);
      const writer = checkWriter(o.writer, r);
      return written(await call(S.del, k, { key: r.key, dagId: k.run?.dagId, expected, writer, historyMax: historyLimit }));
    },
    async history(ref, o = {}) {
      const r = checkRef(ref);
      const limit = o.limit ?? historyLimit;
      if (!Number.isInteger(limit) || limit < 1 || limit > historyLimit) {
        throw new ValidationError(`limit must be a whole number from 1 to ${historyLimit}`, "limit");
      }
      const got = await call(S.history, stateKeys(schema, r), { limit });
      return got.entries as HistoryEntry[];
    },
    async putMachine(tenant, name, definition) {
      checkId(tenant, "tenant");
      checkId(name, "name");
      const def = checkMachine(definition);
      const r = await call(S.machinePut, { machine: schema.machine(tenant, name) }, { json: JSON.stringify(def) });
      return { name, version: r.version!, ...def };
    },
    getMachine,
    async keys(scope, o = {}) {
      checkId(scope.tenant, "tenant");
      let index: string;
      if ("dagId" in scope) {
        checkId(scope.dagId, "dagId");
        index = schema.run(scope.tenant, scope.dagId).stateKeys;
      } else {
        checkId(scope.namespace, "namespace");
        index = schema.namespace(scope.tenant, scope.namespace).stateKeys;
      }
      const p = await page(index, o);
      const entries = await Promise.all(p.names.map((key) => read({ ...scope, key } as StateRef)));
      const keys = p.names.flatMap((key, i) => {
        const e = entries[i];
        return e ? [{ key, version: e.version, at: e.at }] : [];
      });
      return { keys, ...(p.cursor ? { cursor: p.cursor } : {}) };
    },
    async namespaces(tenant, o = {}) {
      checkId(tenant, "tenant");
      const p = await page(schema.namespaces(tenant), o);
      return { namespaces: p.names, ...(p.cursor ? { cursor: p.cursor } : {}) };
    },
    async transition(ref, req) {
      const r = checkRef(ref);
      if (req === null || typeof req !== "object") throw new ValidationError("transition must be an object");
      checkId(req.machine, "machine");
      checkId(req.to, "to");
      const expectedVersion = req.expectedVersion === undefined ? undefined : checkVersion(req.expectedVersion);
      const writer = checkWriter(req.writer, r);
      const machine = await getMachine(r.tenant, req.machine);
      if (!machine.states.includes(req.to)) {
        throw new ValidationError(`to must be one of the states of machine ${machine.name}: ${machine.states.join(", ")}`, "to");
      }
      const def = { initial: machine.initial, states: machine.states, transitions: machine.transitions };
      const k = stateKeys(schema, r);
      const retries = expectedVersion === undefined ? (req.retries ?? 10) : 0;
      for (let attempt = 0; ; attempt++) {
        const entry = await read(r);
        if (expectedVersion !== undefined && (entry?.version ?? 0) !== expectedVersion) {
          throw conflict(`version is ${entry?.version ?? "absent"}, not ${expectedVersion}`, entry);
        }
        const base = entry && isObject(entry.value) ? entry.value : {};
        const value = { ...base, state: req.to };
        const json = toJsonText(value, maxValueBytes);
        let reply: S.Written;
        try {
          reply = await call(S.transition, k, {
            key: r.key, dagId: k.run?.dagId,
            machine: machine.name, def, to: req.to, expected: entry?.version, json, writer, historyMax: historyLimit,
          });
        } catch (err) {
          if (!(err instanceof ConflictError && err.details?.reason === "version") || attempt >= retries) throw err;
          await sleep(backoffDelay(attempt, req.backoffMs));
          continue;
        }
        const out: TransitionResult = { version: reply.version, at: reply.at, to: req.to, value };
        if (reply.from !== undefined) out.from = reply.from;
        return indexed(r, out);
      }
    },
  };
  return store;
}

function machineOf(entry: StateEntry): { machine?: string; state?: string } {
  return entry.machine === undefined ? {} : { machine: entry.machine, state: entry.state };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}
