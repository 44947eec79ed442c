import { Annotation, END, START, StateGraph, interrupt } from "@langchain/langgraph";
import type { BaseCheckpointSaver } from "@langchain/langgraph-checkpoint";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Suspend, worker, type AgentHandler, type WeftClient } from "@weft/client";
import { agentName, finished, nodeOf, until as untilIn, useLocal } from "../../client/test/worker/harness.js";
import { WeftSaver, graphAgent, resumeKeyFor, threadIdFor } from "../src/index.js";

/**
 * graphAgent against the local emulation (real API, redis-server, reconcile every 200 ms:
 * the worker tests' harness) with real LangGraph graphs checkpointed by a WeftSaver on the
 * emulation's Redis.
 */
const env = useLocal();
let weft: WeftClient;
let saver: WeftSaver;
beforeAll(() => {
  weft = env.client();
  saver = new WeftSaver({ redis: env.local().redisUrl, guarded: true });
});
afterAll(async () => {
  await saver?.close();
});

// A graph's step takes longer than a worker test's: 15 s rather than the harness's 10.
const until = <T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false) => untilIn(what, fn, 15_000);
const waiting = (dagId: string, nodeId: string) =>
  until(`${nodeId} to wait`, async () => {
    const run = await weft.getRun(dagId);
    return nodeOf(run, nodeId).status === "waiting" ? nodeOf(run, nodeId) : undefined;
  });
const ended = (dagId: string) => finished(weft, dagId, 15_000);

/** plan -> ask (interrupt) -> check (interrupt) -> done; `calls` counts each step's runs. */
function twoQuestions(checkpointer: BaseCheckpointSaver, calls: string[]) {
  const State = Annotation.Root({
    topic: Annotation<string>(),
    outline: Annotation<string>(),
    first: Annotation<unknown>(),
    second: Annotation<unknown>(),
  });
  return new StateGraph(State)
    .addNode("plan", (s) => (calls.push("plan"), { outline: `plan for ${s.topic}` }))
    .addNode("ask", (s) => ({ first: interrupt({ question: "first?", plan: s.outline }) }))
    .addNode("check", (s) => ({ second: interrupt({ question: "second?", first: s.first }) }))
    .addNode("done", () => (calls.push("done"), {}))
    .addEdge(START, "plan")
    .addEdge("plan", "ask")
    .addEdge("ask", "check")
    .addEdge("check", "done")
    .addEdge("done", END)
    .compile({ checkpointer });
}

function serve(agent: string, handler: AgentHandler) {
  return worker({ agents: { [agent]: handler }, baseUrl: env.local().baseUrl, pollMs: 25, log: () => {} });
}

describe("graphAgent: a LangGraph graph as a Weft node", () => {
  it("interrupt() suspends the node (running -> waiting) with the interrupt's value, and each approve resumes the graph with the signal's output", async () => {
    const agent = agentName("two-questions");
    const calls: string[] = [];
    const graph = twoQuestions(saver, calls);
    const w = serve(agent, graphAgent({ graph, wait: { timeoutMs: 60_000 } }));
    try {
      const { dagId } = await weft.submit({ nodes: [{ id: "q", agent, input: { topic: "tides" } }] });
      const first = await waiting(dagId, "q");
      expect(first).toMatchObject({ attempt: 1, wait: { suspended: true, timeoutMs: 60_000 } });
      const { events } = await weft.events(dagId, 0);
      expect(events.find((e) => e.type === "node.waiting")?.data).toMatchObject({ input: { question: "first?", plan: "plan for tides" } });
      expect(await weft.approve(dagId, "q", { yes: 1 }, { by: "ana" })).toMatchObject({ status: "ready" });

      await until("the second question", async () => {
        const run = await weft.getRun(dagId);
        return nodeOf(run, "q").status === "waiting" && nodeOf(run, "q").attempt === 2;
      });
      const thread = { configurable: { thread_id: threadIdFor({ dagId, nodeId: "q" }) } };
      expect((await graph.getState(thread)).values).toMatchObject({ first: { yes: 1 } });
      await weft.approve(dagId, "q", { yes: 2 });

      const run = await ended(dagId);
      expect(run.status).toBe("succeeded");
      expect(nodeOf(run, "q")).toMatchObject({ attempt: 3, output: { topic: "tides", outline: "plan for tides", first: { yes: 1 }, second: { yes: 2 } } });
      // Every step before an interrupt ran once, across the three attempts.
      expect(calls).toEqual(["plan", "done"]);
      expect((await weft.state.get({ dagId, key: resumeKeyFor("q") }))?.value).toMatchObject({ signal: expect.stringMatching(/^api:/) });
      await w.close();
      expect(w.stats()).toMatchObject({ suspended: 2, completed: 1, failed: 0 });
    } finally {
      await w.close({ graceMs: 0 });
    }
  });

  it("an attempt that still carries a signal the graph already used (its worker stopped before suspending again) suspends instead of answering the next interrupt with it", async () => {
    const agent = agentName("stale-signal");
    const calls: string[] = [];
    const graph = twoQuestions(saver, calls);
    const handler = graphAgent({ graph });
    let stopped: (() => void) | undefined;
    const stopping = new Promise<void>((r) => (stopped = r));
    // The first worker dies between reaching the second interrupt and reporting the suspend.
    const first = serve(agent, async (task, ctx) => {
      try {
        return await handler(task, ctx);
      } catch (err) {
        if (!(err instanceof Suspend) || !task.signal) throw err;
        stopped!();
        await new Promise((r) => ctx.signal.addEventListener("abort", r, { once: true }));
        throw ctx.signal.reason;
      }
    });
    let second: ReturnType<typeof serve> | undefined;
    try {
      const { dagId } = await weft.submit({ nodes: [{ id: "q", agent, input: { topic: "reefs" } }] });
      await waiting(dagId, "q");
      await weft.approve(dagId, "q", "first answer", { signalId: "one" });
      await stopping;
      await first.close({ graceMs: 0 }); // gives the lease back: the node is ready, its signal still the first one

      const carried: unknown[] = [];
      second = serve(agent, (task, ctx) => (carried.push(task.signal?.signalId), handler(task, ctx)));
      const again = await until("the node to wait again", async () => {
        const run = await weft.getRun(dagId);
        const n = nodeOf(run, "q");
        return n.status === "waiting" && n.attempt === 3 ? n : undefined;
      });
      expect(again.wait).toMatchObject({ suspended: true });
      expect(carried).toEqual(["one"]);
      const thread = { configurable: { thread_id: threadIdFor({ dagId, nodeId: "q" }) } };
      const state = await graph.getState(thread);
      expect(state.values).toMatchObject({ first: "first answer" });
      expect(state.values).not.toHaveProperty("second");
      // The same signal again is a duplicate the engine drops; a new one answers the second question.
      await weft.approve(dagId, "q", "second answer", { signalId: "two" });
      const run = await ended(dagId);
      expect(nodeOf(run, "q")).toMatchObject({ status: "succeeded", output: { first: "first answer", second: "second answer" } });
      expect(calls).toEqual(["plan", "done"]);
    } finally {
      await first.close({ graceMs: 0 });
      await second?.close({ graceMs: 0 });
    }
  });

  it("a retry after a crash between steps continues from the last checkpoint without running finished steps again", async () => {
    const agent = agentName("crash");
    const calls: string[] = [];
    let crash = true;
    const State = Annotation.Root({ steps: Annotation<string[]>({ reducer: (a, b) => a.concat(b), default: () => [] }) });
    const graph = new StateGraph(State)
      .addNode("a", () => (calls.push("a"), { steps: ["a"] }))
      .addNode("b", () => {
        calls.push("b");
        if (crash) {
          crash = false;
          throw Object.assign(new Error("worker died"), { retryable: true });
        }
        return { steps: ["b"] };
      })
      .addEdge(START, "a")
      .addEdge("a", "b")
      .addEdge("b", END)
      .compile({ checkpointer: saver });
    const w = serve(agent, graphAgent({ graph }));
    try {
      const { dagId } = await weft.submit({ nodes: [{ id: "n", agent, retry: { maxAttempts: 3, backoffMs: 10 } }] });
      const run = await ended(dagId);
      expect(nodeOf(run, "n"), JSON.stringify(nodeOf(run, "n").error)).toMatchObject({ status: "succeeded", attempt: 2, output: { steps: ["a", "b"] } });
      expect(calls).toEqual(["a", "b", "b"]);
    } finally {
      await w.close({ graceMs: 0 });
    }
  });
});
