import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from "@aws-sdk/client-eventbridge";
import { mockClient } from "aws-sdk-client-mock";
import "aws-sdk-client-mock-vitest/extend";
import { beforeEach, describe, expect, it } from "vitest";
import type { OutboxEvent } from "@weft/core";
import { EventBridgePublisher } from "@weft/core/events";

const eb = mockClient(EventBridgeClient);
const noSleep = async () => {};

function outbox(n: number, type: OutboxEvent["type"] = "NodeReady"): OutboxEvent[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `1700000000000-${i}`,
    shard: 0,
    type,
    tenant: "acme",
    dagId: "run-1",
    nodeId: `n${i}`,
    agent: i % 2 ? "research" : "write",
    attempt: 0,
    at: 1_700_000_000_000 + i,
  }));
}

const entriesOf = (call: number): PutEventsRequestEntry[] => eb.commandCalls(PutEventsCommand)[call]!.args[0].input.Entries ?? [];
const accepted = (entries: PutEventsRequestEntry[] | undefined) => (entries ?? []).map((_, i) => ({ EventId: `ev-${i}` }));

describe("EventBridgePublisher", () => {
  beforeEach(() => {
    eb.reset();
    eb.on(PutEventsCommand).callsFake((input: { Entries?: PutEventsRequestEntry[] }) => ({ FailedEntryCount: 0, Entries: accepted(input.Entries) }));
  });

  it("sends at most 10 entries per PutEvents call, in order", async () => {
    const pub = new EventBridgePublisher({ eventBusName: "weft-bus", sleep: noSleep });
    const { failed } = await pub.publish(outbox(23));
    expect(failed).toEqual([]);
    expect(eb).toHaveReceivedCommandTimes(PutEventsCommand, 3);
    expect([0, 1, 2].map((c) => entriesOf(c).length)).toEqual([10, 10, 3]);
    expect([0, 1, 2].flatMap((c) => entriesOf(c).map((e) => JSON.parse(e.Detail!).nodeId))).toEqual(outbox(23).map((e) => e.nodeId));
  });

  it("puts references only, routable by detail-type and agent", async () => {
    await new EventBridgePublisher({ eventBusName: "weft-bus", sleep: noSleep }).publish(outbox(1));
    expect(eb).toHaveReceivedCommandWith(PutEventsCommand, {
      Entries: [
        {
          EventBusName: "weft-bus",
          Source: "weft",
          DetailType: "NodeReady",
          Time: new Date(1_700_000_000_000),
          Detail: JSON.stringify({ eventId: "0:1700000000000-0", tenant: "acme", dagId: "run-1", at: 1_700_000_000_000, nodeId: "n0", agent: "write", attempt: 0 }),
        },
      ],
    });
  });

  it("retries only the entries PutEvents reports as failed, then succeeds", async () => {
    eb.on(PutEventsCommand)
      .resolvesOnce({
        FailedEntryCount: 2,
        Entries: [{ EventId: "a" }, { ErrorCode: "ThrottlingException", ErrorMessage: "slow down" }, { EventId: "c" }, { ErrorCode: "InternalFailure" }],
      })
      .resolves({ FailedEntryCount: 0, Entries: [{ EventId: "b" }, { EventId: "d" }] });
    const sleeps: number[] = [];
    const pub = new EventBridgePublisher({ eventBusName: "weft-bus", sleep: async (ms) => void sleeps.push(ms) });
    const { failed } = await pub.publish(outbox(4));
    expect(failed).toEqual([]);
    expect(eb).toHaveReceivedCommandTimes(PutEventsCommand, 2);
    expect(entriesOf(1).map((e) => JSON.parse(e.Detail!).nodeId)).toEqual(["n1", "n3"]);
    expect(sleeps).toHaveLength(1);
  });

  it("returns the entries that still fail after the retries, and only those", async () => {
    eb.on(PutEventsCommand).callsFake((input: { Entries?: PutEventsRequestEntry[] }) => ({
      FailedEntryCount: 1,
      Entries: (input.Entries ?? []).map((e) => (JSON.parse(e.Detail!).nodeId === "n2" ? { ErrorCode: "InternalFailure" } : { EventId: "x" })),
    }));
    const sleeps: number[] = [];
    const pub = new EventBridgePublisher({ eventBusName: "weft-bus", retries: 3, backoffMs: 100, sleep: async (ms) => void sleeps.push(ms) });
    const { failed } = await pub.publish(outbox(3));
    expect(failed.map((e) => e.nodeId)).toEqual(["n2"]);
    expect(eb).toHaveReceivedCommandTimes(PutEventsCommand, 4);
    // Exponential backoff with jitter: each wait in [base/2, base], base doubling.
    expect(sleeps).toHaveLength(3);
    sleeps.forEach((ms, i) => {
      const base = 100 * 2 ** i;
      expect(ms).toBeGreaterThanOrEqual(base / 2);
      expect(ms).toBeLessThanOrEqual(base);
    });
  });

  it("treats a PutEvents call that throws as every entry failed, and retries it", async () => {
    eb.on(PutEventsCommand)
      .rejectsOnce(Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" }))
      .resolves({ FailedEntryCount: 0, Entries: [{ EventId: "a" }, { EventId: "b" }] });
    const { failed } = await new EventBridgePublisher({ eventBusName: "weft-bus", sleep: noSleep }).publish(outbox(2));
    expect(failed).toEqual([]);
    expect(eb).toHaveReceivedCommandTimes(PutEventsCommand, 2);
    expect(entriesOf(1)).toHaveLength(2);
  });

  it("gives up on a batch that keeps throwing without touching the other batches", async () => {
    let call = 0;
    eb.on(PutEventsCommand).callsFake((input: { Entries?: PutEventsRequestEntry[] }) => {
      call++;
      if (JSON.parse(input.Entries![0]!.Detail!).nodeId === "n0") throw new Error("network down");
      return { FailedEntryCount: 0, Entries: accepted(input.Entries) };
    });
    const { failed } = await new EventBridgePublisher({ eventBusName: "weft-bus", retries: 2, sleep: noSleep }).publish(outbox(12));
    expect(failed.map((e) => e.nodeId)).toEqual(outbox(10).map((e) => e.nodeId));
    expect(call).toBe(3 + 1);
  });
});
