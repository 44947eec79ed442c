import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createEngine, type Engine, type OutboxEvent } from "@weft/core";
import { type EventPublisher, relayEvents, relayOutbox } from "@weft/core/events";
import { keySchema, TcpRedis } from "@weft/core/redis";
import { startRedis, type RedisProcess } from "@weft/test-support";

/** Records what it is given; fails the events `failIf` selects. */
class RecordingPublisher implements EventPublisher {
  sent: OutboxEvent[] = [];
  constructor(private readonly failIf: (e: OutboxEvent) => boolean = () => false) {}
  async publish(events: OutboxEvent[]) {
    const failed = events.filter(this.failIf);
    this.sent.push(...events.filter((e) => !this.failIf(e)));
    return { failed };
  }
}

const diamond = (id: string) => ({
  id,
  nodes: [
    { id: "a", agent: "plan" },
    { id: "b", agent: "research", deps: ["a"] },
    { id: "c", agent: "research", deps: ["a"] },
    { id: "d", agent: "write", deps: ["b", "c"] },
  ],
});

/** Three independent roots: three NodeReady events on submit. */
const fan = (id: string) => ({ id, nodes: ["x", "y", "z"].map((n) => ({ id: n, agent: "research" })) });

let redis: RedisProcess;
let engine: Engine;
let port: TcpRedis;

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
});
beforeEach(async () => {
  port = new TcpRedis({ url: redis.url });
  engine = createEngine({ redis: port });
  // Every test starts from an empty outbox.
  await engine.ackOutbox(await engine.readOutbox({ limit: 10_000 }));
});
afterEach(async () => {
  await engine.close();
});

describe("relayOutbox", () => {
  it("publishes outbox events and acks them, so a second relay sends nothing", async () => {
    await engine.submit("acme", diamond("r1"));
    const pub = new RecordingPublisher();
    expect(await relayOutbox(engine, pub)).toEqual({ published: 1, failed: 0 });
    expect(pub.sent).toMatchObject([{ type: "NodeReady", tenant: "acme", dagId: "r1", nodeId: "a", agent: "plan" }]);
    expect(await engine.readOutbox()).toEqual([]);
    expect(await relayOutbox(engine, pub)).toEqual({ published: 0, failed: 0 });
  });

  it("leaves what failed to publish in the outbox and sends only that next time", async () => {
    await engine.submit("acme", fan("r2"));
    let broken = true;
    const pub = new RecordingPublisher((e) => broken && e.nodeId === "y");
    expect(await relayOutbox(engine, pub)).toEqual({ published: 2, failed: 1 });
    expect((await engine.readOutbox()).map((e) => e.nodeId)).toEqual(["y"]);

    broken = false;
    expect(await relayOutbox(engine, pub)).toEqual({ published: 1, failed: 0 });
    expect(pub.sent.map((e) => e.nodeId).sort()).toEqual(["x", "y", "z"]);
    expect(await engine.readOutbox()).toEqual([]);
  });

  it("re-sends events whose ack was lost to a crash after publishing (at-least-once)", async () => {
    await engine.submit("acme", fan("r3"));
    const pub = new RecordingPublisher();
    const crashing: Engine = { ...engine, ackOutbox: async () => Promise.reject(new Error("process died before ack")) };
    await expect(relayOutbox(crashing, pub)).rejects.toThrow("process died");
    expect(pub.sent).toHaveLength(3);

    expect(await relayOutbox(engine, pub)).toEqual({ published: 3, failed: 0 });
    expect(pub.sent.map((e) => e.nodeId).sort()).toEqual(["x", "x", "y", "y", "z", "z"]);
    expect(await engine.readOutbox()).toEqual([]);
  });

  it("reads at most maxBatches batches, leaving the rest for the next relay", async () => {
    await engine.submit("acme", fan("r4"));
    const pub = new RecordingPublisher();
    expect(await relayOutbox(engine, pub, { batchSize: 1, maxBatches: 2 })).toEqual({ published: 2, failed: 0 });
    expect(await engine.readOutbox()).toHaveLength(1);
  });

  it("relays one shard without touching the others", async () => {
    const sharded = createEngine({ redis: new TcpRedis({ url: redis.url }), shardCount: 4, prefix: "relay4" });
    try {
      const keys = keySchema("relay4", 4);
      const ids = Array.from({ length: 12 }, (_, i) => `s${i}`);
      for (const id of ids) await sharded.submit("acme", { id, nodes: [{ id: "n", agent: "a" }] });
      const target = keys.shardOf("acme", "s0");
      const expected = ids.filter((id) => keys.shardOf("acme", id) === target);
      const pub = new RecordingPublisher();
      expect(await relayOutbox(sharded, pub, { shard: target })).toEqual({ published: expected.length, failed: 0 });
      expect(pub.sent.map((e) => e.dagId).sort()).toEqual(expected.sort());
      expect(await sharded.readOutbox()).toHaveLength(ids.length - expected.length);
    } finally {
      await sharded.close();
    }
  });
});

describe("relaying a write's own outbox events (Engine.outboxScope, relayEvents)", () => {
  it("a write in a scope replies the events it added; publishing and acking them takes one call, with no outbox read", async () => {
    const pub = new RecordingPublisher();
    const result = await engine.outboxScope(async () => {
      await engine.submit("acme", fan("w1"));
      const written = engine.takeOutbox()!;
      expect(written.map((e) => `${e.type}:${e.nodeId}`).sort()).toEqual(["NodeReady:x", "NodeReady:y", "NodeReady:z"]);
      // The same ids the outbox itself gives (what subscribers dedupe on and acks remove).
      expect(written.map((e) => e.id).sort()).toEqual((await engine.readOutbox()).map((e) => e.id).sort());
      expect(engine.takeOutbox()).toEqual([]); // taken once
      const calls = port.calls;
      const r = await relayEvents(engine, pub, written);
      expect(port.calls - calls).toBe(1);
      return r;
    });
    expect(result).toEqual({ published: 3, failed: 0 });
    expect(await engine.readOutbox()).toEqual([]);
    expect(engine.takeOutbox()).toBeUndefined(); // outside any scope
  });

  it("what fails to publish, or is never relayed because the process died, stays in the outbox for the relay", async () => {
    const broken = new RecordingPublisher((e) => e.nodeId === "y");
    await engine.outboxScope(async () => {
      await engine.submit("acme", fan("w2"));
      expect(await relayEvents(engine, broken, engine.takeOutbox()!)).toEqual({ published: 2, failed: 1 });
      await engine.submit("acme", fan("w3")); // replied, then "the process dies": never published
    });
    const pub = new RecordingPublisher();
    expect(await relayOutbox(engine, pub)).toEqual({ published: 4, failed: 0 });
    expect(pub.sent.map((e) => `${e.dagId}:${e.nodeId}`).sort()).toEqual(["w2:y", "w3:x", "w3:y", "w3:z"]);
  });

  it("acks through the given ack: a write's relay and a racing outbox relay both publish, only the first ack removes", async () => {
    const acks: [string[], number][] = [];
    const ack = async (events: OutboxEvent[]) => void acks.push([events.map((e) => e.nodeId!).sort(), await engine.ackOutbox(events)]);
    await engine.outboxScope(async () => {
      await engine.submit("acme", fan("w6"));
      const written = engine.takeOutbox()!;
      // The cron's relay reads the same events before the write's relay acks them.
      expect(await relayOutbox(engine, new RecordingPublisher(), { ack })).toEqual({ published: 3, failed: 0 });
      expect(await relayEvents(engine, new RecordingPublisher(), written, ack)).toEqual({ published: 3, failed: 0 });
    });
    expect(acks).toEqual([
      [["x", "y", "z"], 3],
      [["x", "y", "z"], 0],
    ]);
  });

  it("a scope sees only its own writes, not those of concurrent work outside it", async () => {
    const inside = engine.outboxScope(async () => {
      await engine.submit("acme", fan("w4"));
      return engine.takeOutbox()!;
    });
    await engine.submit("acme", fan("w5"));
    expect(new Set((await inside).map((e) => e.dagId))).toEqual(new Set(["w4"]));
  });
});
