import { createHash, randomBytes } from "node:crypto";
import { ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// Handlers first: they load @hono/zod-openapi before core's schemas exist (see functions/config.ts).
import { handler as archive } from "../../archive.js";
import { handler as api } from "../../api.js";
import { configureRuntime, getRuntime, resetRuntime } from "../../config.js";
import { sweepValues } from "../../values.js";
import { DynamoColdStore, ensureTable } from "@weft/core/dynamodb";
import { isValueRef, MAX_VALUE_BYTES } from "@weft/core/values";
import { startDynalite, startRedis, startS3, type DynamoServer, type RedisProcess, type S3Server } from "@weft/test-support";
import { startTestGateway } from "./gateway.js";
import { finishedEvent, invoke, KEY_A, KEY_B, TENANT_A, uid, waitUntilGoneFromRedis } from "./harness.js";

/**
 * Large inputs and outputs (M13 item 6) through the local API Gateway (real fetch) and the
 * API Lambda, against real Redis, dynalite and s3rver: above the threshold a value goes to
 * S3, Redis, the cold store and the events keep its reference, and every read gives the
 * value back (or its presigned URL); the objects go when the run's retention ends.
 */
const eb = mockClient(EventBridgeClient);
let redis: RedisProcess;
let dynamo: DynamoServer;
let s3: S3Server;
let gw: Awaited<ReturnType<typeof startTestGateway>>;
/** The cold store's clock runs this far ahead: the retention test moves it past a run's retention. */
const RETENTION_SECONDS = 3600;
let clockAheadMs = 0;

beforeAll(async () => {
  eb.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [] });
  [redis, dynamo, s3] = await Promise.all([startRedis(), startDynalite(), startS3()]);
  await ensureTable(dynamo.client(), "weft-test");
  await configureRuntime({
    env: {
      REDIS_URL: redis.url,
      WEFT_API_KEYS: `${KEY_A}:acme,${KEY_B}:globex`,
      WEFT_TABLE: "weft-test",
      WEFT_HOT_TTL_SECONDS: "1",
      WEFT_VALUES_BUCKET: s3.bucket,
      WEFT_S3_ENDPOINT: s3.endpoint,
      // Suspends answer a signal token (POST /v1/signals/{token}).
      WEFT_SIGNING_SECRET: "a signing secret of at least 32 characters, for tests",
    },
    cold: new DynamoColdStore({ client: dynamo.client(), tableName: "weft-test", retentionSeconds: RETENTION_SECONDS, clock: () => Date.now() + clockAheadMs }),
  });
  gw = await startTestGateway();
}, 60_000);
afterAll(async () => {
  await gw?.close();
  await resetRuntime();
  await Promise.all([redis?.stop(), dynamo?.stop(), s3?.stop()]);
});

/** The same request through the local gateway (fetch) and, for reads, also the Lambda handler. */
async function http(method: string, path: string, body?: unknown, key = KEY_A) {
  const res = await fetch(gw.baseUrl + path, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, text, json: text ? JSON.parse(text) : undefined };
}

/** About `bytes` of JSON that does not compress (an LLM's long answer, base64 here). */
const bigValue = (bytes: number) => ({ text: randomBytes(Math.ceil((bytes * 3) / 4)).toString("base64").slice(0, bytes) });

async function claim(agent: string, key = KEY_A) {
  const r = await http("POST", `/v1/agents/${agent}/claim`, {}, key);
  expect(r.status).toBe(200);
  return r.json.tasks[0] as { dagId: string; nodeId: string; leaseToken: string; input: unknown };
}

describe("a 5 MB output", () => {
  it("round-trips through S3: Redis and the events hold a reference, GET, parents() and the cold store give it back", async () => {
    const id = uid("big");
    const agent = `${id}-ag`;
    expect((await http("POST", "/v1/dags", { id, nodes: [{ id: "a", agent }, { id: "b", agent, deps: ["a"] }] })).status).toBe(201);
    const a = await claim(agent);
    const output = bigValue(5_000_000);
    const done1 = await http("POST", `/v1/dags/${id}/nodes/a/complete`, { leaseToken: a.leaseToken, output });
    expect(done1).toMatchObject({ status: 200, json: { duplicate: false, ready: ["b"] } });
    // The same completion again (an answer lost): the same reference, so a duplicate, not a conflict.
    expect((await http("POST", `/v1/dags/${id}/nodes/a/complete`, { leaseToken: a.leaseToken, output })).json).toMatchObject({ duplicate: true });

    // Redis keeps the reference, the object holds the value.
    const hot = await getRuntime().engine.getRun(TENANT_A, id);
    const ref = hot.nodes.find((n) => n.id === "a")!.output;
    expect(isValueRef(ref)).toBe(true);
    expect(ref).toEqual({ $weftValue: { key: expect.stringMatching(new RegExp(`^weft/acme/${id}/a/output-[0-9a-f]{64}\\.json$`)), bytes: JSON.stringify(output).length } });
    expect(await getRuntime().values.store!.get((ref as { $weftValue: { key: string; bytes: number } }).$weftValue)).toBe(JSON.stringify(output));
    // The log carries no value (an event names the node, not its output).
    const events = await http("GET", `/v1/dags/${id}/events?limit=100`);
    expect(events.text.length).toBeLessThan(10_000);

    // GET through the gateway and the Lambda, and parents() of the child, give the value back.
    const viaGateway = await http("GET", `/v1/dags/${id}`);
    expect(viaGateway.json.nodes[0]).toMatchObject({ id: "a", status: "succeeded", output });
    const viaLambda = await invoke(api, "GET", `/v1/dags/${id}`);
    expect(viaLambda.json.nodes[0].output).toEqual(output);
    const b = await claim(agent);
    expect((await http("GET", `/v1/dags/${id}/nodes/b/parents`)).json.parents).toEqual({ a: output });
    // On request, a presigned URL instead (the dashboard, very large values).
    const asUrl = await http("GET", `/v1/dags/${id}?values=url`);
    const urlRef = asUrl.json.nodes[0].output.$weftValue;
    expect(urlRef).toMatchObject({ key: expect.any(String), bytes: JSON.stringify(output).length, url: expect.stringMatching(/^http/) });
    expect(await (await fetch(urlRef.url)).json()).toEqual(output);

    // Archived, then let go by Redis: the cold store's copy still resolves.
    expect((await http("POST", `/v1/dags/${id}/nodes/b/complete`, { leaseToken: b.leaseToken, output: "ok" })).json.runStatus).toBe("succeeded");
    expect(await archive(finishedEvent("DagSucceeded", id))).toMatchObject({ flushed: true, released: true });
    await waitUntilGoneFromRedis(id);
    const cold = await http("GET", `/v1/dags/${id}`);
    expect(cold.status).toBe(200);
    expect(cold.json.nodes.map((n: { output: unknown }) => n.output)).toEqual([output, "ok"]);
    expect((await invoke(api, "GET", `/v1/dags/${id}`)).json.nodes[0].output).toEqual(output);
  }, 60_000);
});

describe("large inputs", () => {
  it("a submit's large input goes to S3 and comes back with the claimed task; a replay is the same run", async () => {
    const agent = uid("in-ag");
    const input = bigValue(400_000);
    const spec = { idempotencyKey: uid("key"), nodes: [{ id: "a", agent, input }] };
    const first = await http("POST", "/v1/dags", spec);
    expect(first).toMatchObject({ status: 201, json: { created: true } });
    expect((await http("POST", "/v1/dags", spec)).json).toMatchObject({ status: "running", created: false, dagId: first.json.dagId });
    const hot = await getRuntime().engine.getRun(TENANT_A, first.json.dagId, { include: { input: true } });
    expect(isValueRef(hot.nodes[0]!.input)).toBe(true);
    const task = await claim(agent);
    expect(task).toMatchObject({ dagId: first.json.dagId, nodeId: "a", input });
    expect((await http("GET", `/v1/dags/${first.json.dagId}?include=input`)).json.nodes[0].input).toEqual(input);
  }, 30_000);

  it("a run without id or idempotencyKey gets its id at the edge, so its large input has a home", async () => {
    const agent = uid("noid");
    const r = await http("POST", "/v1/dags", { nodes: [{ id: "a", agent, input: bigValue(300_000) }] });
    expect(r.status).toBe(201);
    const ref = (await getRuntime().engine.getRun(TENANT_A, r.json.dagId, { include: { input: true } })).nodes[0]!.input as { $weftValue: { key: string } };
    expect(ref.$weftValue.key.startsWith(`weft/acme/${r.json.dagId}/a/input-`)).toBe(true);
  });
});

describe("uploads of values too big for a request", () => {
  it("an 8 MB output uploaded to a presigned URL is completed by reference and read back past the inline budget by URL", async () => {
    const id = uid("up");
    const agent = `${id}-ag`;
    await http("POST", "/v1/dags", { id, nodes: [{ id: "a", agent }] });
    const a = await claim(agent);
    const json = JSON.stringify(bigValue(8_000_000));
    const up = await http("POST", `/v1/dags/${id}/nodes/a/uploads`, { field: "output", bytes: Buffer.byteLength(json) });
    expect(up).toMatchObject({ status: 200, json: { method: "PUT", ref: { $weftValue: { bytes: Buffer.byteLength(json) } } } });
    expect((await fetch(up.json.url, { method: "PUT", headers: up.json.headers, body: json })).status).toBe(200);
    expect((await http("POST", `/v1/dags/${id}/nodes/a/complete`, { leaseToken: a.leaseToken, output: up.json.ref })).status).toBe(200);
    // With the JSON's SHA-256 the key is the one the API would give the value: a retried upload and completion are the same reference.
    const sha256 = createHash("sha256").update(json).digest("hex");
    const again = await http("POST", `/v1/dags/${id}/nodes/a/uploads`, { field: "output", bytes: Buffer.byteLength(json), sha256 });
    expect(again.json.ref.$weftValue.key).toBe(`weft/acme/${id}/a/output-${sha256}.json`);
    expect((await http("POST", `/v1/dags/${id}/nodes/a/uploads`, { field: "output", bytes: 10, sha256: "NOT-HEX" })).json.error).toMatchObject({ field: "sha256" });
    // 8 MB is past what one response inlines (Lambda answers at most 6 MB): a reference with its URL.
    const got = (await http("GET", `/v1/dags/${id}`)).json.nodes[0].output.$weftValue;
    expect(got).toMatchObject({ key: up.json.ref.$weftValue.key, bytes: Buffer.byteLength(json) });
    expect(await (await fetch(got.url)).text()).toBe(json);
  }, 30_000);

  it("answers 413 naming the field for a value over 100 MB, declared or stored", async () => {
    const id = uid("huge");
    const agent = `${id}-ag`;
    await http("POST", "/v1/dags", { id, nodes: [{ id: "a", agent }] });
    const a = await claim(agent);
    const declared = await http("POST", `/v1/dags/${id}/nodes/a/uploads`, { field: "output", bytes: MAX_VALUE_BYTES + 1 });
    expect(declared).toMatchObject({ status: 413, json: { error: { code: "payload_too_large", field: "output" } } });
    // An uploader that ignores the declared size: 100 MB + 1 streamed to the node's own prefix
    // (never held in memory), then referenced. The API reads its size, not its bytes.
    const key = `weft/acme/${id}/a/output-streamed.json`;
    const client = new S3Client({ endpoint: s3.endpoint, forcePathStyle: true, region: "us-east-1", credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } });
    async function* chunks() {
      const chunk = Buffer.alloc(1024 * 1024, 0x61);
      for (let i = 0; i < 100; i++) yield chunk;
      yield Buffer.from("b");
    }
    const { Readable } = await import("node:stream");
    await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: Readable.from(chunks()), ContentLength: MAX_VALUE_BYTES + 1 }));
    client.destroy();
    const refused = await http("POST", `/v1/dags/${id}/nodes/a/complete`, { leaseToken: a.leaseToken, output: { $weftValue: { key, bytes: 10 } } });
    expect(refused).toMatchObject({ status: 413, json: { error: { code: "payload_too_large", field: "output" } } });
    expect((await http("GET", `/v1/dags/${id}`)).json.nodes[0].status).toBe("running");
  }, 120_000);
});

describe("hostile references", () => {
  it("refuses, with a 4xx naming the field, a reference to another tenant's object, another run's, or none; nothing changes", async () => {
    // globex's own large output, stored the ordinary way.
    const theirs = uid("theirs");
    await http("POST", "/v1/dags", { id: theirs, nodes: [{ id: "a", agent: `${theirs}-ag` }] }, KEY_B);
    const t = await claim(`${theirs}-ag`, KEY_B);
    await http("POST", `/v1/dags/${theirs}/nodes/a/complete`, { leaseToken: t.leaseToken, output: bigValue(300_000) }, KEY_B);
    const secret = (await getRuntime().engine.getRun("globex", theirs)).nodes[0]!.output as { $weftValue: { key: string; bytes: number } };
    expect(secret.$weftValue.key.startsWith(`weft/globex/${theirs}/`)).toBe(true);

    const id = uid("forge");
    const agent = `${id}-ag`;
    await http("POST", "/v1/dags", { id, nodes: [{ id: "a", agent }] });
    const other = uid("other");
    await http("POST", "/v1/dags", { id: other, nodes: [{ id: "a", agent: `${other}-ag` }] });
    const a = await claim(agent);
    const forged = [
      secret,
      { $weftValue: { key: `weft/acme/${id}/../../globex/${theirs}/a/x.json`, bytes: 1 } },
      { $weftValue: { key: `weft/acme/${other}/a/output-x.json`, bytes: 1 } },
      { $weftValue: { key: `weft/acme/${id}/a/output-never-uploaded.json`, bytes: 1 } },
      { $weftValue: { key: 42, bytes: 1 } },
    ];
    for (const output of forged) {
      const r = await http("POST", `/v1/dags/${id}/nodes/a/complete`, { leaseToken: a.leaseToken, output });
      expect(r.status, JSON.stringify(output)).toBe(422);
      expect(r.json.error).toMatchObject({ code: "validation", field: "output" });
    }
    const sub = await http("POST", "/v1/dags", { id: uid("forge-in"), nodes: [{ id: "a", agent, input: secret }] });
    expect(sub).toMatchObject({ status: 422, json: { error: { field: "nodes[0].input" } } });
    expect((await http("GET", `/v1/dags/${id}`)).json.nodes[0]).toMatchObject({ status: "running" });
    // A url a caller sends back is not trusted either: only the key is kept, and checked.
    expect((await invoke(api, "POST", `/v1/dags/${id}/nodes/a/complete`, { body: { leaseToken: a.leaseToken, output: secret } })).status).toBe(422);
  }, 30_000);
});

describe("large values of waits and signals", () => {
  type Ref = { $weftValue: { key: string; bytes: number } };
  const keyOf = (v: unknown) => (v as Ref).$weftValue.key;

  it("a suspending agent's large input and the large signal that resumes it go to S3; the resumed task and GET give them back", async () => {
    const id = uid("susp");
    const agent = `${id}-ag`;
    await http("POST", "/v1/dags", { id, nodes: [{ id: "a", agent }] });
    const a = await claim(agent);
    const ask = bigValue(400_000);
    const suspended = await http("POST", `/v1/dags/${id}/nodes/a/suspend`, { leaseToken: a.leaseToken, wait: {}, input: ask });
    expect(suspended).toMatchObject({ status: 200, json: { status: "waiting" } });
    // Redis keeps a reference; the log's node.waiting carries the reference, not the value.
    const hot = (await getRuntime().engine.getRun(TENANT_A, id, { include: { input: true } })).nodes[0]!;
    expect(keyOf(hot.wait?.input)).toMatch(new RegExp(`^weft/acme/${id}/a/input-[0-9a-f]{64}\\.json$`));
    expect((await http("GET", `/v1/dags/${id}/events?limit=100`)).text.length).toBeLessThan(10_000);
    expect((await http("GET", `/v1/dags/${id}?include=input`)).json.nodes[0].wait.input).toEqual(ask);

    const answer = bigValue(500_000);
    expect(await http("POST", `/v1/dags/${id}/nodes/a/signal`, { output: answer, by: "ana" })).toMatchObject({ status: 200, json: { status: "ready" } });
    const signalled = (await getRuntime().engine.getRun(TENANT_A, id)).nodes[0]!;
    expect(keyOf(signalled.signal?.output)).toMatch(new RegExp(`^weft/acme/${id}/a/output-[0-9a-f]{64}\\.json$`));
    expect((await http("GET", `/v1/dags/${id}`)).json.nodes[0].signal).toMatchObject({ via: "api", by: "ana", output: answer });
    const resumed = await claim(agent);
    expect(resumed).toMatchObject({ nodeId: "a", signal: { via: "api", output: answer } });
    // As a URL on request (the dashboard).
    const asUrl = (await http("GET", `/v1/dags/${id}?values=url&include=input`)).json.nodes[0];
    expect(await (await fetch(asUrl.signal.output.$weftValue.url)).json()).toEqual(answer);
    expect(await (await fetch(asUrl.wait.input.$weftValue.url)).json()).toEqual(ask);
  }, 30_000);

  it("a signal URL's large output (no key) goes to S3 under the node it resumes; a reference sent to it is refused", async () => {
    const id = uid("tok");
    const agent = `${id}-ag`;
    await http("POST", "/v1/dags", { id, nodes: [{ id: "a", agent }] });
    const a = await claim(agent);
    const { signalToken } = (await http("POST", `/v1/dags/${id}/nodes/a/suspend`, { leaseToken: a.leaseToken, wait: {} })).json;
    expect(signalToken).toEqual(expect.any(String));
    const byToken = (body: unknown) =>
      fetch(`${gw.baseUrl}/v1/signals/${encodeURIComponent(signalToken)}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    // A keyless caller cannot upload, so a reference from it names nothing it may set.
    const forged = await byToken({ output: { $weftValue: { key: `weft/acme/${id}/a/output-${"0".repeat(64)}.json`, bytes: 1 } } });
    expect(forged.status).toBe(422);
    expect(((await forged.json()) as { error: { field: string } }).error.field).toBe("output");
    const answer = bigValue(400_000);
    expect((await byToken({ output: answer })).status).toBe(200);
    expect(keyOf((await getRuntime().engine.getRun(TENANT_A, id)).nodes[0]!.signal?.output)).toMatch(new RegExp(`^weft/acme/${id}/a/output-`));
    expect(await claim(agent)).toMatchObject({ signal: { via: "url", output: answer } });
  }, 30_000);

  it("a wait node's large approval is its output: kept in S3, given back by GET and parents()", async () => {
    const id = uid("wait");
    const agent = `${id}-ag`;
    await http("POST", "/v1/dags", { id, nodes: [{ id: "w", wait: {} }, { id: "b", agent, deps: ["w"] }] });
    const decision = bigValue(300_000);
    expect(await http("POST", `/v1/dags/${id}/nodes/w/signal`, { output: decision })).toMatchObject({ status: 200, json: { status: "succeeded" } });
    expect(keyOf((await getRuntime().engine.getRun(TENANT_A, id)).nodes[0]!.output)).toMatch(new RegExp(`^weft/acme/${id}/w/output-`));
    expect((await http("GET", `/v1/dags/${id}`)).json.nodes[0].output).toEqual(decision);
    await claim(agent);
    expect((await http("GET", `/v1/dags/${id}/nodes/b/parents`)).json.parents).toEqual({ w: decision });
  }, 30_000);
});

describe("references a run does not own", () => {
  it("are never read, whatever value carries them (signals by key, timeout outputs): another tenant's object stays theirs", async () => {
    // globex's large output, stored the ordinary way.
    const theirs = uid("theirs2");
    await http("POST", "/v1/dags", { id: theirs, nodes: [{ id: "a", agent: `${theirs}-ag` }] }, KEY_B);
    const t = await claim(`${theirs}-ag`, KEY_B);
    await http("POST", `/v1/dags/${theirs}/nodes/a/complete`, { leaseToken: t.leaseToken, output: bigValue(300_000) }, KEY_B);
    const secret = (await getRuntime().engine.getRun("globex", theirs)).nodes[0]!.output;
    expect(isValueRef(secret)).toBe(true);
    // acme names globex's key as the output of a signal by key and of a wait's timeout: kept as sent, never resolved nor signed.
    const id = uid("steal");
    const key = uid("k");
    await http("POST", "/v1/dags", { id, nodes: [{ id: "w", wait: { key } }, { id: "t", wait: { timeoutMs: 1, onTimeout: "succeed", output: secret } }] });
    expect((await http("POST", "/v1/signals", { key, output: secret })).json).toMatchObject({ signalled: 1 });
    await new Promise((r) => setTimeout(r, 20));
    await getRuntime().engine.reconcile();
    const run = (await http("GET", `/v1/dags/${id}`)).json;
    for (const n of run.nodes) expect(n, n.id).toMatchObject({ status: "succeeded", output: secret });
    expect((await http("GET", `/v1/dags/${id}?values=url`)).json.nodes.map((n: { output: unknown }) => n.output)).toEqual([secret, secret]);
  }, 30_000);
});

async function runWithLargeValues(id: string, finish: boolean) {
  const agent = `${id}-ag`;
  await invoke(api, "POST", "/v1/dags", { body: { id, nodes: [{ id: "a", agent, input: bigValue(400_000) }] } });
  const [t] = (await invoke(api, "POST", `/v1/agents/${agent}/claim`, { body: {} })).json.tasks;
  if (finish) expect((await invoke(api, "POST", `/v1/dags/${id}/nodes/a/complete`, { body: { leaseToken: t.leaseToken, output: bigValue(400_000) } })).json.runStatus).toBe("succeeded");
}

async function keysOf(dagId: string): Promise<number> {
  // What is left in the bucket under the run's prefix.
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
    expect(await archive(finishedEvent("DagSucceeded", ended))).toMatchObject({ flushed: true, released: true });
    await waitUntilGoneFromRedis(ended);
    expect((await invoke(api, "GET", `/v1/dags/${ended}`)).json.nodes[0].output).toEqual(expect.objectContaining({ text: expect.any(String) }));
    expect(await sweepValues(getRuntime().values, getRuntime().runs, { graceMs: 0 })).toEqual({ runs: 0, objects: 0 });
    expect(await keysOf(ended)).toBe(2);

    // Its retention passes: the cold store reads it as gone, and the sweep takes its objects.
    clockAheadMs = (RETENTION_SECONDS + 1) * 1000;
    expect((await invoke(api, "GET", `/v1/dags/${ended}`)).status).toBe(404);
    // (The 5 MB run above, archived too, ends its retention with it.)
    const swept = await sweepValues(getRuntime().values, getRuntime().runs, { graceMs: 0 });
    expect(swept.objects).toBeGreaterThanOrEqual(2);
    expect(await keysOf(ended)).toBe(0);
    expect(await keysOf(live)).toBe(1);
    const kept = await getRuntime().engine.getRun(TENANT_A, live, { include: { input: true } });
    expect(await getRuntime().values.resolver(TENANT_A).value(kept.nodes[0]!.input, live)).toEqual(expect.objectContaining({ text: expect.any(String) }));
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
