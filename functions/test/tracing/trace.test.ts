import { Redis } from "ioredis";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { context, trace, type Tracer } from "@opentelemetry/api";
import { InMemorySpanExporter, NodeTracerProvider, SimpleSpanProcessor, type ReadableSpan } from "@opentelemetry/sdk-trace-node";
import { InProcessPublisher, type BusEvent } from "@weft/core/events";
import { keySchema } from "@weft/core/redis";
import { createClient, worker } from "@weft/client";
import { startRedis, type RedisProcess } from "@weft/test-support";
import { configureRuntime, resetRuntime } from "../../config.js";
import { useTracing } from "../../tracing.js";
import { handler as reconcile } from "../../reconcile.js";
import { startTestGateway } from "../http/gateway.js";
import { KEY_A, TENANT_A, uid } from "../http/harness.js";

/**
 * Traces with the real OpenTelemetry SDK (NodeTracerProvider, an in-memory exporter): one
 * run submitted through the local API Gateway with a caller's traceparent, worked by a
 * @weft/client worker; the agent's span and the spans inside it join the run's trace. With
 * tracing off: no spans, no traceparent on tasks or NodeReady, nothing stored.
 */
const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
let redis: RedisProcess;
let admin: Redis;
let gateway: Awaited<ReturnType<typeof startTestGateway>>;
let bus: InProcessPublisher;
let ready: BusEvent[] = [];

beforeAll(async () => {
  provider.register();
  redis = await startRedis();
  admin = new Redis(redis.url);
  gateway = await startTestGateway();
});
afterAll(async () => {
  await resetRuntime();
  useTracing(undefined);
  await gateway?.close();
  admin?.disconnect();
  await redis?.stop();
  await provider.shutdown();
  trace.disable();
  context.disable();
});

async function start(tracing: boolean) {
  useTracing(tracing);
  bus = new InProcessPublisher();
  ready = [];
  bus.subscribe({ detailType: ["NodeReady"] }, async (e) => void ready.push(e));
  await configureRuntime({ env: { REDIS_URL: redis.url, WEFT_API_KEYS: `${KEY_A}:${TENANT_A}` }, publisher: bus });
  exporter.reset();
}

/** Submits a one-node run with a caller's traceparent and works it with a worker whose handler makes its own span. */
async function runOne(tracer: Tracer) {
  const id = uid("traced");
  const agent = `${id}-ag`;
  const caller = tracer.startSpan("caller");
  const callerTp = `00-${caller.spanContext().traceId}-${caller.spanContext().spanId}-01`;
  const res = await fetch(`${gateway.baseUrl}/v1/dags`, {
    method: "POST",
    headers: { authorization: `Bearer ${KEY_A}`, "content-type": "application/json", traceparent: callerTp },
    body: JSON.stringify({ id, nodes: [{ id: "a", agent, input: { q: 1 } }] }),
  });
  caller.end();
  expect(res.status).toBe(201);
  const tasks: { traceparent?: string }[] = [];
  const client = createClient({ baseUrl: gateway.baseUrl, apiKey: KEY_A });
  const w = worker({
    client,
    pollMs: 20,
    log: () => {},
    agents: {
      [agent]: async (task) => {
        tasks.push(task);
        tracer.startActiveSpan("model call", (s) => s.end());
        return { ok: true };
      },
    },
  });
  for (let i = 0; i < 200 && (await client.getRun(id)).status !== "succeeded"; i++) await new Promise((r) => setTimeout(r, 25));
  await w.close();
  await bus.drain();
  return { id, caller, tasks };
}

const named = (spans: ReadableSpan[], name: string) => spans.filter((s) => s.name === name);
const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;

describe("tracing on (WEFT_TRACING)", () => {
  beforeEach(() => start(true));

  it("links the caller, the API span that submitted the run, its script calls, the relay and the agent's span in one trace", async () => {
    const tracer = trace.getTracer("test");
    const { id, caller, tasks } = await runOne(tracer);
    const spans = exporter.getFinishedSpans();
    const traceId = caller.spanContext().traceId;

    const [submit] = named(spans, "POST /v1/dags");
    expect(submit).toBeDefined();
    expect(submit!.spanContext().traceId).toBe(traceId);
    expect(parentOf(submit!)).toBe(caller.spanContext().spanId);
    expect(submit!.attributes).toMatchObject({ "http.route": "/v1/dags", "http.response.status_code": 201, "weft.tenant": TENANT_A });

    const [script] = named(spans, "weft.script submit");
    expect(parentOf(script!)).toBe(submit!.spanContext().spanId);
    expect(script!.attributes).toMatchObject({ "weft.tenant": TENANT_A, "weft.run_id": id, "db.operation.name": "submit" });
    expect(JSON.stringify(script!.attributes)).not.toContain("q"); // ids only, never the input
    const relay = named(spans, "weft.relay").find((s) => parentOf(s) === submit!.spanContext().spanId);
    expect(relay?.attributes).toMatchObject({ "weft.run_id": id, "weft.events": 1, "weft.failed": 0 });

    // The run keeps the submit span's context: the task and the NodeReady event carry it.
    const runTp = `00-${traceId}-${submit!.spanContext().spanId}-01`;
    expect(tasks.map((t) => t.traceparent)).toEqual([runTp]);
    expect(ready.filter((e) => e.detail.dagId === id).map((e) => e.detail.traceparent)).toEqual([runTp]);
    expect(await admin.hget(`${keySchema().run(TENANT_A, id).key}meta`, "tp")).toBe(runTp);

    const [agentSpan] = named(spans, `weft.agent ${id}-ag`);
    expect(agentSpan).toBeDefined();
    expect(agentSpan!.spanContext().traceId).toBe(traceId);
    expect(parentOf(agentSpan!)).toBe(submit!.spanContext().spanId);
    expect(agentSpan!.attributes).toMatchObject({ "weft.run_id": id, "weft.node_id": "a", "weft.attempt": 1, "weft.outcome": "completed" });
    const [model] = named(spans, "model call");
    expect(parentOf(model!)).toBe(agentSpan!.spanContext().spanId);
    // The worker's completion is an API request inside the agent's span.
    const complete = named(spans, "POST /v1/dags/{dagId}/nodes/{nodeId}/complete")[0];
    expect(complete?.spanContext().traceId).toBe(traceId);
    expect(parentOf(complete!)).toBe(agentSpan!.spanContext().spanId);
    expect(complete!.attributes).toMatchObject({ "weft.run_id": id, "weft.node_id": "a" });
  });

  it("makes a scheduled invocation one span, its script calls inside it", async () => {
    await reconcile();
    const spans = exporter.getFinishedSpans();
    const [root] = named(spans, "weft.reconcile");
    expect(root?.parentSpanContext).toBeUndefined();
    const scripts = spans.filter((s) => s.name.startsWith("weft.script "));
    expect(scripts.map((s) => s.name)).toContain("weft.script reconcile");
    for (const s of scripts) expect(parentOf(s)).toBe(root!.spanContext().spanId);
  });

  it("ignores a malformed traceparent header: the request is its own root", async () => {
    const id = uid("badtp");
    const res = await fetch(`${gateway.baseUrl}/v1/dags`, {
      method: "POST",
      headers: { authorization: `Bearer ${KEY_A}`, "content-type": "application/json", traceparent: "00-zz-nope-01" },
      body: JSON.stringify({ id, nodes: [{ id: "a", agent: `${id}-ag` }] }),
    });
    expect(res.status).toBe(201);
    const [submit] = named(exporter.getFinishedSpans(), "POST /v1/dags");
    expect(submit!.parentSpanContext).toBeUndefined();
  });
});

describe("tracing off (the default)", () => {
  beforeEach(() => start(false));

  it("makes no span and hands out no traceparent, even when the caller sends one; nothing is stored", async () => {
    const tracer = trace.getTracer("test");
    const { id, tasks } = await runOne(tracer);
    const weftSpans = exporter.getFinishedSpans().filter((s) => s.instrumentationScope.name !== "test");
    expect(weftSpans).toEqual([]);
    expect(tasks).toHaveLength(1);
    expect(tasks[0]).not.toHaveProperty("traceparent");
    const events = ready.filter((e) => e.detail.dagId === id);
    expect(events).toHaveLength(1);
    expect(events[0]!.detail).not.toHaveProperty("traceparent");
    expect(await admin.hexists(`${keySchema().run(TENANT_A, id).key}meta`, "tp")).toBe(0);
  });
});
