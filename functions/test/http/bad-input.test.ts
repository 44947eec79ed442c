import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { mockClient } from "aws-sdk-client-mock";
import "aws-sdk-client-mock-vitest/extend";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { handler as api } from "../../api.js";
import { configureRuntime, resetRuntime } from "../../config.js";
import { startRedis, type RedisProcess } from "@weft/test-support";
import { digest, invoke, KEY_A } from "./harness.js";
import { apiEvent, reply, type Reply } from "./apigw.js";

const eb = mockClient(EventBridgeClient);
const BODY_LIMIT = 1024 * 1024;
let redis: RedisProcess;
let admin: Redis;
let leaseToken: string;
const run = "bad-input-run";

beforeAll(async () => {
  redis = await startRedis({ args: ["--enable-debug-command", "local"] });
  admin = new Redis(redis.url);
  eb.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: "1" }] });
  await configureRuntime({
    env: {
      REDIS_URL: redis.url,
      WEFT_API_KEYS: "key-acme-0123456789:acme,key-globex-9876543210:globex",
      WEFT_EVENT_BUS: "weft-test-bus",
      WEFT_BODY_LIMIT_BYTES: String(BODY_LIMIT),
    },
  });
  // One running node, so reports on a live lease can be attempted too.
  expect((await invoke(api, "POST", "/v1/dags", { body: { id: run, nodes: [{ id: "a", agent: "bad-ag" }, { id: "b", agent: "bad-ag", deps: ["a"] }] } })).status).toBe(201);
  const claimed = await invoke(api, "POST", "/v1/agents/bad-ag/claim", { body: {} });
  leaseToken = claimed.json.tasks[0].leaseToken;
});
afterAll(async () => {
  await resetRuntime();
  admin.disconnect();
  await redis.stop();
});

type Opts = Parameters<typeof apiEvent>[2];
type Case = [name: string, handler: typeof api, method: string, path: string, opts: Opts, status: number, code: string, field?: string];

const bigInput = "x".repeat(300 * 1024);
const cases: Case[] = [
  ["malformed JSON", api, "POST", "/v1/dags", { rawBody: '{"nodes": [' }, 400, "validation"],
  ["a body that is not an object", api, "POST", "/v1/dags", { rawBody: "null" }, 400, "validation"],
  ["a missing required field", api, "POST", "/v1/dags", { body: { id: "x" } }, 400, "validation", "nodes"],
  ["a wrong type deep in the body", api, "POST", "/v1/dags", { body: { nodes: [{ id: "a", agent: 5 }] } }, 400, "validation", "nodes[0].agent"],
  ["an id with characters unsafe in keys", api, "POST", "/v1/dags", { body: { nodes: [{ id: "a b", agent: "x" }] } }, 400, "validation", "nodes[0].id"],
  ["a cycle", api, "POST", "/v1/dags", { body: { nodes: [{ id: "a", agent: "x", deps: ["b"] }, { id: "b", agent: "x", deps: ["a"] }] } }, 422, "validation"],
  ["an unknown dependency", api, "POST", "/v1/dags", { body: { nodes: [{ id: "a", agent: "x", deps: ["ghost"] }] } }, 422, "validation"],
  ["a body over the size limit", api, "POST", "/v1/dags", { rawBody: JSON.stringify({ nodes: [{ id: "a", agent: "x", input: "y".repeat(BODY_LIMIT) }] }) }, 413, "payload_too_large"],
  ["a node input over the input limit", api, "POST", "/v1/dags", { body: { nodes: [{ id: "a", agent: "x", input: bigInput }] } }, 413, "payload_too_large"],
  ["a body that is not JSON", api, "POST", "/v1/dags", { rawBody: "nodes=1", headers: { "content-type": "text/plain" } }, 415, "unsupported_media_type"],
  ["no Authorization header", api, "POST", "/v1/dags", { body: { nodes: [{ id: "a", agent: "x" }] }, key: "", headers: {} }, 401, "unauthorized"],
  ["an unknown API key", api, "POST", "/v1/dags", { body: { nodes: [{ id: "a", agent: "x" }] }, key: "not-a-key" }, 401, "unauthorized"],
  ["a non-bearer Authorization", api, "GET", `/v1/dags/${run}`, { key: "", headers: { authorization: "Basic YWRtaW46YWRtaW4=" } }, 401, "unauthorized"],
  ["an unknown route", api, "GET", "/v1/nothing-here", {}, 404, "not_found"],
  ["an unknown route outside /v1", api, "GET", "/admin", {}, 404, "not_found"],
  ["a known path with the wrong method", api, "GET", "/v1/agents/bad-ag/claim", {}, 405, "method_not_allowed"],
  ["an unknown run", api, "GET", "/v1/dags/no-such-run", {}, 404, "not_found"],
  ["a path id that is not an id", api, "GET", `/v1/dags/${"z".repeat(200)}`, {}, 400, "validation", "path.dagId"],
  ["an agent name that is not an id (scaling signals)", api, "GET", "/v1/agents/no%20spaces", {}, 400, "validation", "path.agent"],
  ["an agent name too long (scaling signals)", api, "GET", `/v1/agents/${"g".repeat(129)}`, {}, 400, "validation", "path.agent"],
  ["a negative window (scaling signals)", api, "GET", "/v1/agents?within=-1", {}, 400, "validation", "query.within"],
  ["a window over a day (scaling signals)", api, "GET", "/v1/agents/x?within=86400001", {}, 400, "validation", "query.within"],
  ["a cursor that is not a number", api, "GET", `/v1/dags/${run}/events?after=abc`, {}, 400, "validation", "query.after"],
  ["a negative cursor", api, "GET", `/v1/dags/${run}/events?after=-1`, {}, 400, "validation", "query.after"],
  ["claim max of zero", api, "POST", "/v1/agents/bad-ag/claim", { body: { max: 0 } }, 400, "validation", "max"],
  ["claim max as a string", api, "POST", "/v1/agents/bad-ag/claim", { body: { max: "3" } }, 400, "validation", "max"],
  ["a leaseToken that is a number", api, "POST", `/v1/dags/${run}/nodes/a/complete`, { body: { leaseToken: 42, output: 1 } }, 400, "validation", "leaseToken"],
  ["complete without a leaseToken", api, "POST", `/v1/dags/${run}/nodes/a/complete`, { body: { output: 1 } }, 400, "validation", "leaseToken"],
  ["fail without error.message", api, "POST", `/v1/dags/${run}/nodes/a/fail`, { body: { leaseToken: "1.x", error: {} } }, 400, "validation", "error.message"],
  ["fail with retryable as a string", api, "POST", `/v1/dags/${run}/nodes/a/fail`, { body: { leaseToken: "1.x", error: { message: "m" }, retryable: "no" } }, 400, "validation", "retryable"],
  ["a negative heartbeat lease", api, "POST", `/v1/dags/${run}/nodes/a/heartbeat`, { body: { leaseToken: "1.x", leaseMs: -5 } }, 400, "validation", "leaseMs"],
  ["a wrong lease token", api, "POST", `/v1/dags/${run}/nodes/a/complete`, { body: { leaseToken: "1.forged", output: 1 } }, 409, "conflict"],
  ["completing a node that is not running", api, "POST", `/v1/dags/${run}/nodes/b/complete`, { body: { leaseToken: "1.forged", output: 1 } }, 409, "conflict"],
  ["cancel with a reason that is not a string", api, "POST", `/v1/dags/${run}/cancel`, { body: { reason: 7 } }, 400, "validation", "reason"],
  ["a lone surrogate in idempotencyKey", api, "POST", "/v1/dags", { rawBody: '{"idempotencyKey":"\\udc00","nodes":[{"id":"a","agent":"x"}]}' }, 400, "validation", "idempotencyKey"],
  ["a lone surrogate in a cancel reason", api, "POST", `/v1/dags/${run}/cancel`, { rawBody: '{"reason":"why \\ud800"}' }, 400, "validation", "reason"],
  ["a lone surrogate in a lease token", api, "POST", `/v1/dags/${run}/nodes/a/heartbeat`, { rawBody: '{"leaseToken":"1.\\udc00"}' }, 400, "validation", "leaseToken"],
  ["a cursor this API never returned", api, "GET", "/v1/dags?cursor=0", {}, 400, "validation", "cursor"],
  ["a limit that is not a whole number", api, "GET", `/v1/dags/${run}/events?limit=1e2`, {}, 400, "validation", "query.limit"],
  ["an event cursor above 2^53-1", api, "GET", `/v1/dags/${run}/events?after=9007199254740993`, {}, 400, "validation", "query.after"],
  ["an If-Match above 2^53-1", api, "PUT", "/v1/state/ns/k", { body: 1, headers: { "if-match": '"9007199254740993"' } }, 400, "validation", "If-Match"],
  ["a required body that is empty", api, "POST", `/v1/dags/${run}/rewind`, { rawBody: "" , headers: { "content-type": "application/json" } }, 400, "validation", "body"],
  ["a non-empty body without Content-Type", api, "POST", `/v1/dags/${run}/cancel`, { rawBody: "{}", headers: { "content-type": "" } }, 415, "unsupported_media_type"],
  // Growing a run (a completion's add, extend, and from outside): the same rules, the field named.
  ["an addition whose nodes are not a list", api, "POST", `/v1/dags/${run}/nodes`, { body: { nodes: "x" } }, 400, "validation", "nodes"],
  ["an added node with a wrong type", api, "POST", `/v1/dags/${run}/nodes`, { body: { nodes: [{ id: "n", agent: 5 }] } }, 400, "validation", "nodes[0].agent"],
  ["an empty addition", api, "POST", `/v1/dags/${run}/nodes`, { body: {} }, 422, "validation", "nodes"],
  ["an added node with an unknown dependency", api, "POST", `/v1/dags/${run}/nodes`, { body: { nodes: [{ id: "n", agent: "x", deps: ["ghost"] }] } }, 422, "validation", "nodes[0].deps[0]"],
  ["an added node whose id is taken", api, "POST", `/v1/dags/${run}/nodes`, { body: { nodes: [{ id: "b", agent: "x" }] } }, 409, "conflict", "nodes[0].id"],
  ["an addition that closes a cycle", api, "POST", `/v1/dags/${run}/nodes`, { body: { nodes: [{ id: "n", agent: "x", deps: ["b"] }], deps: { b: ["n"] } } }, 422, "validation", "deps.b"],
  ["new deps of a node that is not pending", api, "POST", `/v1/dags/${run}/nodes`, { body: { deps: { a: ["b"] } } }, 409, "conflict", "deps.a"],
  ["a join of more deps than the node has", api, "POST", `/v1/dags/${run}/nodes`, { body: { nodes: [{ id: "n", agent: "x", deps: ["a"], join: { min: 2 } }] } }, 422, "validation", "nodes[0].join.min"],
  ["an added node's input over the input limit", api, "POST", `/v1/dags/${run}/nodes`, { body: { nodes: [{ id: "n", agent: "x", input: bigInput }] } }, 413, "payload_too_large", "nodes[0].input"],
  ["an addition to an unknown run", api, "POST", "/v1/dags/no-such-run/nodes", { body: { nodes: [{ id: "n", agent: "x" }] } }, 404, "not_found"],
  ["a completion whose addition is malformed", api, "POST", `/v1/dags/${run}/nodes/a/complete`, { body: { leaseToken: "1.x", add: { nodes: [{ id: "n" }] } } }, 400, "validation", "add.nodes[0].agent"],
  ["extend without a leaseToken", api, "POST", `/v1/dags/${run}/nodes/a/extend`, { body: { nodes: [{ id: "n", agent: "x" }] } }, 400, "validation", "leaseToken"],
  ["extend with a wrong lease token", api, "POST", `/v1/dags/${run}/nodes/a/extend`, { body: { leaseToken: "1.forged", nodes: [{ id: "n", agent: "x" }] } }, 409, "conflict"],
];

describe("bad input gets its 4xx, a JSON error naming the field, and writes nothing", () => {
  it.each(cases)("%s -> %i", async (_name, handler, method, path, opts, status, code, field) => {
    const before = await digest(admin);
    const r: Reply = await invoke(handler, method, path, opts);
    expect(r.status).toBe(status);
    expect(r.headers["content-type"]).toMatch(/^application\/json/);
    expect(r.json.error).toMatchObject({ code, message: expect.any(String) });
    if (field) expect(r.json.error.field).toBe(field);
    expect(r.json.error.message).not.toMatch(/\udc00|\ud800/);
    expect(await digest(admin)).toBe(before);
  });

  it("refuses a body that is not UTF-8 with 400, writing nothing", async () => {
    const before = await digest(admin);
    const event = apiEvent("POST", `/v1/dags/${run}/cancel`, { key: KEY_A, rawBody: "x" });
    Object.assign(event, { body: Buffer.from([0x7b, 0x22, 0x72, 0x65, 0x61, 0x73, 0x6f, 0x6e, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]).toString("base64"), isBase64Encoded: true });
    const r = reply(await api(event));
    expect(r).toMatchObject({ status: 400, json: { error: { code: "validation", field: "body", message: "body is not valid UTF-8" } } });
    expect(await digest(admin)).toBe(before);
  });

  it("accepts an empty body on every route whose body is optional, whatever the Content-Type", async () => {
    for (const type of ["application/json", "text/plain", "application/x-www-form-urlencoded", ""]) {
      const headers = { "content-type": type };
      expect((await invoke(api, "POST", "/v1/agents/bad-nothing/claim", { rawBody: "", headers })).json, type).toEqual({ tasks: [] });
      const node = await invoke(api, "POST", `/v1/dags/${run}/nodes/b/claim`, { rawBody: "", headers });
      expect(node.json.error?.code, type).toBe("conflict"); // b is pending: its claim is refused by the engine, not the body
      const redrive = await invoke(api, "POST", `/v1/dags/${run}/redrive`, { rawBody: "", headers });
      expect(redrive.json.error?.code, type).toBe("conflict"); // the run is running: nothing to redrive
    }
  });

  it("leaves the live lease usable after all of that", async () => {
    const r = await invoke(api, "POST", `/v1/dags/${run}/nodes/a/complete`, { body: { leaseToken, output: "fine" } });
    expect(r.json).toMatchObject({ duplicate: false, ready: ["b"] });
  });
});
