import { describe, expect, it } from "vitest";
import { backends } from "@weft/test-support";
import { ValidationError } from "@weft/core";
import { parseTraceparent } from "@weft/core/sdk";
import { allOutbox, claimOne, rejection, useEngines } from "./harness.js";

const TP = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/**
 * Trace context with the work (EngineOptions.traceContext): a run submitted with a
 * traceparent hands it to every task claimed from it (batch claims, claimNode, claimNext,
 * after a retry or a release) and to its NodeReady events; without the option nothing is
 * read or handed out, and a run submitted without one has none.
 */
describe.each(backends)("trace context on %s", (name) => {
  const { fresh } = useEngines(name);
  const spec = (id: string) => ({ id, nodes: [{ id: "a", agent: "ag" }, { id: "b", agent: "ag", deps: ["a"] }] });

  it("tasks and NodeReady events of a run submitted with a traceparent carry it", async () => {
    const ctx = fresh({ traceContext: true });
    await ctx.engine.submit(ctx.tenant, spec("r1"), { traceparent: TP });
    const [a] = await ctx.engine.claim(ctx.tenant, "ag");
    expect(a!.traceparent).toBe(TP);
    // Released and claimed again, then completed with claimNext: each claim path carries it.
    await ctx.engine.release(ctx.tenant, a!);
    const again = await claimOne(ctx, "r1", "a");
    expect(again.traceparent).toBe(TP);
    const { next } = await ctx.engine.complete(ctx.tenant, again, 1, { claimNext: { agent: "ag" } });
    expect(next?.map((t) => [t.nodeId, t.traceparent])).toEqual([["b", TP]]);
    const ready = (await allOutbox(ctx.engine)).filter((e) => e.type === "NodeReady");
    expect(ready.map((e) => [e.nodeId, e.traceparent])).toEqual([["a", TP], ["a", TP], ["b", TP]]);
    for (const e of await allOutbox(ctx.engine)) if (e.type !== "NodeReady") expect(e).not.toHaveProperty("traceparent");
  });

  it("a run submitted without one, or an engine without the option, hands out none", async () => {
    const traced = fresh({ traceContext: true });
    await traced.engine.submit(traced.tenant, spec("plain"));
    expect(await claimOne(traced, "plain", "a")).not.toHaveProperty("traceparent");
    const off = fresh();
    await off.engine.submit(off.tenant, spec("r2"), { traceparent: TP });
    expect((await off.engine.claim(off.tenant, "ag"))[0]).not.toHaveProperty("traceparent");
    for (const e of await allOutbox(off.engine)) expect(e).not.toHaveProperty("traceparent");
  });

  it("refuses a malformed traceparent naming the field", async () => {
    const ctx = fresh({ traceContext: true });
    for (const bad of ["nope", "00-00000000000000000000000000000000-00f067aa0ba902b7-01", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", `${TP}|x`]) {
      const err = await rejection(ctx.engine.submit(ctx.tenant, spec(`bad${bad.length}`), { traceparent: bad }));
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).field).toBe("traceparent");
    }
  });
});

describe("parseTraceparent", () => {
  it("reads version 00 and refuses other shapes", () => {
    expect(parseTraceparent(TP)).toEqual({ traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "00f067aa0ba902b7", traceFlags: 1 });
    expect(parseTraceparent(`${TP}-extra`)).toBeUndefined(); // version 00 has exactly four parts
    expect(parseTraceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-future")).toMatchObject({ traceFlags: 0 });
    expect(parseTraceparent("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01")).toBeUndefined();
    expect(parseTraceparent(42)).toBeUndefined();
  });
});
