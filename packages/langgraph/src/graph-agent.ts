import type { RunnableConfig } from "@langchain/core/runnables";
import { Command } from "@langchain/langgraph";
import type { AgentHandler, TaskContext } from "@weft/client";
import type { Task } from "@weft/core/sdk";

/** What graphAgent needs of a compiled LangGraph graph (CompiledStateGraph has both). */
export interface ResumableGraph {
  invoke(input: unknown, config: RunnableConfig & { durability?: "sync" | "async" | "exit" }): Promise<unknown>;
  getState(config: RunnableConfig): Promise<{ values: unknown; next: readonly string[]; config: RunnableConfig; tasks: readonly { interrupts?: readonly { value?: unknown }[] }[] }>;
}

export interface GraphAgentOptions<S = unknown> {
  /** A compiled graph whose checkpointer is a WeftSaver (any checkpointer works; a durable one makes it resumable). */
  graph: ResumableGraph;
  /** The graph's input from the task. Default: the node's input. */
  input?: (task: Task, ctx: TaskContext) => unknown;
  /** The node's output from the graph's final state. Default: the state's values. */
  output?: (values: S, ctx: TaskContext) => unknown;
  /**
   * The graph stopped at interrupt(): the value to resume it with (`Command({ resume })`),
   * or undefined to wait: the attempt then fails as retryable (AwaitingResumeError) and the
   * next attempt, resuming from the checkpoint, asks again.
   */
  resume?: (interrupts: unknown[], ctx: TaskContext) => unknown;
  /** The thread of an attempt. Default threadIdFor(task): every attempt of a node shares it. */
  threadId?: (task: Task) => string;
  /** Extra RunnableConfig for every invoke (recursionLimit, callbacks, ...). */
  config?: Omit<RunnableConfig, "configurable" | "signal">;
}

/** `weft:<dagId>:<nodeId>`: the same for every attempt of a node, so a retry finds the crashed attempt's checkpoints. */
export const threadIdFor = (task: Pick<Task, "dagId" | "nodeId">): string => `weft:${task.dagId}:${task.nodeId}`;

/** The graph is waiting at interrupt() and `resume` had no value for it yet. Retryable. */
export class AwaitingResumeError extends Error {
  readonly retryable = true;
  constructor(readonly interrupts: unknown[]) {
    super(`the graph is waiting at interrupt() (${interrupts.length} pending) and resume() gave no value yet`);
    this.name = "AwaitingResumeError";
  }
}

/**
 * Runs a compiled LangGraph graph as a Weft agent. Checkpoints are written before each
 * step returns (durability "sync"), so an attempt that crashed, or lost its lease, is
 * continued by the next attempt from the graph's last checkpoint: finished steps (and
 * their LLM calls) are not repeated. A graph that had already finished returns its state.
 *
 * TODO(M10): an interrupt() should suspend the Weft node (running -> waiting) and the
 * node's signal resume the graph with Command({ resume: payload }); until suspend/signal
 * exist, `resume` supplies the value (from shared state, say) or the attempt is retried.
 */
export function graphAgent<S = unknown>(o: GraphAgentOptions<S>): AgentHandler {
  const threadOf = o.threadId ?? threadIdFor;
  return async (task, ctx) => {
    const config = { ...o.config, configurable: { thread_id: threadOf(task) }, signal: ctx.signal, durability: "sync" as const };
    let snap = await o.graph.getState(config);
    if (snap.config.configurable?.checkpoint_id === undefined) {
      await o.graph.invoke(o.input ? await o.input(task, ctx) : task.input, config);
      snap = await o.graph.getState(config);
    } else if (snap.next.length > 0 && pending(snap).length === 0) {
      // A previous attempt stopped between steps: continue from its last checkpoint.
      await o.graph.invoke(null, config);
      snap = await o.graph.getState(config);
    }
    for (let interrupts = pending(snap); interrupts.length > 0; interrupts = pending(snap)) {
      const value = o.resume ? await o.resume(interrupts, ctx) : undefined;
      if (value === undefined) throw new AwaitingResumeError(interrupts);
      await o.graph.invoke(new Command({ resume: value }), config);
      snap = await o.graph.getState(config);
    }
    return o.output ? o.output(snap.values as S, ctx) : snap.values;
  };
}

function pending(snap: Awaited<ReturnType<ResumableGraph["getState"]>>): unknown[] {
  return snap.tasks.flatMap((t) => (t.interrupts ?? []).map((i) => i.value));
}
