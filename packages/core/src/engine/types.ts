import type { Addition, OnFailure } from "../dag/spec.js";
import type { KeySchema } from "../redis/keys.js";
import type { NODE_STATUSES, RUN_STATUSES } from "./status.js";

/** A node's status; `waiting`: a wait node whose deps are met, or a suspended agent: it waits for a signal or its timeout. */
export type NodeStatus = (typeof NODE_STATUSES)[number];

/** `paused`: running underneath, but no node of it is handed out until it is resumed. */
export type RunStatus = (typeof RUN_STATUSES)[number];

/** The live lease of a claimed task: what complete, fail, heartbeat, extend, release and suspend take (a Task is one). */
export type Lease = Pick<Task, "dagId" | "nodeId" | "leaseToken">;

/** A node handed to a worker: the lease is the worker's right to report on this attempt. */
export interface Task {
  dagId: string;
  nodeId: string;
  agent: string;
  input: unknown;
  attempt: number;
  /** Fencing token: `<attempt>.<random>`; any report with another token is rejected. */
  leaseToken: string;
  /** Epoch ms. */
  leaseExpiresAt: number;
  /** The signal that resumed this node after its agent suspended (ctx.suspend): build on it. */
  signal?: SignalRecord;
  /**
   * W3C traceparent of the run (the span that submitted it), when the run was submitted
   * with one and the engine traces (EngineOptions.traceContext): the agent's span joins the run's trace.
   */
  traceparent?: string;
}

/** What ends a wait: an output (approve, with data) or an error (reject). */
export interface Signal {
  output?: unknown;
  error?: NodeError;
  /** Who decided, for the log (a person, a system). */
  by?: string;
  /** The same signalId twice is a duplicate, not a conflict (a webhook delivered again). */
  signalId?: string;
}

/** A signal as applied: how it came (`api` with the tenant's key, `url` by token, `key`, `timeout`), who, when. */
export interface SignalRecord {
  via: "api" | "url" | "key" | "timeout";
  at: number;
  by?: string;
  signalId?: string;
  output?: unknown;
  error?: NodeError;
}

export interface SignalResult {
  /** The node's status after the signal: succeeded, failed, or ready (a suspended agent resumes). */
  status: NodeStatus;
  runStatus: RunStatus;
  /** True when this signalId had already ended the wait: nothing changed. */
  duplicate: boolean;
}

/** A wait: its timeout, what a timeout does, and a key that signals across runs can use. */
export interface WaitSpec {
  timeoutMs?: number;
  onTimeout?: "fail" | "succeed";
  /** The output of a timeout with onTimeout "succeed" (a default decision). */
  output?: unknown;
  key?: string;
}

/** The wait of a node that is waiting (or waited): for GET of the run. */
export interface NodeWait {
  /** Grows when a wait begins and when it ends; a signal token holds one generation. */
  gen: number;
  timeoutMs?: number;
  onTimeout: "fail" | "succeed";
  key?: string;
  /** Epoch ms of the current wait's timeout. */
  timeoutAt?: number;
  /** An agent that suspended (a signal's output makes it ready again) rather than a wait node. */
  suspended?: boolean;
  /** What to decide, when a suspending agent gave it (with include=input). */
  input?: unknown;
}

export interface SubmitResult {
  dagId: string;
  status: RunStatus;
  /** Node ids that became ready on submit (roots); on an idempotent replay, the current ready ones. */
  ready: string[];
  /** False when the idempotency key (or id) matched an existing run. */
  created: boolean;
}

export interface ClaimOptions {
  max?: number;
  leaseMs?: number;
  workerId?: string;
}

export interface CompleteResult {
  /** True when this exact completion had already been applied: nothing changed. */
  duplicate: boolean;
  /** Children that became ready because of this completion. */
  ready: string[];
  runStatus: RunStatus;
  /** Tasks claimed in the same round trip when `claimNext` was asked. */
  next?: Task[];
}

/** One completion of completeMany: the lease it reports on, and what complete takes besides. */
export interface CompleteItem extends Lease {
  output: unknown;
  /** Run-scoped shared-state writes applied atomically with the completion (both or neither). */
  state?: StateWrite[];
  /** Nodes and deps the completion adds, applied before its children are released (all or nothing). */
  add?: Addition;
}

export interface ExtendResult {
  /** True when this attempt had already made this exact extension: nothing changed. */
  duplicate: boolean;
  /** Ids of the nodes added. */
  added: string[];
  /** Nodes ready now because of the addition. */
  ready: string[];
}

export interface AddResult {
  added: string[];
  ready: string[];
}

/** A guarded write of a run's shared state: compare-and-set on `expectedVersion`, or create-only. */
export interface StateWrite {
  key: string;
  value: unknown;
  expectedVersion?: number;
  create?: boolean;
}

export interface FailResult {
  status: "retrying" | "failed";
  /** Epoch ms at which the retry becomes ready. */
  retryAt?: number;
  runStatus: RunStatus;
  duplicate: boolean;
}

export interface NodeError {
  message: string;
  [k: string]: unknown;
}

export interface NodeView {
  id: string;
  agent: string;
  deps: string[];
  status: NodeStatus;
  attempt: number;
  input?: unknown;
  output?: unknown;
  error?: NodeError;
  leaseExpiresAt?: number;
  workerId?: string;
  /** Set on a node added while the run ran: the node (and its attempt) whose completion or extension added it, or the actor who added it from outside. */
  addedBy?: { node: string; attempt: number } | { actor: string };
  join?: { min: number };
  onFailure?: OnFailure;
  wait?: NodeWait;
  /** The signal that ended the node's last wait: who, how, when, and what. */
  signal?: SignalRecord;
}

export interface RunView {
  dagId: string;
  tenant: string;
  status: RunStatus;
  onFailure: OnFailure;
  createdAt: number;
  finishedAt?: number;
  /** Epoch ms since which the run is paused. */
  pausedAt?: number;
  counts: Record<NodeStatus, number>;
  nodes: NodeView[];
}

export type EventType =
  | "run.submitted"
  | "node.ready"
  | "node.started"
  | "node.heartbeat"
  | "node.succeeded"
  | "node.retrying"
  | "node.failed"
  | "node.skipped"
  | "node.cancelled"
  | "node.reset"
  | "node.released"
  | "node.added"
  | "node.deps_added"
  | "node.removed"
  | "node.waiting"
  | "run.paused"
  | "run.succeeded"
  | "run.failed"
  | "run.cancelled"
  | "run.resumed";

/** One entry of a run's event log (a Redis Stream; `seq` is its position, from 1). */
export interface RunEvent {
  seq: number;
  type: EventType;
  node?: string;
  attempt?: number;
  /** Who caused it: a worker id, `reconcile`, `api`, `engine`. */
  actor: string;
  /** Epoch ms. */
  at: number;
  /** Status the node moved from, where a node moved. */
  from?: NodeStatus;
  data?: Record<string, unknown>;
}

export interface EventPage {
  events: RunEvent[];
  /** Pass as `after` to read on; equals the last event's seq (or the `after` given). */
  cursor: number;
}

export interface ParentsResult {
  outputs: Record<string, unknown>;
  /** Deps that have not succeeded, by id: their status. */
  notSucceeded: Record<string, NodeStatus>;
}

export interface ReconcileResult {
  expiredLeases: number;
  retriesDue: number;
  /** Waits whose timeout was due. */
  waitsDue: number;
  shards: number;
}

/** Events relayed to EventBridge (detail-type), carried by the outbox. */
export type OutboxEventType =
  | "NodeReady"
  | "NodeWaiting"
  | "NodeSucceeded"
  | "NodeFailed"
  | "DagSucceeded"
  | "DagFailed"
  | "DagCancelled";

/** One outbox entry: references only, never payloads (EventBridge's 256 KB limit). */
export interface OutboxEvent {
  /** `<outbox entry id>/<position>` (an entry holds one script call's events); ack with it. */
  id: string;
  shard: number;
  type: OutboxEventType;
  tenant: string;
  dagId: string;
  nodeId?: string;
  agent?: string;
  attempt?: number;
  /** Epoch ms of the transition. */
  at: number;
  /** NodeWaiting: the signal token of this wait (sealed by the engine, not stored in Redis). */
  signalToken?: string;
  /** NodeWaiting: where to POST a signal with the token, when the API's public URL is configured. */
  signalUrl?: string;
  /** NodeWaiting: the wait generation the token is for. */
  waitGen?: number;
  /** NodeWaiting: epoch ms of the wait's timeout (the token expires then too). */
  waitDeadline?: number;
  /** NodeReady: the run's W3C traceparent, when it has one and the engine traces (EngineOptions.traceContext). */
  traceparent?: string;
}

/** A node of an archived run's definition (a RunSpec node plus the engine's policy field). */
export interface ArchivedNode {
  id: string;
  /** Empty for a wait node. */
  agent: string;
  /** A wait node's wait, as stored ("timeoutMs|onTimeout|key" and the default output JSON). */
  wait?: { packed: string; output?: string };
  deps?: string[];
  input?: unknown;
  retry?: { maxAttempts: number; backoffMs: number; maxBackoffMs?: number };
  timeoutMs?: number;
  /** The engine's policy field as stored, for an exact restore. */
  policy?: string;
  join?: { min: number };
  onFailure?: OnFailure;
  /** Who added the node while the run ran (NodeView.addedBy). */
  addedBy?: { node: string; attempt: number } | { actor: string };
  /** Its failure was absorbed by joins (it did not fail the run). */
  tolerated?: true;
}

/** What a finished run leaves for the cold store. */
export interface RunExport {
  snapshot: RunView;
  events: RunEvent[];
  spec: {
    id: string;
    idempotencyKey?: string;
    onFailure: OnFailure;
    nodes: ArchivedNode[];
    /** The run's meta hash as stored, for an exact restore. */
    meta: Record<string, string>;
  };
}

/** One line of a run listing. */
export interface RunSummary {
  dagId: string;
  status: RunStatus;
  createdAt: number;
  finishedAt?: number;
  counts: Record<NodeStatus, number>;
}

export interface ResetResult {
  status: RunStatus;
  /** Nodes put back to pending. */
  reset: string[];
  /** Of those, the ones ready at once. */
  ready: string[];
  /** Nodes a rewind removed: those the rewound nodes had added (and what those added). */
  removed?: string[];
}

/** What a worker calls on the tasks it claims (pull workers, push handlers, the node routes of the API). */
export interface WorkerEngine {
  claim(tenant: string, agent: string, opts?: ClaimOptions): Promise<Task[]>;
  claimNode(tenant: string, dagId: string, nodeId: string, opts?: ClaimOptions): Promise<Task>;
  heartbeat(tenant: string, lease: Lease, leaseMs?: number): Promise<{ leaseExpiresAt: number }>;
  complete(
    tenant: string,
    lease: Lease,
    output: unknown,
    opts?: { claimNext?: { agent: string } & ClaimOptions; workerId?: string; state?: StateWrite[]; add?: Addition },
  ): Promise<CompleteResult>;
  /**
   * Many completions in one round trip per shard (a worker flushing what finished together).
   * Each item succeeds or fails on its own; results keep the items' order.
   */
  completeMany(
    tenant: string,
    items: CompleteItem[],
    opts?: { claimNext?: { agent: string } & ClaimOptions; workerId?: string },
  ): Promise<{ results: (CompleteResult | { error: Error })[]; next?: Task[] }>;
  fail(
    tenant: string,
    lease: Lease,
    error: NodeError,
    /** retryable (default true): false fails the node for good whatever attempts remain. */
    opts?: { retryable?: boolean; workerId?: string },
  ): Promise<FailResult>;
  /**
   * Gives back the live lease of a running attempt (a worker shutting down): the node is ready
   * again at once and the attempt does not count toward maxAttempts. Stale token -> ConflictError.
   */
  release(tenant: string, lease: Lease, opts?: { workerId?: string }): Promise<{ status: "ready"; attempt: number }>;
  /** A running node adds nodes and deps without finishing, fenced by its lease. */
  extend(tenant: string, lease: Lease, addition: Addition): Promise<ExtendResult>;
  /** A running attempt stops to wait for a signal: not a failure; its token is void. */
  suspend(
    tenant: string,
    lease: Lease,
    wait: WaitSpec,
    opts?: { input?: unknown; workerId?: string },
  ): Promise<{ status: "waiting"; attempt: number; timeoutAt?: number; signalToken?: string }>;
  /** Outputs of a node's dependencies by node id (what its agent builds on). */
  parentOutputs(tenant: string, dagId: string, nodeId: string): Promise<Record<string, unknown>>;
  /** The same, and the status of each dependency that did not succeed (a join may run without them). */
  parents(tenant: string, dagId: string, nodeId: string): Promise<ParentsResult>;
}

/** Run administration: submit and read runs, cancel, pause, resume, redrive, rewind, add nodes from outside, signal waits. */
export interface RunAdmin {
  /** `traceparent`: the run's trace context, stored with it and handed to its tasks and NodeReady events (EngineOptions.traceContext). */
  submit(tenant: string, spec: unknown, opts?: { traceparent?: string }): Promise<SubmitResult>;
  getRun(tenant: string, dagId: string, opts?: { include?: { input?: boolean; output?: boolean } }): Promise<RunView>;
  events(tenant: string, dagId: string, opts?: { after?: number; limit?: number }): Promise<EventPage>;
  cancel(tenant: string, dagId: string, opts?: { reason?: string; actor?: string }): Promise<{ status: RunStatus; changed: boolean }>;
  pause(tenant: string, dagId: string, opts?: { actor?: string }): Promise<{ status: RunStatus; changed: boolean }>;
  resume(tenant: string, dagId: string, opts?: { actor?: string }): Promise<{ status: RunStatus; changed: boolean }>;
  redrive(tenant: string, dagId: string, opts?: { actor?: string }): Promise<ResetResult>;
  rewind(tenant: string, dagId: string, nodeId: string, opts?: { actor?: string }): Promise<ResetResult>;
  /** Adds nodes and deps to a running run from outside it. Conflict once the run has ended. */
  addNodes(tenant: string, dagId: string, addition: Addition, opts?: { actor?: string }): Promise<AddResult>;
  /** Ends a waiting node's wait with the tenant's key. Not waiting -> ConflictError (same signalId: duplicate). */
  signal(tenant: string, dagId: string, nodeId: string, signal: Signal): Promise<SignalResult>;
  /**
   * Ends the wait a signal token was issued for; anything wrong with the token -> NotFoundError
   * that says nothing more. `prepare` gets the node the token names, once the token is good and
   * before the signal is applied, and gives the signal to apply (the API moves a large output
   * to S3 under that node).
   */
  signalByToken(
    token: string,
    signal: Signal,
    opts?: { prepare?: (target: { tenant: string; dagId: string; nodeId: string }) => Promise<Signal> },
  ): Promise<SignalResult & { tenant: string; dagId: string; nodeId: string }>;
  /** Ends every wait of the tenant on `key`, in any run; how many. A signal before anyone waits is not kept. */
  signalKey(tenant: string, key: string, signal: Signal): Promise<{ signalled: number; nodes: { dagId: string; nodeId: string; status: NodeStatus }[] }>;
}

/** Maintenance: reconcile expired leases and due retries, relay the outbox, the archive lifecycle of finished runs. */
export interface Maintenance {
  /** Expired leases and due retries across every shard; O(expired + due). */
  reconcile(opts?: { limit?: number }): Promise<ReconcileResult>;
  /** Oldest outbox entries of one shard (all shards when omitted), not removed until acked. */
  readOutbox(opts?: { shard?: number; limit?: number }): Promise<OutboxEvent[]>;
  ackOutbox(events: Pick<OutboxEvent, "id" | "shard">[]): Promise<number>;
  /**
   * Runs `fn` in a scope where the outbox events the engine's writes add are also replied by
   * their script calls and kept: takeOutbox() hands them over, so a request can publish and
   * ack what it wrote without reading the outbox back (one script call less per write). They
   * stay in the outbox until acked, as every outbox event does (invariant 6).
   */
  outboxScope<T>(fn: () => Promise<T>): Promise<T>;
  /** The outbox events written in this scope since the last take (and forgets them); undefined outside any scope. */
  takeOutbox(): OutboxEvent[] | undefined;
  /** Lifecycle of finished runs (used by the archiver): see engine/lifecycle.ts. */
  exportRun(tenant: string, dagId: string): Promise<RunExport>;
  releaseRun(tenant: string, dagId: string, opts: { ttlSeconds: number; archivedAt: number }): Promise<boolean>;
  finishedRuns(opts: { olderThan: number; limit?: number }): Promise<{ tenant: string; dagId: string }[]>;
  restoreRun(tenant: string, archive: RunExport, ttlSeconds: number): Promise<boolean>;
  listHotRuns(tenant: string, opts: { status?: RunStatus; since?: number; limit: number; offset?: number }): Promise<RunSummary[]>;
  readonly shardCount: number;
  /** The key layout (prefix and shard count) this engine was made with: the state store takes it (createStateStore({ keys })). */
  readonly keys: KeySchema;
}

/** The engine: every interface above; each caller is typed by the narrowest it needs. */
export interface Engine extends WorkerEngine, RunAdmin, Maintenance {
  close(): Promise<void>;
}
