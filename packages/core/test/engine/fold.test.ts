import { describe, expect, it } from "vitest";
import { ValidationError } from "@weft/core";
import { foldEvents } from "@weft/core/sdk";
import type { RunEvent } from "@weft/core";

const nodes = [{ id: "a" }, { id: "b" }, { id: "c" }];

/** A hand-written log for a -> {b, c}: a succeeds, b retries once then fails, c is cancelled. */
function log(): RunEvent[] {
  const raw: Omit<RunEvent, "seq" | "at" | "actor">[] = [
    { type: "run.submitted", data: { nodes: 3, onFailure: "continue" } },
    { type: "node.ready", node: "a", attempt: 0, from: "pending" },
    { type: "node.started", node: "a", attempt: 1, from: "ready" },
    { type: "node.heartbeat", node: "a", attempt: 1 },
    { type: "node.succeeded", node: "a", attempt: 1, from: "running" },
    { type: "node.ready", node: "b", attempt: 0, from: "pending" },
    { type: "node.ready", node: "c", attempt: 0, from: "pending" },
    { type: "node.started", node: "b", attempt: 1, from: "ready" },
    { type: "node.retrying", node: "b", attempt: 1, from: "running" },
    { type: "node.ready", node: "b", attempt: 1, from: "retrying" },
    { type: "node.started", node: "b", attempt: 2, from: "ready" },
    { type: "node.failed", node: "b", attempt: 2, from: "running" },
    { type: "node.cancelled", node: "c", attempt: 0, from: "ready" },
    { type: "run.failed", data: {} },
  ];
  return raw.map((e, i) => ({ ...e, seq: i + 1, at: 1000 + i, actor: "test" }));
}

describe("foldEvents", () => {
  it("starts every node pending with no attempts and the run running when the log is empty", () => {
    const s = foldEvents(nodes, []);
    expect(s.status).toBe("running");
    expect(s.nodes).toEqual({ a: { status: "pending", attempt: 0 }, b: { status: "pending", attempt: 0 }, c: { status: "pending", attempt: 0 } });
    expect(s.counts).toMatchObject({ pending: 3, ready: 0, running: 0, succeeded: 0 });
  });

  it("replays the whole log to the final state when no seq is given", () => {
    const s = foldEvents(nodes, log());
    expect(s.status).toBe("failed");
    expect(s.nodes).toEqual({
      a: { status: "succeeded", attempt: 1 },
      b: { status: "failed", attempt: 2 },
      c: { status: "cancelled", attempt: 0 },
    });
    expect(s.counts).toEqual({ pending: 0, ready: 0, running: 0, succeeded: 1, failed: 1, retrying: 0, skipped: 0, cancelled: 1, waiting: 0 });
  });

  it("stops just after event atSeq", () => {
    const s = foldEvents(nodes, log(), 9);
    expect(s.status).toBe("running");
    expect(s.nodes.a).toEqual({ status: "succeeded", attempt: 1 });
    expect(s.nodes.b).toEqual({ status: "retrying", attempt: 1 });
    expect(s.nodes.c).toEqual({ status: "ready", attempt: 0 });
    expect(s.counts.retrying).toBe(1);
    expect(s.counts.ready).toBe(1);
  });

  it("takes the attempt of node.started and keeps it through a heartbeat", () => {
    expect(foldEvents(nodes, log(), 4).nodes.a).toEqual({ status: "running", attempt: 1 });
  });

  it("gives the initial state at seq 0", () => {
    expect(foldEvents(nodes, log(), 0).counts.pending).toBe(3);
  });

  it("orders events by seq even when pages arrive out of order", () => {
    const shuffled = log().reverse();
    expect(foldEvents(nodes, shuffled)).toEqual(foldEvents(nodes, log()));
  });

  it("records skipped nodes and a cancelled run", () => {
    const events: RunEvent[] = [
      { seq: 1, type: "node.skipped", node: "c", actor: "engine", at: 1, data: { cause: "b" } },
      { seq: 2, type: "run.cancelled", actor: "api", at: 2 },
    ];
    const s = foldEvents(nodes, events);
    expect(s.nodes.c?.status).toBe("skipped");
    expect(s.status).toBe("cancelled");
  });

  it("ignores events for nodes it was not given", () => {
    const events: RunEvent[] = [{ seq: 1, type: "node.ready", node: "zz", actor: "engine", at: 1, attempt: 0 }];
    const s = foldEvents(nodes, events);
    expect(Object.keys(s.nodes)).toEqual(["a", "b", "c"]);
    expect(s.counts.pending).toBe(3);
  });

  it.each([-1, 1.5, Number.NaN])("rejects atSeq %s with a ValidationError naming atSeq", (atSeq) => {
    expect(() => foldEvents(nodes, log(), atSeq)).toThrow(ValidationError);
    try {
      foldEvents(nodes, log(), atSeq);
    } catch (err) {
      expect((err as ValidationError).field).toBe("atSeq");
    }
  });
});
