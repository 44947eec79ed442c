import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from "@aws-sdk/client-eventbridge";
import { mockClient } from "aws-sdk-client-mock";
import "aws-sdk-client-mock-vitest/extend";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { handler as api } from "../../api.js";
import { configureRuntime, getRuntime, resetRuntime } from "../../config.js";
import { handler as reconcile } from "../../reconcile.js";
import { handler as relay } from "../../relay.js";
import { startRedis, type RedisProcess } from "@weft/test-support";
import { diamond, invoke, TENANT_A, uid } from "./harness.js";

const eb = mockClient(EventBridgeClient);
let redis: RedisProcess;

const sent = () =>
  eb
    .commandCalls(PutEventsCommand)
    .flatMap((c) => c.args[0].input.Entries ?? [])
    .map((e) => ({ type: e.DetailType, ...JSON.parse(e.Detail ?? "{}") }) as { type: string; dagId: string; nodeId?: string });
const acceptAll = () =>
  eb.on(PutEventsCommand).callsFake((input: { Entries?: PutEventsRequestEntry[] }) => ({
    FailedEntryCount: 0,
    Entries: (input.Entries ?? []).map((_, i) => ({ EventId: `e${i}` })),
  }));
const outboxOf = async (dagId: string) => (await getRuntime().engine.readOutbox({ limit: 10_000 })).filter((e) => e.dagId === dagId);

beforeAll(async () => {
  redis = await startRedis();
  await configureRuntime({ env: { REDIS_URL: redis.url, WEFT_DEV_TENANT: TENANT_A, WEFT_EVENT_BUS: "weft-test-bus" } });
});
afterAll(async () => {
  await resetRuntime();
  await redis.stop();
});
beforeEach(async () => {
  eb.reset();
  acceptAll();
  await relay(); // start every test with an empty outbox
  eb.resetHistory();
});

describe("events reach EventBridge at least once", () => {
  it("a write whose PutEvents fails still succeeds, and the reconcile cron publishes its events later", async () => {
    eb.on(PutEventsCommand).rejects(Object.assign(new Error("Service unavailable"), { name: "ServiceUnavailable" }));
    const id = uid("eb-down");
    const r = await invoke(api, "POST", "/v1/dags", { body: diamond(id) });
    expect(r.status).toBe(201);
    expect(eb.commandCalls(PutEventsCommand).length).toBeGreaterThan(1); // tried, and retried
    expect((await outboxOf(id)).map((e) => `${e.type}:${e.nodeId}`)).toEqual(["NodeReady:a"]);

    eb.reset();
    acceptAll();
    const result = await reconcile();
    expect(result).toMatchObject({ published: 1, failed: 0 });
    expect(sent()).toMatchObject([{ type: "NodeReady", dagId: id, nodeId: "a" }]);
    expect(await outboxOf(id)).toEqual([]);
  });

  it("a function that dies between the Redis write and PutEvents loses no event: reconcile relays it", async () => {
    const id = uid("crash");
    await invoke(api, "POST", "/v1/dags", { body: diamond(id) });
    const [a] = (await invoke(api, "POST", `/v1/agents/${id}-plan/claim`, { body: {} })).json.tasks;
    eb.resetHistory();
    // What the node handler does before it relays: the Redis write. Then the process is gone.
    await getRuntime().engine.complete(TENANT_A, { dagId: id, nodeId: "a", leaseToken: a.leaseToken }, "done");
    expect(eb).not.toHaveReceivedCommand(PutEventsCommand);
    await resetRuntime(); // a new container, with nothing in memory

    await reconcile();
    expect(sent().map((e) => `${e.type}:${e.nodeId}`).sort()).toEqual(["NodeReady:b", "NodeReady:c", "NodeSucceeded:a"]);
    expect(await outboxOf(id)).toEqual([]);
  });

  it("an entry PutEvents keeps rejecting stays in the outbox alone, and is the only one sent again", async () => {
    eb.on(PutEventsCommand).callsFake((input: { Entries?: PutEventsRequestEntry[] }) => {
      const entries = input.Entries ?? [];
      const bad = entries.map((e) => JSON.parse(e.Detail ?? "{}").nodeId === "y");
      return {
        FailedEntryCount: bad.filter(Boolean).length,
        Entries: entries.map((_, i) => (bad[i] ? { ErrorCode: "InternalFailure", ErrorMessage: "try again" } : { EventId: `e${i}` })),
      };
    });
    const id = uid("partial");
    const spec = { id, nodes: ["x", "y", "z"].map((n) => ({ id: n, agent: `${id}-ag` })) };
    expect((await invoke(api, "POST", "/v1/dags", { body: spec })).status).toBe(201);
    expect((await outboxOf(id)).map((e) => e.nodeId)).toEqual(["y"]);
    const firstRound = sent().filter((e) => e.nodeId !== "y");
    expect(firstRound.map((e) => e.nodeId).sort()).toEqual(["x", "z"]);

    eb.reset();
    acceptAll();
    expect(await relay()).toEqual({ published: 1, failed: 0 });
    expect(sent().map((e) => e.nodeId)).toEqual(["y"]);
    expect(await outboxOf(id)).toEqual([]);
  });

  it("a write through the API costs two Redis calls, the write and the ack of the events it replied, and publishes them", async () => {
    const id = uid("two-calls");
    await invoke(api, "POST", "/v1/dags", { body: diamond(id) });
    const [a] = (await invoke(api, "POST", `/v1/agents/${id}-plan/claim`, { body: {} })).json.tasks;
    eb.resetHistory();
    const redis = getRuntime().redis;
    const calls = redis.calls;
    const r = await invoke(api, "POST", `/v1/dags/${id}/nodes/a/complete`, { body: { leaseToken: a.leaseToken, output: "done" } });
    expect(r.status).toBe(200);
    expect(redis.calls - calls).toBe(2);
    expect(sent().map((e) => `${e.type}:${e.nodeId}`).sort()).toEqual(["NodeReady:b", "NodeReady:c", "NodeSucceeded:a"]);
    expect(await outboxOf(id)).toEqual([]);
  });
});
