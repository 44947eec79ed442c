import { createHash } from "node:crypto";
import type { RunnableConfig } from "@langchain/core/runnables";
import { Command } from "@langchain/langgraph";
import type { AgentHandler, TaskContext } from "@weft/client";
import { ConflictError, type SignalRecord, type Task, type WaitSpec } from "@weft/core/sdk";

/** What graphAgent needs of a compiled LangGraph graph (CompiledStateGraph has both). */
export interface ResumableGraph {
  invoke(input: unknown, config: RunnableConfig & { durability?: "sync" | "async" | "exit" }): Promise<unknown>;
  getState(config: RunnableConfig): Promise<{ values: unknown; next: readonly string[]; config: RunnableConfig; tasks: readonly { interrupts?: readonly { id?: string; value?: unknown }[] }[] }>;
}

/** An interrupt() the graph is stopped at. */
export interface PendingInterrupt {
  id?: string;
  value?: unknown;
}

export interface GraphAgentOptions<S = unknown> {
  /** A compiled graph whose checkpointer is a WeftSaver (any durable checkpointer makes it resumable). */
  graph: ResumableGraph;
  /** The graph's input from the task. Default: the node's input ({} when it has none). */
  input?: (task: Task, ctx: TaskContext) => unknown;
  /** The node's output from the graph's final state. Default: the state's values. */
  output?: (values: S, ctx: TaskContext) => unknown;
  /** The wait an interrupt() suspends the node with (timeout, key). Default: wait for a signal, no timeout. */
  wait?: WaitSpec | ((interrupts: PendingInterrupt[], task: Task) => WaitSpec);
  /** What to decide, shown with the wait. Default: the interrupt's value (several: `{ interrupts: [{ id, value }] }`). */
  ask?: (interrupts: PendingInterrupt[], task: Task) => unknown;
  /** The thread of an attempt. Default threadIdFor(task): every attempt of a node shares it. */
  threadId?: (task: Task) => string;
  /** Extra RunnableConfig for every invoke (recursionLimit, callbacks, ...). */
  config?: Omit<RunnableConfig, "configurable" | "signal">;
}

/** `weft:<dagId>:<nodeId>`: the same for every attempt of a node, so a retry finds the crashed attempt's checkpoints. */
export const threadIdFor = (task: Pick<Task, "dagId" | "nodeId">): string => `weft:${task.dagId}:${task.nodeId}`;

const RESUME_PREFIX = "lg-resume.";
/**
 * The run's shared-state key recording which signal resumed the node's graph, and at which
 * interrupts: `lg-resume.<nodeId>` (a node id too long for a key: a hash of it).
 */
export const resumeKeyFor = (nodeId: string): string =>
  RESUME_PREFIX.length + nodeId.length <= 128 ? RESUME_PREFIX + nodeId : RESUME_PREFIX + createHash("sha256").update(nodeId).digest("hex");

/** The resume record: the signal, and the checkpoint and interrupts it answered. */
interface ResumeRecord {
  signal: string;
  checkpoint: string;
  interrupts: string[];
}

/**
 * Runs a compiled LangGraph graph as a Weft agent. Checkpoints are written before each
 * step returns (durability "sync"), so an attempt that crashed, or lost its lease, is
 * continued by the next attempt from the graph's last checkpoint: finished steps (and
 * their LLM calls) are not repeated. A graph that had already finished returns its state.
 *
 * At interrupt() the node suspends (running -> waiting, ctx.suspend) with the interrupt's
 * value as what to decide; the node's signal (`weft approve`, POST /v1/signals/{token}, a
 * key signal) makes it ready and the next attempt resumes the graph with
 * `Command({ resume: <the signal's output> })` (several pending interrupts: a map by
 * interrupt id, as LangGraph takes it). A signal resumes the graph once: the attempt that
 * uses it records it first (compare-and-set on `resumeKeyFor(nodeId)` in the run's shared
 * state), and a later attempt still carrying it (a retry after a crash, a lease lost) finds
 * the graph past those interrupts and suspends again instead of answering a new interrupt
 * with an old decision.
 */
export function graphAgent<S = unknown>(o: GraphAgentOptions<S>): AgentHandler {
  const threadOf = o.threadId ?? threadIdFor;
  return async (task, ctx) => {
    const config = { ...o.config, configurable: { thread_id: threadOf(task) }, signal: ctx.signal, durability: "sync" as const };
    const run = async (input: unknown) => {
      await o.graph.invoke(input, config);
      return o.graph.getState(config);
    };
    let snap = await o.graph.getState(config);
    if (snap.config.configurable?.checkpoint_id === undefined) {
      snap = await run(o.input ? await o.input(task, ctx) : (task.input ?? {}));
    } else if (pending(snap).length > 0) {
      if (task.signal && (await claim(task, task.signal, ctx, snap))) snap = await run(new Command({ resume: task.signal.output }));
    } else if (snap.next.length > 0) {
      // A previous attempt stopped between steps: continue from its last checkpoint.
      snap = await run(null);
    }
    const interrupts = pending(snap);
    if (interrupts.length > 0) {
      const wait = typeof o.wait === "function" ? o.wait(interrupts, task) : o.wait;
      return ctx.suspend({ ...(wait ? { wait } : {}), input: o.ask ? o.ask(interrupts, task) : ask(interrupts) });
    }
    return o.output ? o.output(snap.values as S, ctx) : snap.values;
  };
}

type Snapshot = Awaited<ReturnType<ResumableGraph["getState"]>>;

function pending(snap: Snapshot): PendingInterrupt[] {
  return snap.tasks.flatMap((t) => (t.interrupts ?? []).map((i) => ({ ...(i.id !== undefined ? { id: i.id } : {}), value: i.value })));
}

const ask = (interrupts: PendingInterrupt[]): unknown => (interrupts.length === 1 ? interrupts[0]!.value : { interrupts });

const signalOf = (s: SignalRecord): string => `${s.via}:${s.at}:${s.signalId ?? ""}`;

/**
 * True when this attempt may resume the graph with the task's signal: the signal has not
 * resumed it yet (it is recorded now, compare-and-set), or it was recorded for exactly these
 * interrupts at this checkpoint (the attempt that recorded it stopped before LangGraph kept
 * the resume). False: the signal answered earlier interrupts; these wait for a new one.
 */
async function claim(task: Task, signal: SignalRecord, ctx: TaskContext, snap: Snapshot): Promise<boolean> {
  const key = resumeKeyFor(task.nodeId);
  const mine: ResumeRecord = {
    signal: signalOf(signal),
    checkpoint: String(snap.config.configurable?.checkpoint_id),
    interrupts: pending(snap).map((i) => i.id ?? ""),
  };
  for (;;) {
    const entry = await ctx.state.get(key);
    const kept = entry?.value as ResumeRecord | undefined;
    if (kept?.signal === mine.signal) return kept.checkpoint === mine.checkpoint && kept.interrupts.join(",") === mine.interrupts.join(",");
    try {
      await (entry ? ctx.state.put(key, mine, entry.version) : ctx.state.create(key, mine));
      return true;
    } catch (err) {
      // Another attempt wrote the record between our read and write: read it again.
      if (!(err instanceof ConflictError)) throw err;
    }
  }
}
