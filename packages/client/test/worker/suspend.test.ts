import { describe, expect, it } from "vitest";
import type { Task } from "@weft/core/sdk";
import { Suspend, worker, type TaskContext } from "@weft/client";
import { agentName, finished, nodeOf, until, useLocal } from "./harness.js";

/** ctx.suspend() and the client's signal calls against the local emulation (real API, Redis, reconcile every 200 ms). */
const { local, client } = useLocal();
const quiet = () => {};

describe("suspend and signals through the SDK", () => {
  it("an agent suspends; approve makes it ready and the next attempt resumes with task.signal, its earlier work kept in run state", async () => {
    const agent = agentName("booker");
    const seen: (Task["signal"] | undefined)[] = [];
    let quotes = 0;
    const w = worker({
      agents: {
        [agent]: async (task: Task, ctx: TaskContext) => {
          seen.push(task.signal);
          // Work done before the suspend is kept in run state, so the resumed attempt does not repeat it.
          const kept = await ctx.state.get("quote");
          const quote = (kept?.value as number | undefined) ?? (quotes++, 120);
          if (!kept) await ctx.state.create("quote", quote);
          if (!task.signal) return ctx.suspend({ wait: { timeoutMs: 60_000 }, input: { confirm: `${quote} EUR?` } });
          return { booked: (task.signal.output as { ok: boolean }).ok, quote };
        },
      },
      baseUrl: local().baseUrl,
      pollMs: 50,
      log: quiet,
    });
    try {
      const { dagId } = await client().submit({ nodes: [{ id: "book", agent }] });
      const waiting = await until("the node to wait", async () => {
        const run = await client().getRun(dagId);
        return nodeOf(run, "book").status === "waiting" ? run : undefined;
      });
      expect(nodeOf(waiting, "book")).toMatchObject({ attempt: 1, wait: { suspended: true } });
      expect(await client().approve(dagId, "book", { ok: true }, { by: "ana" })).toMatchObject({ status: "ready" });
      const run = await finished(client(), dagId);
      expect(nodeOf(run, "book")).toMatchObject({ status: "succeeded", attempt: 2, output: { booked: true, quote: 120 } });
      expect(quotes).toBe(1);
      expect(seen).toEqual([undefined, expect.objectContaining({ via: "api", by: "ana", output: { ok: true } })]);
      await w.close();
      expect(w.stats()).toMatchObject({ completed: 1, suspended: 1, failed: 0 });
    } finally {
      await w.close({ graceMs: 0 });
    }
  });

  it("a large question and a large answer (over the 256 KB threshold) travel through S3: the resumed attempt gets the answer", async () => {
    const agent = agentName("bigask");
    const question = { doc: "q".repeat(400_000) };
    const answer = { edits: "a".repeat(500_000) };
    let resumedWith: unknown;
    const w = worker({
      agents: {
        [agent]: async (task: Task, ctx: TaskContext) => {
          if (!task.signal) return ctx.suspend({ wait: {}, input: question });
          resumedWith = task.signal.output;
          return "done";
        },
      },
      baseUrl: local().baseUrl,
      pollMs: 50,
      log: quiet,
    });
    try {
      const { dagId } = await client().submit({ nodes: [{ id: "ask", agent }] });
      await until("the node to wait", async () => nodeOf(await client().getRun(dagId), "ask").status === "waiting");
      const raw = (await fetch(`${local().baseUrl}/v1/dags/${dagId}?include=input&values=url`).then((r) => r.json())) as { nodes: { id: string; wait: { input: unknown } }[] };
      expect(nodeOf(raw, "ask").wait.input).toMatchObject({ $weftValue: { key: expect.stringContaining(`/${dagId}/ask/input-`) } });
      expect(await client().approve(dagId, "ask", answer)).toMatchObject({ status: "ready" });
      expect(nodeOf(await finished(client(), dagId), "ask")).toMatchObject({ status: "succeeded", output: "done" });
      expect(resumedWith).toEqual(answer);
    } finally {
      await w.close({ graceMs: 0 });
    }
  }, 30_000);

  it("throw new Suspend works like ctx.suspend; reject fails the node; a signal URL works without a key", async () => {
    const agent = agentName("asker");
    const w = worker({
      agents: {
        [agent]: (task: Task) => {
          if (!task.signal) throw new Suspend({ input: { q: "go?" } });
          return task.signal.output;
        },
      },
      baseUrl: local().baseUrl,
      pollMs: 50,
      log: quiet,
    });
    try {
      const a = await client().submit({ nodes: [{ id: "x", agent }] });
      await until("x to wait", async () => nodeOf(await client().getRun(a.dagId), "x").status === "waiting");
      await client().reject(a.dagId, "x", "not now", { by: "ed" });
      const failed = await finished(client(), a.dagId);
      expect(nodeOf(failed, "x")).toMatchObject({ status: "failed", error: { message: "not now" }, signal: { via: "api", by: "ed" } });

      const b = await client().submit({ nodes: [{ id: "gate", wait: {} }, { id: "y", agent, deps: ["gate"] }] });
      const { events } = await client().events(b.dagId);
      const url = events.find((e) => e.type === "node.waiting")!.data!.signalUrl as string;
      expect(url.startsWith(`${local().baseUrl}/v1/signals/`)).toBe(true);
      expect(await client().signalUrl(url, { output: "go" })).toMatchObject({ status: "succeeded" });
      await expect(client().signalUrl(url, { output: "again" })).rejects.toThrow("no such signal");
      await until("y to wait", async () => nodeOf(await client().getRun(b.dagId), "y").status === "waiting");
      expect((await client().signalKey("no-one-waits", { output: 1 })).signalled).toBe(0);
      await client().signal(b.dagId, "y", { output: 42 });
      expect(nodeOf(await finished(client(), b.dagId), "y")).toMatchObject({ status: "succeeded", output: 42 });
    } finally {
      await w.close({ graceMs: 0 });
    }
  });

  it("pause holds a run's nodes from the worker until resume", async () => {
    const agent = agentName("paused");
    const w = worker({ agents: { [agent]: () => "ran" }, baseUrl: local().baseUrl, pollMs: 50, log: quiet });
    try {
      const { dagId } = await client().submit({ nodes: [{ id: "gate", wait: {} }, { id: "z", agent, deps: ["gate"] }] });
      expect(await client().pause(dagId)).toEqual({ status: "paused", changed: true });
      await client().signal(dagId, "gate", { output: true });
      await new Promise((r) => setTimeout(r, 400));
      const held = await client().getRun(dagId);
      expect(held.status).toBe("paused");
      expect(nodeOf(held, "z").status).toBe("ready");
      await client().resume(dagId);
      expect(nodeOf(await finished(client(), dagId), "z")).toMatchObject({ status: "succeeded", output: "ran" });
    } finally {
      await w.close({ graceMs: 0 });
    }
  });
});
