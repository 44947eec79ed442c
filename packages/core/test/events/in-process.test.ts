import { describe, expect, it } from "vitest";
import type { OutboxEvent } from "@weft/core";
import { InProcessPublisher, type BusEvent } from "@weft/core/events";

const ev = (over: Partial<OutboxEvent>): OutboxEvent => ({
  id: "1-0",
  shard: 0,
  type: "NodeReady",
  tenant: "acme",
  dagId: "run-1",
  nodeId: "n",
  agent: "research",
  attempt: 0,
  at: 1_700_000_000_000,
  ...over,
});

describe("InProcessPublisher", () => {
  it("delivers EventBridge-shaped events to the subscribers whose pattern matches", async () => {
    const bus = new InProcessPublisher();
    const got: Record<string, BusEvent[]> = { research: [], write: [], finished: [], all: [] };
    bus.subscribe({ detailType: ["NodeReady"], detail: { agent: ["research"] } }, (e) => void got.research!.push(e));
    bus.subscribe({ "detail-type": ["NodeReady"], detail: { agent: ["write"] } }, (e) => void got.write!.push(e));
    bus.subscribe({ source: ["weft"], detailType: ["DagSucceeded", "DagFailed"] }, (e) => void got.finished!.push(e));
    bus.subscribe({}, (e) => void got.all!.push(e));

    await bus.publish([
      ev({ id: "1-0", agent: "research" }),
      ev({ id: "2-0", agent: "write", nodeId: "w" }),
      ev({ id: "3-0", type: "DagSucceeded", nodeId: undefined, agent: undefined, attempt: undefined }),
    ]);
    await bus.drain();

    expect(got.research!.map((e) => e.detail.eventId)).toEqual(["0:1-0"]);
    expect(got.write!.map((e) => e.detail.nodeId)).toEqual(["w"]);
    expect(got.finished!.map((e) => e["detail-type"])).toEqual(["DagSucceeded"]);
    expect(got.all).toHaveLength(3);
    expect(got.research![0]).toMatchObject({
      version: "0",
      source: "weft",
      "detail-type": "NodeReady",
      time: "2023-11-14T22:13:20.000Z",
      detail: { tenant: "acme", dagId: "run-1", nodeId: "n", agent: "research", attempt: 0, at: 1_700_000_000_000 },
    });
  });

  it("delivers after publish returns, like a bus, and drain waits for deliveries they trigger", async () => {
    const bus = new InProcessPublisher();
    const order: string[] = [];
    bus.subscribe({ detailType: ["NodeReady"] }, async (e) => {
      order.push(`ready ${e.detail.nodeId}`);
      if (e.detail.nodeId === "a") await bus.publish([ev({ id: "2-0", nodeId: "b" })]);
    });
    await bus.publish([ev({ nodeId: "a" })]);
    order.push("published");
    await bus.drain();
    expect(order).toEqual(["published", "ready a", "ready b"]);
  });

  it("reports a throwing subscriber without failing the publish or the other subscribers", async () => {
    const errors: unknown[] = [];
    const bus = new InProcessPublisher({ onError: (err) => errors.push(err) });
    const seen: string[] = [];
    bus.subscribe({}, () => {
      throw new Error("agent crashed");
    });
    bus.subscribe({}, (e) => void seen.push(e.detail.eventId));
    expect(await bus.publish([ev({})])).toEqual({ failed: [] });
    await bus.drain();
    expect(seen).toEqual(["0:1-0"]);
    expect(errors).toMatchObject([{ message: "agent crashed" }]);
  });

  it("stops delivering to a subscriber once unsubscribed", async () => {
    const bus = new InProcessPublisher();
    let n = 0;
    const off = bus.subscribe({}, () => void n++);
    await bus.publish([ev({})]);
    await bus.drain();
    off();
    await bus.publish([ev({ id: "2-0" })]);
    await bus.drain();
    expect(n).toBe(1);
  });
});
