import { describe, expect, it } from "vitest";
import { worker } from "@weft/client";
import { agentName, finished, nodeOf, useLocal } from "./harness.js";

/** Agents that grow their run through the SDK (ctx.spawn, ctx.add, ctx.extend), against the local emulation. */
const { local, client } = useLocal();
const quiet = () => {};

describe("an agent grows its run", () => {
  it("spawns one node per item and a join over them with its output, and the join's parents say which did not succeed", async () => {
    const agent = agentName("grow");
    const w = worker({
      agents: {
        [agent]: async (task, ctx) => {
          const input = task.input as { role: string; item?: number };
          if (input.role === "plan") {
            const ids = ctx.spawn({ id: "part", agent, onFailure: "continue", input: (item: number) => ({ role: "part", item }) }, [1, 2, 3]);
            // The join of two of three, and the existing `report` waits for it.
            ctx.add({ nodes: [{ id: "sum", agent, deps: ids, join: { min: 2 }, input: { role: "sum" } }], deps: { report: ["sum"] } });
            return { parts: ids };
          }
          if (input.role === "part") {
            if (input.item === 2) throw Object.assign(new Error("part 2 has no answer"), { retryable: false });
            // The others take a moment, so part-2 has failed by the time the join is met.
            await new Promise((res) => setTimeout(res, 300));
            return input.item! * 10;
          }
          if (input.role === "report") return (await ctx.parents()).sum;
          const parents = await ctx.parents();
          return { total: Object.values(parents).reduce<number>((s, v) => s + (typeof v === "number" ? v : 0), 0), without: await ctx.notSucceeded() };
        },
      },
      baseUrl: local().baseUrl,
      pollMs: 20,
      log: quiet,
    });
    try {
      const { dagId } = await client().submit({
        onFailure: "fail-fast",
        nodes: [
          { id: "plan", agent, input: { role: "plan" } },
          { id: "report", agent, deps: ["plan"], input: { role: "report" } },
        ],
      });
      const run = await finished(client(), dagId);
      // The failure of part-2 was absorbed by the join: the run succeeds.
      expect(run.status).toBe("succeeded");
      expect(run.nodes.map((n) => [n.id, n.status])).toEqual([
        ["plan", "succeeded"],
        ["report", "succeeded"],
        ["part-1", "succeeded"],
        ["part-2", "failed"],
        ["part-3", "succeeded"],
        ["sum", "succeeded"],
      ]);
      expect(nodeOf(run, "part-2")).toMatchObject({ addedBy: { node: "plan", attempt: 1 }, deps: ["plan"], onFailure: "continue" });
      expect(nodeOf(run, "sum")).toMatchObject({ deps: ["part-1", "part-2", "part-3"], join: { min: 2 } });
      expect(nodeOf(run, "report").deps).toEqual(["plan", "sum"]);
      expect(nodeOf(run, "report").output).toEqual({ total: 40, without: { "part-2": "failed" } });
    } finally {
      await w.close({ graceMs: 0 });
    }
  });

  it("extends the run while the attempt runs, and the client adds from outside", async () => {
    const agent = agentName("extend");
    const w = worker({
      agents: {
        [agent]: async (task, ctx) => {
          if (task.nodeId !== "boss") return task.nodeId;
          const r = await ctx.extend({ nodes: [{ id: "early", agent }] });
          expect(r).toEqual({ added: ["early"], ready: ["early"] });
          return "boss";
        },
      },
      baseUrl: local().baseUrl,
      pollMs: 20,
      log: quiet,
    });
    try {
      const { dagId } = await client().submit({ nodes: [{ id: "boss", agent }, { id: "last", agent, deps: ["boss"] }] });
      expect(await client().addNodes(dagId, { nodes: [{ id: "outside", agent }], deps: { last: ["outside"] } })).toEqual({
        added: ["outside"],
        ready: ["outside"],
      });
      const run = await finished(client(), dagId);
      expect(run.status).toBe("succeeded");
      expect(nodeOf(run, "outside").addedBy).toEqual({ actor: "api" });
      expect(nodeOf(run, "early").addedBy).toEqual({ node: "boss", attempt: 1 });
    } finally {
      await w.close({ graceMs: 0 });
    }
  });
});
