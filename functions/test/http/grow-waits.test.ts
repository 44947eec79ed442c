import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedis, type RedisProcess } from "@weft/test-support";
import { handler as api } from "../../api.js";
import { configureRuntime, resetRuntime } from "../../config.js";
import { apiEvent, reply } from "./apigw.js";
import { startTestGateway } from "./gateway.js";
import { KEY_A, KEY_B, uid } from "./harness.js";

/**
 * Wait nodes added at run time, over HTTP: an agent's completion adds an approval and makes
 * publish wait for it, or an orchestrator adds a hold from outside; a signal (the tenant's
 * key, or the single-use URL with no key) ends the wait and releases what waits for it.
 * Each scenario runs once through the local API Gateway (real HTTP, the route table infra
 * deploys) and once straight into the API Lambda.
 */
let redis: RedisProcess;
let gateway: Awaited<ReturnType<typeof startTestGateway>>;
const PUBLIC = "https://weft.example.com";

beforeAll(async () => {
  redis = await startRedis();
  await configureRuntime({
    env: {
      REDIS_URL: redis.url,
      WEFT_API_KEYS: `${KEY_A}:acme,${KEY_B}:globex`,
      WEFT_SIGNING_SECRET: "a signing secret for the http tests, 32+ chars",
      WEFT_PUBLIC_URL: PUBLIC,
    },
  });
  gateway = await startTestGateway();
});
afterAll(async () => {
  await gateway?.close();
  await resetRuntime();
  await redis?.stop();
});

type Send = (method: string, path: string, body?: unknown, key?: string) => Promise<{ status: number; json: any }>;

const viaGateway: Send = async (method, path, body, key = KEY_A) => {
  const headers: Record<string, string> = { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(body === undefined ? {} : { "content-type": "application/json" }) };
  const res = await fetch(`${gateway.baseUrl}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
};
const viaLambda: Send = async (method, path, body, key = KEY_A) => reply(await api(apiEvent(method, path, { ...(body === undefined ? {} : { body }), key })));

const transports: [string, Send][] = [
  ["the local API Gateway", viaGateway],
  ["the API Lambda", viaLambda],
];

/** plan -> publish, each on its own agent. */
async function submit(send: Send, id: string) {
  const r = await send("POST", "/v1/dags", {
    id,
    nodes: [
      { id: "plan", agent: `${id}-plan` },
      { id: "publish", agent: `${id}-pub`, deps: ["plan"] },
    ],
  });
  expect(r.status).toBe(201);
}

async function claim(send: Send, agent: string): Promise<{ nodeId: string; leaseToken: string }[]> {
  const r = await send("POST", `/v1/agents/${agent}/claim`, {});
  expect(r.status).toBe(200);
  return r.json.tasks;
}

const nodeOf = (run: { nodes: { id: string }[] }, id: string) => run.nodes.find((n) => n.id === id) as Record<string, any> | undefined;

/** Publish runs once the wait is over, and the run succeeds. */
async function publishAndFinish(send: Send, id: string) {
  const [t] = await claim(send, `${id}-pub`);
  expect(t?.nodeId).toBe("publish");
  const done = await send("POST", `/v1/dags/${id}/nodes/publish/complete`, { leaseToken: t!.leaseToken, output: "published" });
  expect(done.status).toBe(200);
  expect(done.json.runStatus).toBe("succeeded");
}

describe.each(transports)("a wait node added at run time, through %s", (_, send) => {
  it("a completion adds an approval that publish waits for; a signal with the tenant's key approves it and publish runs", async () => {
    const id = uid("grow-approve");
    await submit(send, id);
    const [p] = await claim(send, `${id}-plan`);
    const approve = { id: "approve", deps: ["plan"], input: { question: "publish?" }, wait: { timeoutMs: 600_000 } };
    const done = await send("POST", `/v1/dags/${id}/nodes/plan/complete`, {
      leaseToken: p!.leaseToken,
      output: { plan: "one post" },
      add: { nodes: [approve], deps: { publish: ["approve"] } },
    });
    expect(done.status).toBe(200);
    expect(done.json).toMatchObject({ duplicate: false, runStatus: "running", ready: [] });

    const run = (await send("GET", `/v1/dags/${id}`)).json;
    expect(nodeOf(run, "approve")).toMatchObject({ status: "waiting", addedBy: { node: "plan", attempt: 1 }, wait: { gen: 1, timeoutMs: 600_000, onTimeout: "fail" } });
    expect(nodeOf(run, "publish")).toMatchObject({ status: "pending", deps: ["plan", "approve"] });
    // publish is not handed out while approve waits; no agent claims a wait node.
    expect(await claim(send, `${id}-pub`)).toEqual([]);
    const events = (await send("GET", `/v1/dags/${id}/events`)).json.events as { type: string; node?: string; data?: Record<string, unknown> }[];
    expect(events.find((e) => e.type === "node.added" && e.node === "approve")?.data).toMatchObject({ wait: true, deps: ["plan"], addedBy: { node: "plan", attempt: 1 } });
    expect(events.find((e) => e.type === "node.waiting" && e.node === "approve")?.data?.signalUrl).toMatch(`${PUBLIC}/v1/signals/`);

    // Another tenant cannot signal it; a bad body names its field and changes nothing.
    expect((await send("POST", `/v1/dags/${id}/nodes/approve/signal`, { output: 1 }, KEY_B)).status).toBe(404);
    const bad = await send("POST", `/v1/dags/${id}/nodes/approve/signal`, { error: { nope: 1 } });
    expect(bad.status).toBe(400);
    expect(bad.json.error.field).toBe("error.message");
    expect(nodeOf((await send("GET", `/v1/dags/${id}`)).json, "approve")?.status).toBe("waiting");

    const ok = await send("POST", `/v1/dags/${id}/nodes/approve/signal`, { output: { approved: true }, by: "ana" });
    expect(ok.status).toBe(200);
    expect(ok.json).toEqual({ status: "succeeded", runStatus: "running", duplicate: false });
    expect(nodeOf((await send("GET", `/v1/dags/${id}`)).json, "approve")).toMatchObject({ status: "succeeded", output: { approved: true }, signal: { via: "api", by: "ana" } });
    await publishAndFinish(send, id);
  });

  it("an orchestrator adds a hold from outside that publish waits for; its single-use signal URL ends it without the tenant's key", async () => {
    const id = uid("grow-hold");
    await submit(send, id);
    const added = await send("POST", `/v1/dags/${id}/nodes`, { nodes: [{ id: "hold", wait: {} }], deps: { publish: ["hold"] } });
    expect(added.status).toBe(200);
    expect(added.json).toEqual({ added: ["hold"], ready: [] });
    const run = (await send("GET", `/v1/dags/${id}`)).json;
    expect(nodeOf(run, "hold")).toMatchObject({ status: "waiting", addedBy: { actor: "api" } });

    const [p] = await claim(send, `${id}-plan`);
    expect((await send("POST", `/v1/dags/${id}/nodes/plan/complete`, { leaseToken: p!.leaseToken, output: "P" })).json.ready).toEqual([]);
    expect(await claim(send, `${id}-pub`)).toEqual([]);

    const events = (await send("GET", `/v1/dags/${id}/events`)).json.events as { type: string; node?: string; data?: Record<string, unknown> }[];
    const url = String(events.find((e) => e.type === "node.waiting" && e.node === "hold")?.data?.signalUrl);
    expect(url.startsWith(`${PUBLIC}/v1/signals/`)).toBe(true);
    const path = url.slice(PUBLIC.length);
    const signalled = await send("POST", path, { output: { released: true }, signalId: "click-1" }, "");
    expect(signalled.status).toBe(200);
    expect(signalled.json).toEqual({ status: "succeeded", runStatus: "running", duplicate: false });
    // Single use: the same URL again is a 404, like any wrong token.
    expect((await send("POST", path, { output: 2 }, "")).status).toBe(404);
    await publishAndFinish(send, id);
  });
});
