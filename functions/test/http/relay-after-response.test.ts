import type { OutboxEvent } from "@weft/core";
import type { EventPublisher } from "@weft/core/events";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { handler as api } from "../../api.js";
import { configFromEnv, configureRuntime, getRuntime, resetRuntime } from "../../config.js";
import { settleBackground } from "../../http/after-response.js";
import { handler as relay } from "../../relay.js";
import { startRedis, type RedisProcess } from "@weft/test-support";
import { diamond, invoke, TENANT_A, uid } from "./harness.js";

/**
 * WEFT_RELAY_AFTER_RESPONSE (the local emulator's mode): a write answers without waiting for
 * the relay of its events, whose acks are coalesced; the outbox keeps every event until acked,
 * so a process gone before the relay finished loses nothing (invariant 6).
 */

/** A bus whose publishes wait until released (EventBridge's stand-in: a slow or hung PutEvents). */
class GatedBus implements EventPublisher {
  sent: OutboxEvent[] = [];
  fail = false;
  private gate: Promise<void> = Promise.resolve();
  private open: () => void = () => {};
  hold(): void {
    this.gate = new Promise((res) => (this.open = res));
  }
  release(): void {
    this.open();
  }
  async publish(events: OutboxEvent[]): Promise<{ failed: OutboxEvent[] }> {
    await this.gate;
    if (this.fail) return { failed: events };
    this.sent.push(...events);
    return { failed: [] };
  }
}

let redis: RedisProcess;
const bus = new GatedBus();
const env = () => ({ REDIS_URL: redis.url, WEFT_DEV_TENANT: TENANT_A, WEFT_RELAY_AFTER_RESPONSE: "1" });
const outboxOf = async (dagId: string) => (await getRuntime().engine.readOutbox({ limit: 10_000 })).filter((e) => e.dagId === dagId);
const kinds = (events: OutboxEvent[], dagId: string) =>
  events
    .filter((e) => e.dagId === dagId)
    .map((e) => `${e.type}:${e.nodeId ?? ""}`)
    .sort();

beforeAll(async () => {
  redis = await startRedis();
  await configureRuntime({ env: env(), publisher: bus });
});
afterAll(async () => {
  bus.release();
  await settleBackground();
  await resetRuntime();
  await redis.stop();
});
beforeEach(async () => {
  bus.release();
  bus.fail = false;
  await settleBackground();
  await relay();
  bus.sent = [];
});

describe("the relay after the response (local emulator mode)", () => {
  it("a completion answers while PutEvents still hangs; its events are published and acked after, the acks of two writes in one call", async () => {
    const id = uid("after");
    await invoke(api, "POST", "/v1/dags", { body: diamond(id) });
    const [a] = (await invoke(api, "POST", `/v1/agents/${id}-plan/claim`, { body: {} })).json.tasks;
    await settleBackground();
    bus.sent = [];
    bus.hold();
    const rt = getRuntime();
    const calls = rt.redis.calls;
    const r = await invoke(api, "POST", `/v1/dags/${id}/nodes/a/complete`, { body: { leaseToken: a.leaseToken, output: "done" } });
    expect(r.status).toBe(200);
    // The write only: the publish has not returned, nothing is acked yet.
    expect(rt.redis.calls - calls).toBe(1);
    expect(kinds(bus.sent, id)).toEqual([]);
    expect(kinds(await outboxOf(id), id)).toEqual(["NodeReady:b", "NodeReady:c", "NodeSucceeded:a"]);

    const [b, c] = (await invoke(api, "POST", `/v1/agents/${id}-research/claim`, { body: { max: 2 } })).json.tasks;
    await invoke(api, "POST", `/v1/dags/${id}/nodes/${b.nodeId}/complete`, { body: { leaseToken: b.leaseToken, output: 1 } });
    await invoke(api, "POST", `/v1/dags/${id}/nodes/${c.nodeId}/complete`, { body: { leaseToken: c.leaseToken, output: 2 } });
    const beforeRelease = rt.redis.calls;
    bus.release();
    await settleBackground();
    expect(kinds(bus.sent, id)).toEqual(["NodeReady:b", "NodeReady:c", "NodeReady:d", "NodeSucceeded:a", "NodeSucceeded:b", "NodeSucceeded:c"]);
    bus.sent = [];
    // Three writes' events, acked together: one ack call per shard (one shard here).
    expect(rt.redis.calls - beforeRelease).toBe(1);
    expect(await outboxOf(id)).toEqual([]);
  });

  it("a process gone before its relay finished loses no event: the reconcile relay publishes them from the outbox", async () => {
    const id = uid("after-crash");
    bus.hold();
    expect((await invoke(api, "POST", "/v1/dags", { body: diamond(id) })).status).toBe(201);
    expect(kinds(await outboxOf(id), id)).toEqual(["NodeReady:a"]);
    // The container is frozen for good with the publish in flight; a new one starts.
    const fresh = new GatedBus();
    await configureRuntime({ env: env(), publisher: fresh });
    expect(await relay()).toMatchObject({ published: 1, failed: 0 });
    expect(kinds(fresh.sent, id)).toEqual(["NodeReady:a"]);
    expect(await outboxOf(id)).toEqual([]);
    await configureRuntime({ env: env(), publisher: bus });
  });

  it("a publish that fails after the response leaves the events in the outbox for the next relay", async () => {
    const id = uid("after-fail");
    bus.fail = true;
    expect((await invoke(api, "POST", "/v1/dags", { body: diamond(id) })).status).toBe(201);
    await settleBackground();
    expect(kinds(await outboxOf(id), id)).toEqual(["NodeReady:a"]);
    bus.fail = false;
    expect(await relay()).toMatchObject({ published: 1, failed: 0 });
    expect(kinds(bus.sent, id)).toEqual(["NodeReady:a"]);
  });

  it("WEFT_RELAY_AFTER_RESPONSE takes 1/true/0/false; anything else is refused naming the variable; off by default", () => {
    const base = { REDIS_URL: "redis://127.0.0.1:1", WEFT_DEV_TENANT: TENANT_A };
    expect(configFromEnv(base).relayAfterResponse).toBeUndefined();
    expect(configFromEnv({ ...base, WEFT_RELAY_AFTER_RESPONSE: "true" }).relayAfterResponse).toBe(true);
    expect(configFromEnv({ ...base, WEFT_RELAY_AFTER_RESPONSE: "0" }).relayAfterResponse).toBeUndefined();
    expect(() => configFromEnv({ ...base, WEFT_RELAY_AFTER_RESPONSE: "yes" })).toThrow(expect.objectContaining({ field: "WEFT_RELAY_AFTER_RESPONSE" }));
  });
});
