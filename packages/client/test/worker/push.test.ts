import { describe, expect, it } from "vitest";
import { NonRetryableError, pushHandler, type PushResult } from "@weft/client";
import { ConflictError, NotFoundError } from "@weft/core";
import type { BusEvent } from "@weft/core/events";
import { agentName, finished, nodeOf, sleep, useLocal } from "./harness.js";

/** Push mode against the local emulation: NodeReady events from the real outbox relay, or handed in directly. */
const { local, client } = useLocal();
const quiet = () => {};

const nodeReady = (dagId: string, nodeId: string, agent: string) => ({ "detail-type": "NodeReady", detail: { dagId, nodeId, agent } });

describe("push handler", () => {
  it("runs the agent for each NodeReady the bus delivers and completes the run", async () => {
    const agent = agentName("push");
    const calls: string[] = [];
    const handler = pushHandler({
      agents: {
        [agent]: async (task, ctx) => {
          calls.push(`${task.nodeId}#${task.attempt}`);
          if (task.nodeId === "a") return { n: 20 };
          const { a } = (await ctx.parents()) as { a: { n: number } };
          return a.n + 1;
        },
      },
      baseUrl: local().baseUrl,
      log: quiet,
    });
    const results: PushResult[] = [];
    const off = local().bus.subscribe({ detailType: ["NodeReady"], detail: { agent: [agent] } }, async (e: BusEvent) => {
      results.push(await handler(e));
    });
    try {
      const { dagId } = await client().submit({ nodes: [{ id: "a", agent }, { id: "b", agent, deps: ["a"] }] });
      const run = await finished(client(), dagId);
      expect(run.status).toBe("succeeded");
      expect(nodeOf(run, "b").output).toBe(21);
      await local().bus.drain();
      expect(calls).toEqual(["a#1", "b#1"]);
      expect(results.filter((r) => r.ran)).toEqual([
        { ran: true, outcome: "completed" },
        { ran: true, outcome: "completed" },
      ]);
    } finally {
      off();
    }
  });

  it("runs the agent once when the same NodeReady is delivered twice, at once or later", async () => {
    const agent = agentName("dup");
    let calls = 0;
    const handler = pushHandler({
      agents: {
        [agent]: async () => {
          calls++;
          await sleep(200);
          return "once";
        },
      },
      baseUrl: local().baseUrl,
      log: quiet,
    });
    const { dagId } = await client().submit({ nodes: [{ id: "a", agent }] });
    const event = nodeReady(dagId, "a", agent);
    const both = await Promise.all([handler(event), handler(event)]);
    expect(both.filter((r) => r.ran)).toEqual([{ ran: true, outcome: "completed" }]);
    expect(both.find((r) => !r.ran)?.reason).toMatch(/^not claimable: /);
    const late = await handler(event);
    expect(late.ran).toBe(false);
    expect(calls).toBe(1);
    expect(nodeOf(await client().getRun(dagId), "a")).toMatchObject({ status: "succeeded", attempt: 1, output: "once" });
  });

  it("fails the node when the agent throws, and ignores events it has no agent for", async () => {
    const agent = agentName("pushfail");
    const handler = pushHandler({
      agents: { [agent]: () => Promise.reject(new NonRetryableError("cannot do this")) },
      baseUrl: local().baseUrl,
      log: quiet,
    });
    const { dagId } = await client().submit({ nodes: [{ id: "a", agent, retry: { maxAttempts: 3, backoffMs: 0 } }] });
    expect(await handler(nodeReady(dagId, "a", agent))).toEqual({ ran: true, outcome: "failed", reason: "attempt 1 failed" });
    expect(nodeOf(await finished(client(), dagId), "a")).toMatchObject({ status: "failed", attempt: 1, error: { message: "cannot do this" } });
    expect(await handler(nodeReady(dagId, "a", "someone-else"))).toEqual({ ran: false, reason: "no handler for agent someone-else" });
    expect(await handler({ "detail-type": "DagFailed", detail: { dagId } })).toEqual({ ran: false, reason: "not a NodeReady event" });
  });
});

describe("release and parents over HTTP", () => {
  it("release makes the node claimable again; a stale token is a 409 and changes nothing", async () => {
    const agent = agentName("release");
    const weft = client();
    const { dagId } = await weft.submit({ nodes: [{ id: "a", agent }, { id: "b", agent, deps: ["a"] }] });
    const [t1] = await weft.claim(agent, { max: 1 });
    expect(await weft.release(t1!, "w-leaving")).toEqual({ status: "ready", attempt: 1 });
    await expect(weft.release(t1!)).rejects.toBeInstanceOf(ConflictError);
    const before = await weft.events(dagId);
    await expect(weft.release(t1!)).rejects.toBeInstanceOf(ConflictError);
    expect((await weft.events(dagId)).cursor).toBe(before.cursor);
    expect(before.events.at(-1)).toMatchObject({ type: "node.released", actor: "w-leaving" });

    const [t2] = await weft.claim(agent, { max: 1 });
    expect(t2).toMatchObject({ nodeId: "a", attempt: 2 });
    await weft.complete(t2!, { from: "a" });
    expect(await weft.parents(dagId, "b")).toEqual({ a: { from: "a" } });
    expect(await weft.parents(dagId, "a")).toEqual({});
    await expect(weft.parents(dagId, "nope")).rejects.toBeInstanceOf(NotFoundError);
    await expect(weft.parents("dag_missing", "a")).rejects.toBeInstanceOf(NotFoundError);
  });

  it("documents both routes in the OpenAPI document", async () => {
    const doc = (await (await fetch(`${local().baseUrl}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    expect(Object.keys(doc.paths["/v1/dags/{dagId}/nodes/{nodeId}/release"] ?? {})).toEqual(["post"]);
    expect(Object.keys(doc.paths["/v1/dags/{dagId}/nodes/{nodeId}/parents"] ?? {})).toEqual(["get"]);
  });
});

