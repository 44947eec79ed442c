import type { Addition, NodeSpec, NodeStatus, StateEntry, Task, UpdateOptions, UpdateResult, WaitSpec, Writer, WriteResult } from "@weft/core/sdk";
import type { WeftClient } from "./client.js";

/** Shared state of one scope (this run, or a tenant-wide namespace), written as the task's writer. */
export interface RunState {
  get(key: string): Promise<StateEntry | undefined>;
  /** Create-only: a ConflictError if the key exists. */
  create(key: string, value: unknown): Promise<WriteResult>;
  /** Compare-and-set: a ConflictError (with the current value) if the version moved on. */
  put(key: string, value: unknown, expectedVersion: number): Promise<WriteResult>;
  /** Read, apply `fn`, compare-and-set; on a conflict re-read and re-apply with backoff. */
  update<T = unknown>(key: string, fn: (current: T | undefined) => unknown, opts?: UpdateOptions): Promise<UpdateResult>;
}

/** What an agent handler gets besides its task. */
export interface TaskContext {
  task: Task;
  /** Aborts when the lease is lost (a heartbeat answered 409/404) or on shutdown past the grace period. */
  signal: AbortSignal;
  /** Outputs of the node's dependencies that succeeded, by node id: one request, then cached. */
  parents(): Promise<Record<string, unknown>>;
  /** The dependencies that did not succeed (a join runs without them), with their status: same request. */
  notSucceeded(): Promise<Record<string, NodeStatus>>;
  /**
   * Grows the run when this attempt completes: the nodes and deps are sent with the output
   * and applied in the same step, before this node's children are released (all or
   * nothing). Calls add up. A completion the API refuses for its addition fails the node.
   */
  add(addition: Addition): void;
  /**
   * One node per item from a template, added with the completion like add(): ids are
   * `<template.id>-1`, `-2`...; input is the item (or template.input(item, i)); deps default
   * to this node. `before` makes existing pending nodes wait for them. Returns the ids.
   */
  spawn<T>(template: NodeTemplate<T>, items: readonly T[], opts?: { before?: string[] }): string[];
  /** Adds now, while the attempt runs (a supervisor handing out work): fenced by the lease. */
  extend(addition: Addition): Promise<{ added: string[]; ready: string[] }>;
  /** This run's shared state, written as { agent, run, node, attempt }. */
  state: RunState;
  /** A tenant-wide shared-state namespace, same writer. */
  namespace(ns: string): RunState;
  client: WeftClient;
  /** Extends the lease now (heartbeats also run on a timer); throws and aborts `signal` if the lease is lost. */
  heartbeat(): Promise<void>;
  /**
   * Stops this attempt to wait for a person or the world: the node waits (not a failure, the
   * attempt not counted) until a signal's output makes it ready again; the next attempt runs
   * the handler from the start with that signal as `task.signal`. Throws a Suspend, so
   * nothing after it runs; do not catch it. At least once: what the handler did before the
   * suspend is done again on resume unless it kept it - in the run's shared state
   * (`ctx.state`), read back when `task.signal` is there.
   */
  suspend(o: SuspendOptions): Promise<never>;
}

export interface SuspendOptions {
  wait?: WaitSpec;
  /** What to decide, shown with the wait (the log, GET of the run, the signal URL's event). */
  input?: unknown;
}

/**
 * Thrown by ctx.suspend() (or throw it yourself): the attempt ends waiting for a signal.
 * A handler that catches it by accident must throw it again.
 */
export class Suspend extends Error {
  constructor(readonly options: SuspendOptions = {}) {
    super("the agent suspended to wait for a signal");
    this.name = "Suspend";
  }
}

/** What ctx.spawn() makes nodes from: a node spec whose id is a prefix and whose input may come from the item. */
export type NodeTemplate<T> = Omit<NodeSpec, "input" | "deps"> & {
  deps?: string[];
  input?: (item: T, index: number) => unknown;
};

/** The addition an attempt's handler asked for with ctx.add/spawn, sent with its completion. */
const additions = new WeakMap<TaskContext, Addition>();
export const additionOf = (ctx: TaskContext): Addition | undefined => additions.get(ctx);

function merge(into: Addition | undefined, more: Addition): Addition {
  const nodes = [...(into?.nodes ?? []), ...(more.nodes ?? [])];
  const deps: Record<string, string[]> = { ...into?.deps };
  for (const [k, v] of Object.entries(more.deps ?? {})) deps[k] = [...(deps[k] ?? []), ...v];
  return { ...(nodes.length ? { nodes } : {}), ...(Object.keys(deps).length ? { deps } : {}) };
}

export type AgentHandler = (task: Task, ctx: TaskContext) => unknown | Promise<unknown>;
export type Agents = Record<string, AgentHandler>;

/** Throw it (or any error with `retryable: false`) to fail the node without a retry. */
export class NonRetryableError extends Error {
  readonly retryable = false;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "NonRetryableError";
  }
}

/** `ctx.signal.reason` when the lease was lost: another attempt may already be running. */
export class LeaseLostError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "LeaseLostError";
  }
}

/** `ctx.signal.reason` when the worker shut down before the handler finished: the task was given back. */
export class ShutdownError extends Error {
  constructor(message = "worker shut down before the task finished; its lease was given back") {
    super(message);
    this.name = "ShutdownError";
  }
}

function scoped(client: WeftClient, scope: { dagId: string } | { namespace: string }, writer: Writer): RunState {
  const ref = (key: string) => ({ ...scope, key });
  return {
    get: (key) => client.state.get(ref(key)),
    create: (key, value) => client.state.create(ref(key), value, writer),
    put: (key, value, expectedVersion) => client.state.put(ref(key), value, expectedVersion, writer),
    update: (key, fn, opts) => client.state.update(ref(key), fn, { ...opts, writer: opts?.writer ?? writer }),
  };
}

export function taskContext(client: WeftClient, task: Task, signal: AbortSignal, heartbeat: () => Promise<void>): TaskContext {
  const writer: Writer = { agent: task.agent, run: task.dagId, node: task.nodeId, attempt: task.attempt };
  let parents: Promise<{ parents: Record<string, unknown>; notSucceeded: Record<string, NodeStatus> }> | undefined;
  const fetchParents = () => {
    // Cache the answer, not a failure: a retry after a network error asks again.
    parents ??= client.parentsOf(task.dagId, task.nodeId).catch((err: unknown) => {
      parents = undefined;
      throw err;
    });
    return parents;
  };
  const ctx: TaskContext = {
    task,
    signal,
    parents: async () => (await fetchParents()).parents,
    notSucceeded: async () => (await fetchParents()).notSucceeded,
    add: (addition) => void additions.set(ctx, merge(additions.get(ctx), addition)),
    spawn: (template, items, opts) => {
      const { input, deps, ...rest } = template;
      const ids = items.map((_, i) => `${template.id}-${i + 1}`);
      const nodes = items.map((item, i) => ({
        ...rest,
        id: ids[i]!,
        deps: deps ?? [task.nodeId],
        input: input ? input(item, i) : item,
      }));
      const before = Object.fromEntries((opts?.before ?? []).map((target) => [target, ids]));
      ctx.add({ nodes, ...(opts?.before?.length ? { deps: before } : {}) });
      return ids;
    },
    extend: async (addition) => {
      const r = await client.extend(task, addition);
      return { added: r.added, ready: r.ready };
    },
    state: scoped(client, { dagId: task.dagId }, writer),
    namespace: (ns) => scoped(client, { namespace: ns }, writer),
    client,
    heartbeat,
    suspend: async (o) => {
      throw new Suspend(o);
    },
  };
  return ctx;
}
