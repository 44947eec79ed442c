import { describe, expect, it } from "vitest";
import { ShutdownError, worker } from "@weft/client";
import { agentName, finished, nodeOf, sleep, until, useLocal } from "./harness.js";

/** Graceful shutdown of the pull worker against the local emulation. */
const { local, client } = useLocal();
const quiet = () => {};

describe("worker shutdown", () => {
  it("close() stops claiming and lets running handlers finish and report", async () => {
    const agent = agentName("finish");
    const finishedAt: number[] = [];
    let started = 0;
    const w = worker({
      agents: {
        [agent]: async (task) => {
          started++;
          await sleep(400);
          finishedAt.push(Date.now());
          return `done ${task.nodeId}`;
        },
      },
      baseUrl: local().baseUrl,
      leaseMs: 2_000,
      pollMs: 30,
      log: quiet,
    });
    const { dagId } = await client().submit({ nodes: [{ id: "a", agent }, { id: "b", agent }] });
    await until("both handlers to start", () => started === 2);
    expect(w.inFlight).toBe(2);
    await w.close({ graceMs: 5_000 });
    const closedAt = Date.now();
    await w.done;

    expect(finishedAt).toHaveLength(2);
    expect(Math.max(...finishedAt)).toBeLessThanOrEqual(closedAt);
    const run = await client().getRun(dagId);
    expect(run.status).toBe("succeeded");
    expect(nodeOf(run, "a").output).toBe("done a");
    expect(w.stats()).toEqual({ completed: 2, failed: 0, released: 0, lost: 0, suspended: 0 });
    expect(w.inFlight).toBe(0);

    // A closed worker claims nothing more.
    const later = await client().submit({ nodes: [{ id: "c", agent }] });
    await sleep(300);
    expect(nodeOf(await client().getRun(later.dagId), "c").status).toBe("ready");
    expect(started).toBe(2);
  });

  it("past the grace period aborts the handlers, gives their tasks back, and the attempt is not counted", async () => {
    const agent = agentName("giveback");
    let reason: unknown;
    let started = false;
    const w = worker({
      agents: {
        [agent]: async (_task, ctx) => {
          started = true;
          await new Promise((res) => ctx.signal.addEventListener("abort", res));
          reason = ctx.signal.reason;
          throw ctx.signal.reason;
        },
      },
      baseUrl: local().baseUrl,
      leaseMs: 5_000,
      pollMs: 30,
      log: quiet,
    });
    const { dagId } = await client().submit({ nodes: [{ id: "a", agent, retry: { maxAttempts: 2, backoffMs: 0 } }] });
    await until("the handler to start", () => started);
    const t0 = Date.now();
    await w.close({ graceMs: 200 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(reason).toBeInstanceOf(ShutdownError);
    expect(w.stats()).toEqual({ completed: 0, failed: 0, released: 1, lost: 0, suspended: 0 });

    // The handler's throw after the abort was not reported as a failure: the node is ready again.
    const run = await client().getRun(dagId);
    expect(nodeOf(run, "a")).toMatchObject({ status: "ready", attempt: 1 });
    const { events } = await client().events(dagId);
    expect(events.at(-1)).toMatchObject({ type: "node.released", node: "a", attempt: 1, from: "running" });

    // Claimable again at once; the released attempt did not spend the retry budget of 2.
    const [again] = await client().claim(agent, { max: 1 });
    expect(again).toMatchObject({ dagId, nodeId: "a", attempt: 2 });
    expect((await client().fail(again!, { message: "first real failure" })).status).toBe("retrying");
  });

  it("does not wait for a handler that ignores the abort, and drops its late result", async () => {
    const agent = agentName("stubborn");
    let started = false;
    let returned = false;
    const w = worker({
      agents: {
        [agent]: async () => {
          started = true;
          await sleep(1_200);
          returned = true;
          return "late";
        },
      },
      baseUrl: local().baseUrl,
      leaseMs: 5_000,
      pollMs: 30,
      log: quiet,
    });
    const { dagId } = await client().submit({ nodes: [{ id: "a", agent }] });
    await until("the handler to start", () => started);
    await w.close({ graceMs: 100 });
    expect(returned).toBe(false);
    expect(w.stats().released).toBe(1);
    expect(w.inFlight).toBe(0);
    await until("the stubborn handler to return", () => returned, 3_000);
    await sleep(200);
    expect(nodeOf(await client().getRun(dagId), "a")).toMatchObject({ status: "ready", attempt: 1 });
    expect(w.stats()).toEqual({ completed: 0, failed: 0, released: 1, lost: 0, suspended: 0 });
  });

  it("a second worker picks up what a closing worker gave back and finishes the run", async () => {
    const agent = agentName("handover");
    let firstStarted = false;
    const { dagId } = await client().submit({ nodes: [{ id: "a", agent, retry: { maxAttempts: 1, backoffMs: 0 } }] });
    const first = worker({
      agents: {
        [agent]: async (_task, ctx) => {
          firstStarted = true;
          await new Promise((res) => ctx.signal.addEventListener("abort", res));
        },
      },
      baseUrl: local().baseUrl,
      pollMs: 30,
      log: quiet,
    });
    await until("the first worker to start", () => firstStarted).finally(() => first.close({ graceMs: 50 }));
    const second = worker({ agents: { [agent]: (task) => `finished attempt ${task.attempt}` }, baseUrl: local().baseUrl, pollMs: 30, log: quiet });
    try {
      const run = await finished(client(), dagId);
      // maxAttempts 1, yet the second attempt ran: the given-back one did not count.
      expect(nodeOf(run, "a")).toMatchObject({ status: "succeeded", attempt: 2, output: "finished attempt 2" });
    } finally {
      await second.close();
    }
  });
});
