import { randomBytes } from "node:crypto";
import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// Handlers first: they load @hono/zod-openapi before core's schemas exist (see functions/config.ts).
import { handler as archive } from "../../archive.js";
import { handler as api } from "../../api.js";
import { configureRuntime, getRuntime, resetRuntime } from "../../config.js";
import { sweepValues } from "../../values.js";
import { DynamoColdStore, ensureTable } from "@weft/core/dynamodb";
import type { BusEvent } from "@weft/core/events";
import { startDynalite, startRedis, startS3, type DynamoServer, type RedisProcess, type S3Server } from "@weft/test-support";
import { invoke, TENANT_A, uid } from "./harness.js";

/**
 * A run's large values go when its retention ends: once Redis let the run go and the cold
 * store's retention passed (a test clock moves it on), the sweep the local emulator runs
 * (deployed: the bucket's lifecycle rule) deletes the run's S3 objects, and only that run's.
 */
const eb = mockClient(EventBridgeClient);
let redis: RedisProcess;
let dynamo: DynamoServer;
let s3: S3Server;
const RETENTION_SECONDS = 3600;
let clockMs = Date.now();

beforeAll(async () => {
  eb.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [] });
  [redis, dynamo, s3] = await Promise.all([startRedis(), startDynalite(), startS3()]);
  await ensureTable(dynamo.client(), "weft-test");
  await configureRuntime({
    env: {
      REDIS_URL: redis.url,
      WEFT_DEV_TENANT: TENANT_A,
      WEFT_TABLE: "weft-test",
      WEFT_HOT_TTL_SECONDS: "1",
      WEFT_VALUES_BUCKET: s3.bucket,
      WEFT_S3_ENDPOINT: s3.endpoint,
    },
    cold: new DynamoColdStore({ client: dynamo.client(), tableName: "weft-test", retentionSeconds: RETENTION_SECONDS, clock: () => clockMs }),
  });
}, 60_000);
afterAll(async () => {
  await resetRuntime();
  await Promise.all([redis?.stop(), dynamo?.stop(), s3?.stop()]);
});

const big = () => ({ text: randomBytes(300_000).toString("base64") });

async function runWithLargeValues(id: string, finish: boolean) {
  const agent = `${id}-ag`;
  await invoke(api, "POST", "/v1/dags", { body: { id, nodes: [{ id: "a", agent, input: big() }] } });
  const [t] = (await invoke(api, "POST", `/v1/agents/${agent}/claim`, { body: {} })).json.tasks;
  if (finish) expect((await invoke(api, "POST", `/v1/dags/${id}/nodes/a/complete`, { body: { leaseToken: t.leaseToken, output: big() } })).json.runStatus).toBe("succeeded");
}

const finished = (dagId: string): BusEvent => ({
  version: "0",
  id: "x",
  "detail-type": "DagSucceeded",
  source: "weft",
  account: "000000000000",
  time: new Date().toISOString(),
  region: "local",
  resources: [],
  detail: { eventId: "0:1-0", tenant: TENANT_A, dagId, at: Date.now() },
});

async function keysOf(dagId: string): Promise<number> {
  // What is left in the bucket under the run's prefix.
  const { ListObjectsV2Command, S3Client } = await import("@aws-sdk/client-s3");
  const c = new S3Client({ endpoint: s3.endpoint, forcePathStyle: true, region: "us-east-1", credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } });
  const page = await c.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `weft/${TENANT_A}/${dagId}/` }));
  c.destroy();
  return page.KeyCount ?? 0;
}

describe("retention of large values", () => {
  it("deletes a run's S3 objects once its retention has ended, and keeps those of runs still kept", async () => {
    const ended = uid("ended");
    const live = uid("live");
    await runWithLargeValues(ended, true);
    await runWithLargeValues(live, false);
    expect(await keysOf(ended)).toBe(2); // its input and its output
    expect(await keysOf(live)).toBe(1);

    // Archived, and let go by Redis: the cold store still has it, so its objects stay.
    expect(await archive(finished(ended))).toMatchObject({ flushed: true, released: true });
    for (let i = 0; i < 100 && (await getRuntime().engine.getRun(TENANT_A, ended).then(() => true, () => false)); i++) await new Promise((r) => setTimeout(r, 100));
    expect((await invoke(api, "GET", `/v1/dags/${ended}`)).json.nodes[0].output).toEqual(expect.objectContaining({ text: expect.any(String) }));
    expect(await sweepValues(getRuntime().values, getRuntime().runs, { graceMs: 0 })).toEqual({ runs: 0, objects: 0 });
    expect(await keysOf(ended)).toBe(2);

    // Its retention passes: the cold store reads it as gone, and the sweep takes its objects.
    clockMs += (RETENTION_SECONDS + 1) * 1000;
    expect((await invoke(api, "GET", `/v1/dags/${ended}`)).status).toBe(404);
    expect(await sweepValues(getRuntime().values, getRuntime().runs, { graceMs: 0 })).toEqual({ runs: 1, objects: 2 });
    expect(await keysOf(ended)).toBe(0);
    expect(await keysOf(live)).toBe(1);
    const kept = await getRuntime().engine.getRun(TENANT_A, live, { include: { input: true } });
    expect(await getRuntime().values.resolver().value(kept.nodes[0]!.input)).toEqual(expect.objectContaining({ text: expect.any(String) }));
  }, 60_000);

  it("keeps an upload no run names yet for the grace period (a submit on its way), then sweeps it", async () => {
    const orphan = uid("orphan");
    const { url } = await getRuntime().values.store!.uploadUrl({ tenant: TENANT_A, dagId: orphan, nodeId: "a", field: "input" }, 2);
    expect((await fetch(url, { method: "PUT", headers: { "content-type": "application/json" }, body: "42" })).status).toBe(200);
    expect(await sweepValues(getRuntime().values, getRuntime().runs)).toMatchObject({ objects: 0 });
    expect(await keysOf(orphan)).toBe(1);
    expect(await sweepValues(getRuntime().values, getRuntime().runs, { graceMs: 0 })).toMatchObject({ runs: 1, objects: 1 });
    expect(await keysOf(orphan)).toBe(0);
  });
});
