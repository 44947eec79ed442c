/**
 * The HTTP client: every route of Weft's API as a method. Errors come back as core's typed
 * errors, chosen by the API's `error.code` (the status only when a body has no code, e.g. a
 * proxy's 502). Submits are made safe to retry: see `submit`.
 */
import { followStream, type StreamOptions } from "./stream.js";
import { keepAliveSend, type Send } from "./transport.js";
import { createHash, randomBytes } from "node:crypto";
import { activeTraceparent } from "./tracing.js";
import {
  DIRECT_UPLOAD_BYTES,
  errorOfApi,
  isValueRef,
  MAX_VALUE_BYTES,
  NotFoundError,
  PayloadTooLargeError,
  resolveRecordRefs,
  resolveRefs,
  UnavailableError,
  update,
  WeftError,
  type Addition,
  type AddResult,
  type AgentSignal,
  type AgentSignals,
  type ClaimOptions,
  type CompleteResult,
  type ExtendResult,
  type NodeStatus,
  type EventPage,
  type ResetResult,
  type RunAt,
  type RunList,
  type RunStatus,
  type FailResult,
  type Lease,
  type HistoryEntry,
  type Machine,
  type MachineDefinition,
  type NodeError,
  type RunView,
  type StateEntry,
  type StateRef,
  type SubmitResult,
  type Signal,
  type SignalResult,
  type WaitSpec,
  type Task,
  type TransitionResult,
  type UpdateOptions,
  type UpdateResult,
  type VersionedStore,
  type Writer,
  type WriteResult,
} from "@weft/core/sdk";

export interface ClientOptions {
  /** The API's base URL, e.g. http://127.0.0.1:3000. */
  baseUrl: string;
  /** Bearer key; omit against a local emulator without keys. */
  apiKey?: string;
  /** Who this client writes shared state as (agent, run, node, attempt), sent as X-Weft-* headers. */
  writer?: Writer;
  /**
   * Used for every request when given; otherwise requests go over node:http(s) with
   * keep-alive (transport.ts) and the event stream over global fetch.
   */
  fetch?: typeof fetch;
  /**
   * How many times `submit` tries again after a 503, a 429 or a dropped connection (default
   * 3), waiting Retry-After (or 200 ms, doubling). Every try carries the same idempotency key.
   */
  submitRetries?: number;
}

/** A state ref without the tenant: the API key decides the tenant. */
export type ClientStateRef = { dagId: string; key: string } | { namespace: string; key: string };

type ErrorBody = { error?: { code?: string; message?: string; field?: string; details?: Record<string, unknown> } };

/** The typed error of an API error answer (errorOfApi: by `error.code`, the status only for a body without one). */
const toError = (status: number, body: ErrorBody): Error => errorOfApi(status, body.error);

function parseError(text: string): ErrorBody {
  try {
    return text ? (JSON.parse(text) as ErrorBody) : {};
  } catch {
    return {}; // not the API's envelope (a proxy's HTML page): the status decides
  }
}

/** A failure after which the same submit may succeed: the service was busy or the answer was lost. */
function retryable(err: unknown): boolean {
  if (err instanceof UnavailableError) return true;
  if (err instanceof WeftError) return err.code === "rate_limited";
  return err instanceof TypeError; // fetch: connection refused, reset, dropped
}

/** Whether a spec has a node input over DIRECT_UPLOAD_BYTES of JSON (one the client uploads). */
function hasLargeInput(spec: unknown): boolean {
  const nodes = (spec as { nodes?: unknown } | null)?.nodes;
  if (!Array.isArray(nodes)) return false;
  return nodes.some((n: { input?: unknown } | null) => {
    if (!n || typeof n !== "object" || n.input === undefined || isValueRef(n.input)) return false;
    return Buffer.byteLength(JSON.stringify(n.input) ?? "") > DIRECT_UPLOAD_BYTES;
  });
}

export function createClient(o: ClientOptions) {
  const doFetch = o.fetch ?? fetch;
  const send: Send = o.fetch ?? keepAliveSend;
  const retryAfter = new WeakMap<Error, number>();
  const submitRetries = o.submitRetries ?? 3;

  /**
   * A submit whose answer was lost (503, dropped connection) may have created the run: a
   * retry without a key would create a second one. So a spec without `id` or
   * `idempotencyKey` gets a generated key, and every retry here sends that same key: the
   * API answers the first run (200, `created: false`) instead of making another.
   */
  async function submit(spec: unknown): Promise<SubmitResult & { created: boolean }> {
    let body =
      spec && typeof spec === "object" && !Array.isArray(spec) && (spec as { id?: unknown }).id === undefined && (spec as { idempotencyKey?: unknown }).idempotencyKey === undefined
        ? { ...spec, idempotencyKey: `client-${globalThis.crypto.randomUUID()}` }
        : spec;
    if (hasLargeInput(spec)) {
      const s = spec as { id?: unknown; idempotencyKey?: unknown; nodes: unknown[] };
      // The uploads name the run, so the client must know its id before it exists: one it
      // makes (its retries send the same id, as safe as the key) or the spec's own. With only
      // a caller's idempotencyKey the id is the API's to derive: the inputs go in the body,
      // and the API moves them to S3 (up to what one request carries).
      const id = typeof s.id === "string" ? s.id : s.idempotencyKey === undefined ? `dag_${randomBytes(12).toString("hex")}` : undefined;
      if (id !== undefined) body = { ...s, id, nodes: await outgoingNodes(id, s.nodes) };
    }
    for (let attempt = 0; ; attempt++) {
      try {
        return await post<SubmitResult & { created: boolean }>("/v1/dags", body);
      } catch (err) {
        if (attempt >= submitRetries || !retryable(err)) throw err;
        const wait = (err instanceof Error ? retryAfter.get(err) : 0) || 0;
        await new Promise((res) => setTimeout(res, wait > 0 ? Math.min(wait, 30) * 1000 : 200 * 2 ** attempt));
      }
    }
  }

  async function call<T>(method: string, path: string, init: { body?: unknown; raw?: string; headers?: Record<string, string> } = {}) {
    const headers: Record<string, string> = { ...init.headers };
    if (o.apiKey) headers.authorization = `Bearer ${o.apiKey}`;
    // Inside a traced attempt (./tracing.ts): the API's request span joins the agent's.
    const traceparent = activeTraceparent();
    if (traceparent) headers.traceparent = traceparent;
    const body = init.raw ?? (init.body === undefined ? undefined : JSON.stringify(init.body));
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await send(new URL(path, o.baseUrl), { method, headers, ...(body === undefined ? {} : { body }) });
    const text = await res.text();
    if (!res.ok && res.status !== 304) {
      const err = toError(res.status, parseError(text));
      retryAfter.set(err, Number(res.headers.get("retry-after")) || 0);
      throw err;
    }
    return { status: res.status, text, json: () => JSON.parse(text) as T, etag: res.headers.get("etag") };
  }
  const post = async <T>(path: string, body: unknown) => (await call<T>("POST", path, { body })).json();
  const node = (dagId: string, nodeId: string) => `/v1/dags/${encodeURIComponent(dagId)}/nodes/${encodeURIComponent(nodeId)}`;

  /**
   * Large values (kept in S3 by the API): a reference the API handed out with a presigned
   * URL (past what one response inlines, or asked for) is read from that URL, so callers
   * see the value itself. Plain fetch: no AWS SDK here.
   */
  async function resolve(v: unknown): Promise<unknown> {
    if (!isValueRef(v) || typeof v.$weftValue.url !== "string") return v;
    const res = await doFetch(v.$weftValue.url);
    const text = await res.text();
    if (!res.ok) throw new UnavailableError(`could not read a large value (HTTP ${res.status})`);
    return JSON.parse(text) as unknown;
  }
  const resolveAll = <T extends object>(items: T[], ...fields: (keyof T & string)[]) => resolveRefs(items, fields, resolve);
  const resolveRecord = (r: Record<string, unknown>) => resolveRecordRefs(r, resolve);
  /** Claimed tasks: each input, and the output of the signal that resumed a suspended agent. */
  const resolveTasks = async (tasks: Task[]): Promise<Task[]> => {
    const out = await resolveAll(tasks, "input");
    for (let i = 0; i < out.length; i++) {
      const sig = out[i]!.signal;
      if (sig && isValueRef(sig.output)) out[i] = { ...out[i]!, signal: { ...sig, output: await resolve(sig.output) } };
    }
    return out;
  };

  /**
   * An output whose JSON is over DIRECT_UPLOAD_BYTES goes straight to S3 (POST .../uploads,
   * then a PUT to the presigned URL) and the completion carries its reference: API Gateway
   * takes at most 10 MB per request, Lambda 6 MB. The key is the JSON's SHA-256, so a
   * completion sent again after a lost answer is the same reference (a duplicate, not a
   * conflict). Over MAX_VALUE_BYTES it is refused here, before anything is sent.
   */
  async function outgoing(task: Pick<Task, "dagId" | "nodeId">, output: unknown): Promise<unknown> {
    return upload(task.dagId, task.nodeId, "output", output, "output");
  }

  /** A value (named `name` in errors) as a request carries it: itself, or over DIRECT_UPLOAD_BYTES of JSON, uploaded and referenced. */
  async function upload(dagId: string, nodeId: string, field: "input" | "output", value: unknown, name: string): Promise<unknown> {
    const json = value === undefined || isValueRef(value) ? undefined : JSON.stringify(value);
    if (json === undefined) return value;
    const bytes = Buffer.byteLength(json);
    if (bytes <= DIRECT_UPLOAD_BYTES) return value;
    if (bytes > MAX_VALUE_BYTES) throw new PayloadTooLargeError(`${name} has ${bytes} bytes as JSON; a value may have at most ${MAX_VALUE_BYTES}`, name);
    const sha256 = createHash("sha256").update(json).digest("hex");
    const up = await post<{ url: string; headers: Record<string, string>; ref: unknown }>(`${node(dagId, nodeId)}/uploads`, { field, bytes, sha256 });
    const put = await doFetch(up.url, { method: "PUT", headers: up.headers, body: json });
    await put.arrayBuffer();
    if (!put.ok) throw new UnavailableError(`upload of the ${name} failed (HTTP ${put.status})`);
    return up.ref;
  }

  /**
   * The nodes of a submit or an addition with each input over DIRECT_UPLOAD_BYTES uploaded
   * (field `nodes[i].input`, as the API names it), one at a time; a node without a string id
   * is left to the API to refuse.
   */
  async function outgoingNodes(dagId: string, nodes: unknown[], prefix = ""): Promise<unknown[]> {
    const out: unknown[] = [];
    for (const [i, n] of nodes.entries()) {
      const nd = n as { id?: unknown; input?: unknown } | null;
      if (!nd || typeof nd !== "object" || typeof nd.id !== "string" || nd.input === undefined) {
        out.push(n);
        continue;
      }
      const input = await upload(dagId, nd.id, "input", nd.input, `${prefix}nodes[${i}].input`);
      out.push(input === nd.input ? n : { ...nd, input });
    }
    return out;
  }
  /** An addition (extend, addNodes, a completion's `add`) with its large inputs uploaded. */
  const outgoingAddition = async <T>(dagId: string, a: T, prefix = ""): Promise<T> => {
    const nodes = (a as { nodes?: unknown } | undefined)?.nodes;
    return Array.isArray(nodes) ? { ...a, nodes: await outgoingNodes(dagId, nodes, prefix) } : a;
  };

  const statePath = (ref: ClientStateRef | StateRef) =>
    "dagId" in ref
      ? `/v1/dags/${encodeURIComponent(ref.dagId)}/state/${encodeURIComponent(ref.key)}`
      : `/v1/state/${encodeURIComponent(ref.namespace)}/${encodeURIComponent(ref.key)}`;
  const writerHeaders = (w: Writer | undefined): Record<string, string> => {
    const h: Record<string, string> = {};
    const writer = w ?? o.writer;
    if (writer?.agent) h["x-weft-agent"] = writer.agent;
    if (writer?.run) h["x-weft-run"] = writer.run;
    if (writer?.node) h["x-weft-node"] = writer.node;
    if (writer?.attempt !== undefined) h["x-weft-attempt"] = String(writer.attempt);
    return h;
  };

  /** Shared state over HTTP, shaped like core's VersionedStore so `update()` runs on it. */
  const state: VersionedStore = {
    async read(ref) {
      try {
        const r = await call("GET", statePath(ref));
        return { value: JSON.parse(r.text), json: r.text, version: Number(r.etag?.replace(/"/g, "")), writer: {}, at: 0 } as StateEntry;
      } catch (err) {
        if (err instanceof NotFoundError) return undefined;
        throw err;
      }
    },
    async put(ref, value, opts): Promise<WriteResult> {
      const headers = { "if-match": `"${opts.expectedVersion}"`, ...writerHeaders(opts.writer) };
      return (await call<WriteResult>("PUT", statePath(ref), { body: value, headers })).json();
    },
    async create(ref, value, opts): Promise<WriteResult> {
      const headers = { "if-none-match": "*", ...writerHeaders(opts?.writer) };
      return (await call<WriteResult>("PUT", statePath(ref), { body: value, headers })).json();
    },
  };
  // The HTTP API takes the tenant from the key; the ref's tenant is only for core's store.
  const ref = (r: ClientStateRef): StateRef => ({ tenant: "", ...r }) as StateRef;

  const client = {
    /** Submit a run; safe to retry (a key is generated when the spec has no id or idempotencyKey, and reused on retries). */
    submit,
    claim: async (agent: string, opts: ClaimOptions = {}) =>
      resolveTasks((await post<{ tasks: Task[] }>(`/v1/agents/${encodeURIComponent(agent)}/claim`, opts)).tasks),
    claimNode: async (dagId: string, nodeId: string, opts: ClaimOptions = {}) =>
      (await resolveTasks([(await post<{ task: Task }>(`${node(dagId, nodeId)}/claim`, opts)).task]))[0]!,
    /** Reports success; an output over 1 MB of JSON is uploaded to S3 first and sent by reference. */
    complete: async (task: Lease, output: unknown, opts: Record<string, unknown> = {}) => {
      const add = opts.add === undefined ? {} : { add: await outgoingAddition(task.dagId, opts.add, "add.") };
      const r = await post<CompleteResult>(`${node(task.dagId, task.nodeId)}/complete`, { leaseToken: task.leaseToken, output: await outgoing(task, output), ...opts, ...add });
      return r.next ? { ...r, next: await resolveTasks(r.next) } : r;
    },
    /** Reports a failure: retried while attempts remain, unless `retryable: false` (default true) fails the node for good. */
    fail: (task: Lease, error: NodeError, opts: { retryable?: boolean } = {}) =>
      post<FailResult>(`${node(task.dagId, task.nodeId)}/fail`, { leaseToken: task.leaseToken, error, retryable: opts.retryable ?? true }),
    heartbeat: (task: Lease, leaseMs?: number) =>
      post<{ leaseExpiresAt: number }>(`${node(task.dagId, task.nodeId)}/heartbeat`, { leaseToken: task.leaseToken, ...(leaseMs ? { leaseMs } : {}) }),
    /** Give back the lease of an attempt this worker will not finish: the node is ready again, the attempt not counted. */
    release: (task: Lease, workerId?: string) =>
      post<{ status: "ready"; attempt: number }>(`${node(task.dagId, task.nodeId)}/release`, { leaseToken: task.leaseToken, ...(workerId ? { workerId } : {}) }),
    /** Outputs of the node's dependencies by node id. */
    parents: async (dagId: string, nodeId: string) =>
      resolveRecord((await call<{ parents: Record<string, unknown> }>("GET", `${node(dagId, nodeId)}/parents`)).json().parents),
    /** A read-only token for one run and the URL of its event stream (absolute). */
    watchToken: async (dagId: string, ttlSeconds?: number) => {
      const t = await post<{ token: string; expiresAt: number; streamUrl: string }>(`/v1/dags/${encodeURIComponent(dagId)}/watch-token`, ttlSeconds ? { ttlSeconds } : {});
      return { ...t, streamUrl: new URL(t.streamUrl, o.baseUrl).href };
    },
    /** Follows the run's event stream until the run ends (see stream.ts); resumes across disconnects. */
    stream: (dagId: string, so: StreamOptions) =>
      followStream(async () => (await client.watchToken(dagId)).streamUrl, doFetch, so),
    /** The same, and the status of each dependency that did not succeed (a join may run without them). */
    parentsOf: async (dagId: string, nodeId: string) => {
      const r = (await call<{ parents: Record<string, unknown>; notSucceeded: Record<string, NodeStatus> }>("GET", `${node(dagId, nodeId)}/parents`)).json();
      return { ...r, parents: await resolveRecord(r.parents) };
    },
    /** A running node adds nodes and deps to its run without finishing (fenced by its lease). */
    extend: async (task: Lease, addition: Addition) =>
      post<ExtendResult>(`${node(task.dagId, task.nodeId)}/extend`, { leaseToken: task.leaseToken, ...(await outgoingAddition(task.dagId, addition)) }),
    /** Adds nodes and deps to a running run from outside it. */
    addNodes: async (dagId: string, addition: Addition) => post<AddResult>(`/v1/dags/${encodeURIComponent(dagId)}/nodes`, await outgoingAddition(dagId, addition)),
    /** Ends a waiting node's wait: `output` approves it, `error` rejects it (the node fails). */
    signal: (dagId: string, nodeId: string, s: Signal) => post<SignalResult>(`${node(dagId, nodeId)}/signal`, s),
    /** Approves a waiting node (its output: the decision and its data). */
    approve: (dagId: string, nodeId: string, output: unknown = { approved: true }, o: { by?: string; signalId?: string } = {}) =>
      post<SignalResult>(`${node(dagId, nodeId)}/signal`, { output, ...o }),
    /** Rejects a waiting node: it fails with `reason`, without a retry. */
    reject: (dagId: string, nodeId: string, reason: string, o: { by?: string; signalId?: string } = {}) =>
      post<SignalResult>(`${node(dagId, nodeId)}/signal`, { error: { message: reason }, ...o }),
    /** Ends every wait of this tenant on `key`, in any run (a signal before anyone waits is not kept). */
    signalKey: (key: string, s: Signal) =>
      post<{ signalled: number; nodes: { dagId: string; nodeId: string; status: NodeStatus }[] }>("/v1/signals", { key, ...s }),
    /** Uses a signal URL (or its token): no API key is sent, the token is the authority. */
    signalUrl: async (urlOrToken: string, s: Signal) => {
      const url = /^https?:/.test(urlOrToken) ? urlOrToken : new URL(`/v1/signals/${encodeURIComponent(urlOrToken)}`, o.baseUrl).toString();
      const res = await doFetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(s) });
      const text = await res.text();
      if (!res.ok) throw toError(res.status, parseError(text));
      return JSON.parse(text) as SignalResult;
    },
    /** Ends a running attempt to wait for a signal (what ctx.suspend() sends). */
    suspend: (task: Lease, wait: WaitSpec, opts: { input?: unknown; workerId?: string } = {}) =>
      post<{ status: "waiting"; attempt: number; timeoutAt?: number; signalToken?: string }>(`${node(task.dagId, task.nodeId)}/suspend`, {
        leaseToken: task.leaseToken,
        wait,
        ...opts,
      }),
    /** No node of the run is handed out until resume; running attempts finish. */
    pause: (dagId: string) => post<{ status: RunStatus; changed: boolean }>(`/v1/dags/${encodeURIComponent(dagId)}/pause`, {}),
    resume: (dagId: string) => post<{ status: RunStatus; changed: boolean }>(`/v1/dags/${encodeURIComponent(dagId)}/resume`, {}),
    getRun: async (dagId: string) => {
      const run = (await call<RunView>("GET", `/v1/dags/${encodeURIComponent(dagId)}`)).json();
      return { ...run, nodes: await resolveAll(run.nodes, "output", "input") };
    },
    events: async (dagId: string, after = 0, limit?: number) =>
      (await call<EventPage>("GET", `/v1/dags/${encodeURIComponent(dagId)}/events?after=${after}${limit ? `&limit=${limit}` : ""}`)).json(),
    cancel: (dagId: string) => post<{ status: string; changed: boolean }>(`/v1/dags/${encodeURIComponent(dagId)}/cancel`, {}),
    /** Re-run the failed, cancelled and skipped nodes of a finished run (hot or archived). */
    redrive: (dagId: string) => post<ResetResult>(`/v1/dags/${encodeURIComponent(dagId)}/redrive`, {}),
    /** Reset a node and its descendants and run again from there. */
    rewind: (dagId: string, nodeId: string) => post<ResetResult>(`/v1/dags/${encodeURIComponent(dagId)}/rewind`, { nodeId }),
    /** The tenant's runs, newest first (hot and archived); pass `cursor` back for the next page. */
    list: async (query: { status?: RunStatus; since?: number; limit?: number; cursor?: string } = {}) => {
      const q = new URLSearchParams(Object.entries(query).flatMap(([k, v]): [string, string][] => (v === undefined ? [] : [[k, String(v)]]))).toString();
      return (await call<RunList>("GET", `/v1/dags${q ? `?${q}` : ""}`)).json();
    },
    /**
     * Scaling signals (what an autoscaler reads): per agent with work, its ready count, the
     * age of its oldest ready node, its running attempts and those whose lease expires within
     * `within` ms (default 30,000).
     */
    agents: async (opts: { within?: number } = {}) =>
      (await call<AgentSignals>("GET", `/v1/agents${opts.within === undefined ? "" : `?within=${opts.within}`}`)).json(),
    /** The same for one agent (zeros when it has no work). */
    agent: async (agent: string, opts: { within?: number } = {}) =>
      (await call<AgentSignal & { at: number; withinMs: number }>("GET", `/v1/agents/${encodeURIComponent(agent)}${opts.within === undefined ? "" : `?within=${opts.within}`}`)).json(),
    /** The run as it was just after event `at` of its log. */
    history: async (dagId: string, at: number) => (await call<RunAt>("GET", `/v1/dags/${encodeURIComponent(dagId)}/history?at=${at}`)).json(),
    state: {
      get: (r: ClientStateRef) => state.read(ref(r)),
      put: (r: ClientStateRef, value: unknown, expectedVersion: number, writer?: Writer) => state.put(ref(r), value, { expectedVersion, writer }),
      create: (r: ClientStateRef, value: unknown, writer?: Writer) => state.create(ref(r), value, { writer }),
      /** Read, apply `fn`, compare-and-set; on a conflict re-read and re-apply with backoff. */
      update: <T = unknown>(r: ClientStateRef, fn: (current: T | undefined) => unknown, opts?: UpdateOptions): Promise<UpdateResult> =>
        update<T>(state, ref(r), fn, opts),
      /** JSON merge patch (RFC 7396); with `expectedVersion`, only at that version. */
      patch: async (r: ClientStateRef, patch: unknown, expectedVersion?: number, writer?: Writer) => {
        const headers = { ...(expectedVersion === undefined ? {} : { "if-match": `"${expectedVersion}"` }), ...writerHeaders(writer) };
        return (await call<WriteResult & { value: unknown }>("PATCH", statePath(ref(r)), { body: patch, headers })).json();
      },
      delete: async (r: ClientStateRef, expectedVersion: number, writer?: Writer) =>
        (await call<{ version: number; deleted: true }>("DELETE", statePath(ref(r)), { headers: { "if-match": `"${expectedVersion}"`, ...writerHeaders(writer) } })).json(),
      /** Recent writes, newest first. */
      history: async (r: ClientStateRef, limit?: number) =>
        (await call<{ entries: HistoryEntry[] }>("GET", `${statePath(ref(r))}/history${limit ? `?limit=${limit}` : ""}`)).json().entries,
      /** Moves the value's `state` along a registered machine, atomically. */
      transition: async (r: ClientStateRef, req: { machine: string; to: string; expectedVersion?: number }, writer?: Writer) =>
        (await call<TransitionResult>("POST", `${statePath(ref(r))}/transition`, { body: req, headers: writerHeaders(writer) })).json(),
    },
    machines: {
      put: async (name: string, definition: MachineDefinition) => (await call<Machine>("PUT", `/v1/machines/${encodeURIComponent(name)}`, { body: definition })).json(),
      get: async (name: string) => (await call<Machine>("GET", `/v1/machines/${encodeURIComponent(name)}`)).json(),
    },
  };
  return client;
}

export type WeftClient = ReturnType<typeof createClient>;
