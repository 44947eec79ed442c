import { describe, expect, it } from "vitest";
import { createClient, LeaseLostError, NonRetryableError, worker, type TaskContext } from "@weft/client";
import { agentName, finished, nodeOf, withWorker, sleep, until, useLocal } from "./harness.js";

/** The pull-mode worker runtime against the local emulation (real API, Redis, reconcile every 200 ms). */
const { local, client } = useLocal();

const quiet = () => {};

describe("pull worker", () => {
  it("keeps a long task alive with heartbeats past several lease lengths", async () => {
    const agent = agentName("long");
    // 2.5 s of work on a 600 ms lease: alive only if the heartbeats (every 100 ms) extend it.
    const w = worker({ agents: { [agent]: async () => (await sleep(2_500), "done") }, baseUrl: local().baseUrl, leaseMs: 600, heartbeatMs: 100, pollMs: 50, log: quiet });
    await withWorker(w, async () => {
      const { dagId } = await client().submit({ nodes: [{ id: "a", agent, retry: { maxAttempts: 3, backoffMs: 0 } }] });
      const run = await finished(client(), dagId);
      expect(nodeOf(run, "a")).toMatchObject({ status: "succeeded", attempt: 1, output: "done" });
      const { events } = await client().events(dagId);
      expect(events.filter((e) => e.type === "node.heartbeat").length).toBeGreaterThanOrEqual(10);
      expect(events.some((e) => e.type === "node.retrying")).toBe(false);
      await w.close(); // waits for every report to land: the counts are final
      expect(w.stats()).toEqual({ completed: 1, failed: 0, released: 0, lost: 0, suspended: 0 });
    });
  });

  it("aborts the handler when its lease expires, reports nothing for it, and the retry succeeds", async () => {
    const agent = agentName("lost");
    const reasons: unknown[] = [];
    let lateResult = false;
    const w = worker({
      agents: {
        [agent]: async (task, ctx) => {
          if (task.attempt > 1) return `attempt ${task.attempt}`;
          // Attempt 1 stalls; a heartbeat sent only after the lease expired learns it was lost.
          await new Promise((res) => ctx.signal.addEventListener("abort", res));
          reasons.push(ctx.signal.reason);
          lateResult = true;
          return "too late";
        },
      },
      baseUrl: local().baseUrl,
      leaseMs: 300,
      heartbeatMs: 1_500,
      pollMs: 50,
      log: quiet,
    });
    await withWorker(w, async () => {
      const { dagId } = await client().submit({ nodes: [{ id: "a", agent, retry: { maxAttempts: 3, backoffMs: 0 } }] });
      const run = await finished(client(), dagId);
      expect(nodeOf(run, "a")).toMatchObject({ status: "succeeded", attempt: 2, output: "attempt 2" });
      await until("attempt 1 to be aborted", () => lateResult);
      expect(reasons[0]).toBeInstanceOf(LeaseLostError);
      await w.close(); // waits for every report to land: the counts are final
      expect(w.stats()).toEqual({ completed: 1, failed: 0, released: 0, lost: 1, suspended: 0 });
      const { events } = await client().events(dagId);
      expect(events.filter((e) => e.type === "node.retrying").map((e) => e.data?.error)).toEqual([{ message: "lease expired", code: "lease_expired" }]);
    });
  });

  it("aborts the handler when the run is cancelled under it", async () => {
    const agent = agentName("cancel");
    let started = false;
    let aborted: unknown;
    const w = worker({
      agents: {
        [agent]: async (_task, ctx) => {
          started = true;
          await new Promise((res) => ctx.signal.addEventListener("abort", res));
          aborted = ctx.signal.reason;
        },
      },
      baseUrl: local().baseUrl,
      leaseMs: 10_000,
      heartbeatMs: 100,
      pollMs: 50,
      log: quiet,
    });
    await withWorker(w, async () => {
      const { dagId } = await client().submit({ nodes: [{ id: "a", agent }] });
      await until("the handler to start", () => started);
      await client().cancel(dagId);
      await until("the abort", () => aborted !== undefined, 3_000);
      expect(aborted).toBeInstanceOf(LeaseLostError);
      await until("the lost attempt to settle", () => w.stats().lost === 1);
      expect(nodeOf(await client().getRun(dagId), "a").status).toBe("cancelled");
      expect(w.stats()).toMatchObject({ completed: 0, failed: 0, lost: 1 });
    });
  });

  it("never runs more handlers of an agent at once than its concurrency", async () => {
    const agents = { a: agentName("conc"), b: agentName("conc") };
    const live = { a: 0, b: 0 };
    const peak = { a: 0, b: 0 };
    const handler = (k: "a" | "b") => async () => {
      live[k]++;
      peak[k] = Math.max(peak[k], live[k]);
      await sleep(120);
      live[k]--;
      return k;
    };
    const w = worker({
      agents: { [agents.a]: handler("a"), [agents.b]: handler("b") },
      concurrency: { [agents.a]: 3, [agents.b]: 1 },
      baseUrl: local().baseUrl,
      leaseMs: 5_000,
      pollMs: 30,
      log: quiet,
    });
    await withWorker(w, async () => {
      const nodes = [
        ...Array.from({ length: 12 }, (_, i) => ({ id: `a${i}`, agent: agents.a })),
        ...Array.from({ length: 4 }, (_, i) => ({ id: `b${i}`, agent: agents.b })),
      ];
      const { dagId } = await client().submit({ nodes });
      let maxInFlight = 0;
      const sampling = setInterval(() => (maxInFlight = Math.max(maxInFlight, w.inFlight)), 5);
      const run = await finished(client(), dagId).finally(() => clearInterval(sampling));
      expect(run.status).toBe("succeeded");
      expect(peak).toEqual({ a: 3, b: 1 });
      expect(maxInFlight).toBeLessThanOrEqual(4);
      await w.close(); // waits for every report to land: the counts are final
      expect(w.stats()).toEqual({ completed: 16, failed: 0, released: 0, lost: 0, suspended: 0 });
    });
  });

  it("fails a thrown error as retryable, and NonRetryableError or retryable: false without a retry", async () => {
    const agent = agentName("errors");
    const w = worker({
      agents: {
        [agent]: (task) => {
          const kind = (task.input as { kind: string }).kind;
          if (kind === "flaky" && task.attempt === 1) throw Object.assign(new TypeError("upstream 503"), { code: "E503" });
          if (kind === "bad") throw new NonRetryableError("input is unusable");
          if (kind === "marked") throw Object.assign(new Error("quota exhausted"), { retryable: false });
          return `ok ${task.attempt}`;
        },
      },
      baseUrl: local().baseUrl,
      pollMs: 30,
      log: quiet,
    });
    await withWorker(w, async () => {
      const submit = (kind: string) =>
        client().submit({ nodes: [{ id: "n", agent, input: { kind }, retry: { maxAttempts: 3, backoffMs: 0 } }] });
      const [flaky, bad, marked] = await Promise.all([submit("flaky"), submit("bad"), submit("marked")]);
      const runs = await Promise.all([flaky, bad, marked].map((r) => finished(client(), r.dagId)));
      expect(nodeOf(runs[0]!, "n")).toMatchObject({ status: "succeeded", attempt: 2, output: "ok 2" });
      expect(nodeOf(runs[1]!, "n")).toMatchObject({ status: "failed", attempt: 1, error: { message: "input is unusable", name: "NonRetryableError" } });
      expect(nodeOf(runs[2]!, "n")).toMatchObject({ status: "failed", attempt: 1, error: { message: "quota exhausted" } });
      const { events } = await client().events(flaky.dagId);
      expect(events.find((e) => e.type === "node.retrying")?.data?.error).toEqual({ message: "upstream 503", name: "TypeError", code: "E503" });
      await w.close(); // waits for every report to land: the counts are final
      expect(w.stats()).toEqual({ completed: 1, failed: 3, released: 0, lost: 0, suspended: 0 });
    });
  });

  it("fails the node without a retry when its output cannot be stored (not JSON); a large one goes to S3", async () => {
    const agent = agentName("output");
    const w = worker({
      agents: { [agent]: (task) => ((task.input as { kind: string }).kind === "bigint" ? { n: 10n } : "x".repeat(300_000)) },
      baseUrl: local().baseUrl,
      pollMs: 30,
      log: quiet,
    });
    await withWorker(w, async () => {
      const submit = (kind: string) => client().submit({ nodes: [{ id: "n", agent, input: { kind }, retry: { maxAttempts: 3, backoffMs: 0 } }] });
      const runs = await Promise.all([submit("bigint"), submit("large")].map(async (r) => finished(client(), (await r).dagId)));
      expect(nodeOf(runs[0]!, "n")).toMatchObject({ status: "failed", attempt: 1, error: { message: expect.stringMatching(/^output is not JSON/) } });
      // Over the 256 KB a run keeps in Redis: the value goes to the emulator's S3 and reads back whole.
      expect(nodeOf(runs[1]!, "n")).toMatchObject({ status: "succeeded", attempt: 1, output: "x".repeat(300_000) });
    });
  });

  it("gives handlers their parents' outputs (one request) and shared state written as the task", async () => {
    const agent = agentName("ctx");
    let parentRequests = 0;
    const counting: typeof fetch = (input, init) => {
      if (String(input).endsWith("/parents")) parentRequests++;
      return fetch(input, init);
    };
    const ns = agentName("ns");
    const seen: Record<string, unknown> = {};
    const w = worker({
      agents: {
        [agent]: async (task, ctx: TaskContext) => {
          if (task.nodeId === "a") return { plan: ["x", "y"] };
          if (task.nodeId === "d") {
            const first = await ctx.parents();
            seen.same = first === (await ctx.parents());
            seen.log = (await ctx.state.get("log"))?.value;
            await ctx.namespace(ns).create("summary", { from: task.nodeId });
            return first;
          }
          const { a } = (await ctx.parents()) as { a: { plan: string[] } };
          await ctx.state.update<string[]>("log", (cur) => [...(cur ?? []), task.nodeId].sort());
          return `${task.nodeId} used ${a.plan.join("+")}`;
        },
      },
      client: createClient({ baseUrl: local().baseUrl, fetch: counting }),
      pollMs: 30,
      log: quiet,
    });
    await withWorker(w, async () => {
      const { dagId } = await client().submit({
        nodes: [
          { id: "a", agent },
          { id: "b", agent, deps: ["a"] },
          { id: "c", agent, deps: ["a"] },
          { id: "d", agent, deps: ["b", "c"] },
        ],
      });
      const run = await finished(client(), dagId);
      expect(run.status).toBe("succeeded");
      expect(nodeOf(run, "d").output).toEqual({ b: "b used x+y", c: "c used x+y" });
      expect(seen).toEqual({ same: true, log: ["b", "c"] });
      // b, c and d asked once each; d's second call was answered from the cache.
      expect(parentRequests).toBe(3);

      const history = async (path: string) =>
        ((await (await fetch(`${local().baseUrl}${path}/history`)).json()) as { entries: { writer: unknown }[] }).entries;
      const writers = (await history(`/v1/dags/${dagId}/state/log`)).map((e) => e.writer);
      expect(writers).toHaveLength(2);
      expect(writers).toEqual(
        expect.arrayContaining([
          { agent, run: dagId, node: "b", attempt: 1 },
          { agent, run: dagId, node: "c", attempt: 1 },
        ]),
      );
      expect((await history(`/v1/state/${ns}/summary`)).map((e) => e.writer)).toEqual([{ agent, run: dagId, node: "d", attempt: 1 }]);
    });
  });
});
