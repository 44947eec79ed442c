import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// Handlers first: they load @hono/zod-openapi before core's schemas exist (see functions/config.ts).
import { handler as archive } from "../../archive.js";
import { handler as api } from "../../api.js";
import { configureRuntime, resetRuntime } from "../../config.js";
import { ensureTable } from "@weft/core/dynamodb";
import { startDynalite, type DynamoServer, startRedis, type RedisProcess } from "@weft/test-support";
import { diamond, finishedEvent, invoke, TENANT_A, uid, waitUntilGoneFromRedis } from "./harness.js";

const eb = mockClient(EventBridgeClient);
let redis: RedisProcess;
let dynamo: DynamoServer;
const HOT_TTL_SECONDS = 1;

beforeAll(async () => {
  eb.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [] });
  [redis, dynamo] = await Promise.all([startRedis(), startDynalite()]);
  await ensureTable(dynamo.client(), "weft-test");
  await configureRuntime({
    env: {
      REDIS_URL: redis.url,
      WEFT_DEV_TENANT: TENANT_A,
      WEFT_TABLE: "weft-test",
      DYNAMODB_ENDPOINT: dynamo.endpoint,
      WEFT_HOT_TTL_SECONDS: String(HOT_TTL_SECONDS),
    },
  });
});
afterAll(async () => {
  await resetRuntime();
  await Promise.all([redis.stop(), dynamo.stop()]);
});

describe("a finished run over its whole life", () => {
  it("is archived on DagFailed, read identically once Redis let it go, and redriven from the archive", async () => {
    const id = uid("life");
    await invoke(api, "POST", "/v1/dags", { body: diamond(id) });
    const [a] = (await invoke(api, "POST", `/v1/agents/${id}-plan/claim`, { body: {} })).json.tasks;
    await invoke(api, "POST", `/v1/dags/${id}/nodes/a/complete`, { body: { leaseToken: a.leaseToken, output: { plan: 1 } } });
    const research = (await invoke(api, "POST", `/v1/agents/${id}-research/claim`, { body: { max: 2 } })).json.tasks;
    const b = research.find((t: { nodeId: string }) => t.nodeId === "b");
    const failed = await invoke(api, "POST", `/v1/dags/${id}/nodes/b/fail`, { body: { leaseToken: b.leaseToken, error: { message: "boom" }, retryable: false } });
    expect(failed.json.runStatus).toBe("failed");

    const hotRun = await invoke(api, "GET", `/v1/dags/${id}`);
    const hotEvents = await invoke(api, "GET", `/v1/dags/${id}/events?limit=1000`);
    expect(await archive(finishedEvent("DagFailed", id))).toMatchObject({ flushed: true, released: true });
    await waitUntilGoneFromRedis(id);

    const coldRun = await invoke(api, "GET", `/v1/dags/${id}`);
    expect(coldRun.status).toBe(200);
    expect(coldRun.json).toEqual(hotRun.json);
    expect((await invoke(api, "GET", `/v1/dags/${id}/events?limit=1000`)).json).toEqual(hotEvents.json);
    const listed = await invoke(api, "GET", "/v1/dags?status=failed");
    expect(listed.json.runs.map((r: { dagId: string }) => r.dagId)).toContain(id);

    const atSubmit = await invoke(api, "GET", `/v1/dags/${id}/history?at=2`);
    expect(atSubmit.json).toMatchObject({ dagId: id, seq: 2, status: "running" });
    expect(atSubmit.json.nodes.find((n: { id: string }) => n.id === "a")).toMatchObject({ status: "ready" });

    const redriven = await invoke(api, "POST", `/v1/dags/${id}/redrive`);
    expect(redriven.status).toBe(200);
    expect(redriven.json.status).toBe("running");
    expect(redriven.json.reset).toEqual(expect.arrayContaining(["b"]));
    expect(redriven.json.reset).not.toContain("a");
    const after = await invoke(api, "GET", `/v1/dags/${id}`);
    expect(after.json.nodes.find((n: { id: string }) => n.id === "a")).toMatchObject({ status: "succeeded", output: { plan: 1 } });
  });

  it("answers 400 for a history seq that is not a number and 422 for one past the log's end", async () => {
    const id = uid("hist");
    await invoke(api, "POST", "/v1/dags", { body: diamond(id) });
    expect((await invoke(api, "GET", `/v1/dags/${id}/history?at=x`)).status).toBe(400);
    expect((await invoke(api, "GET", `/v1/dags/${id}/history?at=999`)).status).toBe(422);
    expect((await invoke(api, "GET", `/v1/dags/nope-${id}/history?at=1`)).status).toBe(404);
  });

  it("rewinds a node of a finished run and its descendants", async () => {
    const id = uid("rewind");
    await invoke(api, "POST", "/v1/dags", { body: { id, nodes: [{ id: "a", agent: `${id}-ag` }, { id: "b", agent: `${id}-ag`, deps: ["a"] }] } });
    for (const n of ["a", "b"]) {
      const [t] = (await invoke(api, "POST", `/v1/agents/${id}-ag/claim`, { body: {} })).json.tasks;
      expect(t.nodeId).toBe(n);
      await invoke(api, "POST", `/v1/dags/${id}/nodes/${n}/complete`, { body: { leaseToken: t.leaseToken, output: n } });
    }
    const r = await invoke(api, "POST", `/v1/dags/${id}/rewind`, { body: { nodeId: "a" } });
    expect(r).toMatchObject({ status: 200, json: { status: "running", ready: ["a"] } });
    expect([...r.json.reset].sort()).toEqual(["a", "b"]);
    expect((await invoke(api, "POST", `/v1/dags/${id}/rewind`, { body: {} })).status).toBe(400);
  });
});
