import { NotFoundError, PayloadTooLargeError, ValidationError, type ReadThrough } from "@weft/core";
import { ID_PATTERN } from "@weft/core/checks";
import { runId } from "@weft/core/validation";
import {
  DEFAULT_VALUE_THRESHOLD_BYTES,
  INLINE_RESPONSE_BYTES,
  isValueRef,
  MAX_VALUE_BYTES,
  resolveRecordRefs,
  resolveRefs,
  valueRef,
  type ValueOwner,
  type ValueStore,
} from "@weft/core/values";

/**
 * Large inputs and outputs at the API's edge (M13 item 6). On the way in, a value whose JSON
 * is above the threshold goes to S3 (@weft/core/values) and the engine, Redis, the cold store
 * and the events get its reference instead (node inputs and outputs, what a suspending agent
 * waits on, a signal's output); a reference the caller sends (after an upload)
 * must name an existing object of the same run, or it is refused (422 naming the field). On
 * the way out, references are resolved: inlined up to INLINE_RESPONSE_BYTES per response, or
 * given back with a presigned URL (past that, or on `?values=url`). Without a value store
 * values pass through unchanged (and big ones hit the engine's own 256 KB limit).
 */

/** How a response gives large values back: inlined (default; past the response budget as URLs) or always as URLs. */
export type ValuesMode = "inline" | "url";

export interface Values {
  /** Large values go to S3 above this many bytes of JSON. */
  readonly thresholdBytes: number;
  readonly store?: ValueStore;
  /** A value coming in for `owner` (named `field` in errors): stored in S3 if large, a reference checked. */
  incoming(owner: ValueOwner, value: unknown, field?: string): Promise<unknown>;
  /** A submit's node inputs, as incoming(); a submit with a large input and no id or idempotencyKey gets its id here (the S3 keys name the run). */
  incomingSubmit<T>(tenant: string, spec: T): Promise<T>;
  /** Every node input of a submit or an addition (`nodes[i].input`), as incoming(). */
  incomingNodes<T extends { nodes?: { id?: unknown; input?: unknown }[] }>(tenant: string, dagId: string, body: T, fieldPrefix?: string): Promise<T>;
  /**
   * One response's resolver for the tenant's runs: resolves references against a shared
   * inline budget. Only objects of the run a value belongs to are read: a reference to
   * anything else (a caller may send any JSON as a signal's or a timeout's output) is given
   * back as it is, never read and never signed.
   */
  resolver(tenant: string, mode?: ValuesMode): Resolver;
}

export interface Resolver {
  /** A value of run `dagId` as the response carries it: its reference inlined or with its URL, anything else as it is. */
  value(v: unknown, dagId: string): Promise<unknown>;
  /** A record of run `dagId`'s values resolved (parents' outputs by node id). */
  record(r: Record<string, unknown>, dagId: string): Promise<Record<string, unknown>>;
  /** Claimed tasks, in order: each input, and the output of the signal that resumed a suspended agent (`signal.output`). */
  tasks<T extends { dagId: string; input?: unknown; signal?: { output?: unknown } }>(tasks: T[]): Promise<T[]>;
  /** Run `dagId`'s nodes, in order: output and input, what a suspended agent waits on (`wait.input`) and the signal it got (`signal.output`). */
  nodes<T extends { output?: unknown; input?: unknown; wait?: { input?: unknown }; signal?: { output?: unknown } }>(dagId: string, nodes: T[]): Promise<T[]>;
}

export interface ValuesOptions {
  store?: ValueStore;
  thresholdBytes?: number;
  /** Inline budget per response; default INLINE_RESPONSE_BYTES. */
  inlineBytes?: number;
}

export function createValues(o: ValuesOptions = {}): Values {
  const store = o.store;
  const thresholdBytes = o.thresholdBytes ?? DEFAULT_VALUE_THRESHOLD_BYTES;
  const inlineBytes = o.inlineBytes ?? INLINE_RESPONSE_BYTES;

  const incoming = async (owner: ValueOwner, value: unknown, field: string = owner.field): Promise<unknown> => {
    if (!store || value === undefined) return value;
    if (isValueRef(value)) {
      const key = value.$weftValue.key;
      if (typeof key !== "string" || !store.ownedBy(key, owner.tenant, owner.dagId)) {
        throw new ValidationError(`${field} is a reference ($weftValue) to an object that is not this run's (upload it with POST .../uploads)`, field);
      }
      const bytes = await store.size(key);
      if (bytes === undefined) throw new ValidationError(`${field} is a reference ($weftValue) to an object that does not exist (not uploaded, or gone)`, field);
      if (bytes > MAX_VALUE_BYTES) throw new PayloadTooLargeError(`${field} has ${bytes} bytes; a value may have at most ${MAX_VALUE_BYTES}`, field);
      return valueRef({ key, bytes });
    }
    const json = JSON.stringify(value);
    if (json === undefined || Buffer.byteLength(json) <= thresholdBytes) return value;
    try {
      return valueRef(await store.put(owner, json));
    } catch (err) {
      if (err instanceof PayloadTooLargeError) throw new PayloadTooLargeError(err.message, field);
      throw err;
    }
  };

  const large = (v: unknown) => v !== undefined && (isValueRef(v) || Buffer.byteLength(JSON.stringify(v) ?? "") > thresholdBytes);
  const incomingNodes: Values["incomingNodes"] = async (tenant, dagId, body, fieldPrefix = "") => {
    if (!store || !Array.isArray(body.nodes) || !ID_PATTERN.test(dagId)) return body;
    const nodes = await Promise.all(
      body.nodes.map(async (n, i) => {
        // A node the engine will refuse anyway (no valid id) is left to it.
        if (!n || typeof n !== "object" || n.input === undefined || typeof n.id !== "string" || !ID_PATTERN.test(n.id)) return n;
        const input = await incoming({ tenant, dagId, nodeId: n.id, field: "input" }, n.input, `${fieldPrefix}nodes[${i}].input`);
        return input === n.input ? n : { ...n, input };
      }),
    );
    return { ...body, nodes };
  };

  return {
    thresholdBytes,
    ...(store ? { store } : {}),
    incoming,
    incomingNodes,
    async incomingSubmit(tenant, spec) {
      const s = spec as { id?: unknown; idempotencyKey?: unknown; nodes?: { id?: unknown; input?: unknown }[] };
      if (!store || !s || typeof s !== "object" || !Array.isArray(s.nodes) || !s.nodes.some((n) => large(n?.input))) return spec;
      const given = typeof s.id === "string" ? s.id : undefined;
      const key = typeof s.idempotencyKey === "string" ? s.idempotencyKey : undefined;
      const dagId = runId(tenant, given, key);
      const out = await incomingNodes(tenant, dagId, s);
      return (s.id === undefined && s.idempotencyKey === undefined ? { ...out, id: dagId } : out) as typeof spec;
    },
    resolver(tenant, mode = "inline") {
      let budget = inlineBytes;
      const value = async (v: unknown, dagId: string): Promise<unknown> => {
        if (!store || !isValueRef(v)) return v;
        const ref = { key: v.$weftValue.key, bytes: v.$weftValue.bytes };
        if (typeof ref.key !== "string" || !store.ownedBy(ref.key, tenant, dagId)) return v;
        if (mode === "inline" && ref.bytes <= budget) {
          const json = await store.get(ref);
          if (json !== undefined) {
            budget -= ref.bytes;
            return JSON.parse(json) as unknown;
          }
        }
        return valueRef({ ...ref, url: await store.readUrl(ref) });
      };
      /** `item` with its `part`'s `field` resolved (a task's signal, a node's wait). */
      const inner = async <T extends object>(item: T, part: string, field: string, dagId: string): Promise<T> => {
        const p = (item as Record<string, unknown>)[part] as Record<string, unknown> | undefined;
        return p && typeof p === "object" && isValueRef(p[field]) ? { ...item, [part]: { ...p, [field]: await value(p[field], dagId) } } : item;
      };
      return {
        value,
        record: (r, dagId) => resolveRecordRefs(r, (ref) => value(ref, dagId)),
        async tasks(tasks) {
          const out: typeof tasks = [];
          for (const t of tasks) {
            const [withInput] = await resolveRefs([t], ["input"], (ref) => value(ref, t.dagId));
            out.push(await inner(withInput!, "signal", "output", t.dagId));
          }
          return out;
        },
        async nodes(dagId, nodes) {
          const out = await resolveRefs(nodes, ["output", "input"], (ref) => value(ref, dagId));
          for (let i = 0; i < out.length; i++) out[i] = await inner(await inner(out[i]!, "wait", "input", dagId), "signal", "output", dagId);
          return out;
        },
      };
    },
  };
}

/**
 * Deletes the S3 objects of every run whose retention has ended: neither Redis nor the cold
 * store has it any more (the cold store reads a run past its retention as gone). Deployed,
 * the bucket's lifecycle rule does this by age (infra/stack/values.ts); the local emulator
 * runs this on a timer, since s3rver has no lifecycle rules.
 */
export async function sweepValues(values: Values, runs: ReadThrough, o: { graceMs?: number } = {}): Promise<{ runs: number; objects: number }> {
  if (!values.store) return { runs: 0, objects: 0 };
  return values.store.sweep({
    ...(o.graceMs !== undefined ? { graceMs: o.graceMs } : {}),
    exists: (tenant, dagId) =>
      runs.getRun(tenant, dagId, { output: false }).then(
        () => true,
        (err: unknown) => {
          if (err instanceof NotFoundError) return false;
          throw err;
        },
      ),
  });
}
