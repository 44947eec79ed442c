import { list, script, type StreamEntries } from "../redis/contract.js";
import type { RunKeys, ShardKeys } from "../redis/keys.js";
import type { AdditionArgs } from "./grow.js";
import type { AddResult, ExtendResult, NodeStatus, ResetResult, RunStatus, RunSummary, SignalResult, Task } from "./types.js";

/**
 * The DAG scripts' contract (redis/contract.ts): per script its file under redis/lua/, its
 * keys, its argument and its reply. Every argument may carry `now` (a test clock, epoch ms).
 */

/** A script on one run: the run key and the shard keys it needs. */
export interface OnRun {
  shard: ShardKeys;
  run: RunKeys;
}
/** A script on a shard (indexes, queues; runs reached through them). */
export interface OnShard {
  shard: ShardKeys;
}

/**
 * A task as the scripts return it: [dagId, nodeId, agent, input JSON | false, attempt,
 * leaseToken, leaseExpiresAt, signal JSON | false (the signal that resumed a suspended
 * agent), traceparent?] (the run's, when the call traces: argument `tp`). attempt and
 * leaseExpiresAt come as decimal strings (includes/node.lua, start_attempt).
 */
type TaskReply = [string, string, string, string | false, string, string, string, (string | false)?, (string | false)?];

export function toTask([dagId, nodeId, agent, input, attempt, leaseToken, leaseExpiresAt, signal, traceparent]: TaskReply): Task {
  const task: Task = {
    dagId,
    nodeId,
    agent,
    input: input === false ? undefined : JSON.parse(input),
    attempt: Number(attempt),
    leaseToken,
    leaseExpiresAt: Number(leaseExpiresAt),
  };
  if (typeof signal === "string" && signal) task.signal = JSON.parse(signal) as Task["signal"];
  if (typeof traceparent === "string" && traceparent) task.traceparent = traceparent;
  return task;
}
export const tasks = (x: unknown): Task[] => list<TaskReply>(x).map(toTask);

type Now = { now?: number };
type RunArgs = { tenant: string; dagId: string } & Now;

export interface ClaimArgs {
  agent: string;
  max: number;
  leaseMs: number;
  workerId: string;
  rands: string[];
}

export interface CompleteItemArgs {
  /** Position of the item's run in the `runs` keys. */
  r: number;
  dagId: string;
  nodeId: string;
  token: string;
  output: string;
  actor?: string;
  state?: { key: string; mode: string; expected?: number; json: string }[];
  /** Nodes and deps the completion adds (includes/grow.lua), and their digest. */
  add?: AdditionArgs;
  digest?: string;
}

// Keys every script that may move a node, end a run or queue work is given.
const moving = (shard: ShardKeys) => ({
  leases: shard.leases,
  retries: shard.retries,
  finished: shard.finished,
  outbox: shard.outbox,
  queues: shard.queues,
  ...waiting(shard),
});
// A node whose deps are met may start waiting (a wait node), and a cancel ends waits.
// The scripts that wait, and those that may start or end a run, also keep the shard's count of runs in flight
// and its scaling indexes (ready and running per agent, includes/agents.lua).
const waiting = (shard: ShardKeys) => ({ waits: shard.waits, wait_keys: shard.waitKeys, inflight: shard.inflight, agents: shard.agents });

export const submit = script<OnRun, Record<string, unknown>, { created: boolean; status: RunStatus; ready: string[] }>({
  name: "submit",
  keys: ({ shard, run }) => ({ run: run.key, tenant_runs: run.tenantRuns, queues: shard.queues, outbox: shard.outbox, ...waiting(shard) }),
});

export const claim = script<OnShard, { tenant: string; seed: number } & ClaimArgs & Now, Task[]>({
  name: "claim",
  keys: ({ shard }) => ({ ...moving(shard), shard_runs: shard.runs }),
  decode: (r) => tasks((r as { tasks: unknown }).tasks),
});

export const claimNode = script<OnRun, RunArgs & { nodeId: string; leaseMs: number; workerId: string; rand: string }, Task>({
  name: "claim_node",
  keys: ({ shard, run }) => ({ run: run.key, leases: shard.leases, agents: shard.agents }),
  decode: (r) => toTask((r as { task: TaskReply }).task),
});

export const heartbeat = script<OnRun, RunArgs & { nodeId: string; token: string; leaseMs: number }, { leaseExpiresAt: number }>({
  name: "heartbeat",
  keys: ({ shard, run }) => ({ run: run.key, leases: shard.leases, agents: shard.agents }),
});

export const complete = script<
  { shard: ShardKeys; runs: RunKeys[] },
  { tenant: string; items: CompleteItemArgs[]; seed: number; next?: ClaimArgs } & Now,
  { results: unknown[]; next?: Task[] }
>({
  name: "complete",
  keys: ({ shard, runs }) => ({
    leases: shard.leases,
    finished: shard.finished,
    outbox: shard.outbox,
    queues: shard.queues,
    shard_runs: shard.runs,
    ...waiting(shard),
    runs: runs.map((r) => r.key),
  }),
  // A result is [duplicate, ready, runStatus] (a failure stays an object): named here.
  decode: (r) => {
    const x = r as { results: unknown[]; next?: unknown };
    const results = x.results.map((one) =>
      Array.isArray(one) ? { duplicate: one[0] as boolean, ready: list<string>(one[1]), runStatus: one[2] as RunStatus } : one,
    );
    return x.next === undefined ? { results } : { results, next: tasks(x.next) };
  },
});

export const fail = script<
  OnRun,
  RunArgs & { nodeId: string; token: string; error: string; retryable: boolean; seed: number; actor?: string },
  { status: "retrying" | "failed"; retryAt?: number; runStatus: RunStatus; duplicate: boolean }
>({
  name: "fail",
  keys: ({ shard, run }) => ({ run: run.key, ...moving(shard) }),
});

export const release = script<OnRun, RunArgs & { nodeId: string; token: string; actor?: string }, { status: "ready"; attempt: number }>({
  name: "release",
  keys: ({ shard, run }) => ({ run: run.key, leases: shard.leases, outbox: shard.outbox, queues: shard.queues, agents: shard.agents }),
});

export const cancel = script<OnRun, RunArgs & { reason: string; actor: string }, { status: RunStatus; changed: boolean }>({
  name: "cancel",
  keys: ({ shard, run }) => ({ run: run.key, leases: shard.leases, retries: shard.retries, finished: shard.finished, outbox: shard.outbox, ...waiting(shard) }),
});

export const reconcile = script<OnShard, { limit: number; seed: number } & Now, { expiredLeases: number; retriesDue: number; waitsDue: number }>({
  name: "reconcile",
  keys: ({ shard }) => ({ ...moving(shard), shard_runs: shard.runs }),
});

export const extend = script<OnRun, RunArgs & { nodeId: string; token: string; add: AdditionArgs; digest: string }, ExtendResult>({
  name: "extend",
  keys: ({ shard, run }) => ({ run: run.key, queues: shard.queues, outbox: shard.outbox, ...waiting(shard) }),
  decode: (r) => {
    const x = r as { duplicate: boolean; added: unknown; ready: unknown };
    return { duplicate: x.duplicate, added: list(x.added), ready: list(x.ready) };
  },
});

export const addNodes = script<OnRun, RunArgs & { add: AdditionArgs; actor: string }, AddResult>({
  name: "add_nodes",
  keys: ({ shard, run }) => ({ run: run.key, queues: shard.queues, outbox: shard.outbox, ...waiting(shard) }),
  decode: (r) => {
    const x = r as { added: unknown; ready: unknown };
    return { added: list(x.added), ready: list(x.ready) };
  },
});

/** read_run's reply: the meta hash dump, the node order, and one row of `fields` per node. */
export interface RunRows {
  meta: string[];
  order: string | false;
  fields: string[];
  nodes: (string | false)[][];
}

export const readRun = script<OnRun, RunArgs & { input?: boolean; output?: boolean; policy?: boolean }, RunRows>({
  name: "read_run",
  keys: ({ run }) => ({ run: run.key }),
  decode: (r) => {
    const x = r as Record<string, unknown>;
    return { meta: list(x.meta), order: x.order as string | false, fields: list(x.fields), nodes: list<unknown>(x.nodes).map((n) => list(n)) };
  },
});

export const readEvents = script<OnRun, RunArgs & { after: number; limit: number }, StreamEntries>({
  name: "read_events",
  keys: ({ run }) => ({ run: run.key }),
  decode: (r) => list((r as { entries: unknown }).entries),
});

export const parentOutputs = script<OnRun, RunArgs & { nodeId: string }, { deps: string[]; outputs: (string | false)[]; statuses: NodeStatus[] }>({
  name: "parent_outputs",
  keys: ({ run }) => ({ run: run.key }),
  decode: (r) => {
    const x = r as { deps: unknown; outputs: unknown; statuses: unknown };
    return { deps: list(x.deps), outputs: list(x.outputs), statuses: list(x.statuses) };
  },
});

export const outboxRead = script<OnShard, { limit: number } & Now, StreamEntries>({
  name: "outbox_read",
  keys: ({ shard }) => ({ outbox: shard.outbox }),
  decode: (r) => list((r as { entries: unknown }).entries),
});

export const outboxAck = script<OnShard, { entries: [string, number[]][] } & Now, number>({
  name: "outbox_ack",
  keys: ({ shard }) => ({ outbox: shard.outbox }),
  decode: (r) => (r as { acked: number }).acked,
});

export const finishedDue = script<OnShard, { olderThan: number; limit: number } & Now, string[]>({
  name: "finished_due",
  keys: ({ shard }) => ({ finished: shard.finished }),
  decode: (r) => list((r as { runs: unknown }).runs),
});

export const listRuns = script<{ shard: ShardKeys; tenant: string }, { tenant: string; since: number; limit: number; status?: RunStatus } & Now, RunSummary[]>({
  name: "list_runs",
  keys: ({ shard, tenant }) => ({ tenant_runs: shard.tenantRuns(tenant), shard_runs: shard.runs }),
  decode: (r) => list((r as { runs: unknown }).runs),
});

export const releaseRun = script<OnRun, RunArgs & { ttlSeconds: number; archivedAt: number }, boolean>({
  name: "release_run",
  keys: ({ shard, run }) => ({ run: run.key, finished: shard.finished, tenant_runs: run.tenantRuns }),
  decode: (r) => (r as { released: boolean }).released,
});

export const restoreRun = script<OnRun, RunArgs & Record<string, unknown>, boolean>({
  name: "restore_run",
  keys: ({ run }) => ({ run: run.key }),
  decode: (r) => (r as { restored: boolean }).restored,
});

export const resetNodes = script<OnRun, RunArgs & { mode: "redrive" | "rewind"; nodeId?: string; actor: string }, ResetResult>({
  name: "reset_nodes",
  keys: ({ shard, run }) => ({ run: run.key, tenant_runs: run.tenantRuns, ...moving(shard) }),
  decode: (r) => {
    const x = r as { status: RunStatus; reset: unknown; ready: unknown; removed: unknown };
    const removed = list<string>(x.removed);
    return { status: x.status, reset: list(x.reset), ready: list(x.ready), ...(removed.length ? { removed } : {}) };
  },
});

/** Every DAG script, for tests and tools that walk the contract. */

/** What a signal carries to the scripts: output or error as raw JSON, never both. */
export interface SignalArgs {
  output?: string;
  error?: string;
  by?: string;
  signalId?: string;
}

export const signal = script<OnRun, RunArgs & SignalArgs & { nodeId: string; via: "api" | "url"; gen?: number }, SignalResult>({
  name: "signal",
  keys: ({ shard, run }) => ({ run: run.key, ...moving(shard) }),
});

export const signalKey = script<
  OnShard,
  { tenant: string; key: string } & SignalArgs & Now,
  { signalled: number; nodes: [string, string, NodeStatus][] }
>({
  name: "signal_key",
  keys: ({ shard }) => ({ ...moving(shard), shard_runs: shard.runs }),
  decode: (r) => {
    const x = r as { signalled: number; nodes: unknown };
    return { signalled: x.signalled, nodes: list<[string, string, NodeStatus]>(x.nodes) };
  },
});

export const suspend = script<
  OnRun,
  RunArgs & { nodeId: string; token: string; wait: string; waitOutput?: string; input?: string; actor?: string },
  { status: "waiting"; attempt: number; gen: number; timeoutAt?: number }
>({
  name: "suspend",
  keys: ({ shard, run }) => ({ run: run.key, leases: shard.leases, outbox: shard.outbox, ...waiting(shard) }),
});

export const pauseRun = script<OnRun, RunArgs & { mode: "pause" | "resume"; actor: string }, { status: RunStatus; changed: boolean }>({
  name: "pause_run",
  keys: ({ shard, run }) => ({ run: run.key, outbox: shard.outbox, queues: shard.queues, agents: shard.agents }),
});

export const DAG_SCRIPTS = [
  submit, claim, claimNode, heartbeat, complete, extend, addNodes, fail, release, cancel, reconcile, readRun, readEvents,
  parentOutputs, outboxRead, outboxAck, finishedDue, listRuns, releaseRun, restoreRun, resetNodes,
  signal, signalKey, suspend, pauseRun,
];
