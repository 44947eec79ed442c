import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ensureTable } from "@weft/core/dynamodb";
import { InProcessPublisher } from "@weft/core/events";
import { startDynalite, startRedis, type DynamoServer, type RedisProcess } from "@weft/test-support";
import { handler as api } from "../../api.js";
import { handler as reconcile } from "../../reconcile.js";
import { handler as archive } from "../../archive.js";
import { configureRuntime, resetRuntime } from "../../config.js";
import { lambdaContext } from "../../local/gateway.js";
import { logger } from "../../log.js";
import { METRICS, METRICS_NAMESPACE, useMetrics } from "../../metrics/index.js";
import { apiEvent, reply } from "../http/apigw.js";
import { finishedEvent, KEY_A, TENANT_A, uid } from "../http/harness.js";

/**
 * The Lambda handlers called directly, as Lambda calls them, with the EMF sink: what they
 * print is CloudWatch Embedded Metric Format (Powertools Metrics), one record per
 * dimension set, and their log records are JSON with this invocation's ids only.
 */
let redis: RedisProcess;
let dynamo: DynamoServer;

beforeAll(async () => {
  [redis, dynamo] = await Promise.all([startRedis(), startDynalite()]);
  await ensureTable(dynamo.client(), "weft-emf");
  useMetrics("emf");
  // The in-process bus stands in for EventBridge: the API handler relays its writes' events to it.
  await configureRuntime({
    env: { REDIS_URL: redis.url, WEFT_API_KEYS: `${KEY_A}:${TENANT_A}`, WEFT_TABLE: "weft-emf", DYNAMODB_ENDPOINT: dynamo.endpoint },
    publisher: new InProcessPublisher(),
  });
});
afterAll(async () => {
  await resetRuntime();
  useMetrics(undefined);
  await Promise.all([redis?.stop(), dynamo?.stop()]);
});

interface Emf {
  _aws: { Timestamp: number; CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] };
  [k: string]: unknown;
}

/** Runs `fn`, returning what it printed: the EMF records and the log records (JSON lines both). */
async function printed(fn: () => Promise<unknown>): Promise<{ emf: Emf[]; logs: Record<string, unknown>[] }> {
  let text = "";
  const grab = (chunk: unknown) => ((text += String(chunk)), true);
  const out = vi.spyOn(process.stdout, "write").mockImplementation(grab);
  const err = vi.spyOn(process.stderr, "write").mockImplementation(grab);
  try {
    await fn();
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
  const lines = text.split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  return { emf: lines.filter((l) => "_aws" in l) as Emf[], logs: lines.filter((l) => !("_aws" in l)) };
}

const find = (emf: Emf[], name: string, dims: string[]) =>
  emf.find((r) => r._aws.CloudWatchMetrics[0]!.Metrics.some((m) => m.Name === name) && JSON.stringify(r._aws.CloudWatchMetrics[0]!.Dimensions[0]) === JSON.stringify(dims));

describe("EMF from the Lambda handlers", () => {
  it("the API handler writes its request's count and duration as EMF when it returns, with the route template and rollups", async () => {
    const id = uid("emf");
    const { emf } = await printed(async () => {
      const r = reply(await api(apiEvent("POST", "/v1/dags", { key: KEY_A, body: { id, nodes: [{ id: "a", agent: "emf-agent" }] } }), lambdaContext("HttpApi")));
      expect(r.status).toBe(201);
    });
    const requests = find(emf, METRICS.apiRequests.name, ["service", "route", "method", "status", "class"]);
    expect(requests).toBeDefined();
    const meta = requests!._aws.CloudWatchMetrics[0]!;
    expect(meta.Namespace).toBe(METRICS_NAMESPACE);
    expect(meta.Dimensions).toEqual([["service", "route", "method", "status", "class"], ["service", "class"], ["service"]]);
    expect(meta.Metrics).toEqual([{ Name: "weft_api_requests_total", Unit: "Count" }]);
    expect(requests).toMatchObject({ service: "weft", route: "/v1/dags", method: "POST", status: "201", class: "2xx", weft_api_requests_total: 1 });
    expect(typeof requests!._aws.Timestamp).toBe("number");
    const duration = find(emf, METRICS.apiDuration.name, ["service", "route", "method"]);
    expect(duration!._aws.CloudWatchMetrics[0]!.Metrics).toEqual([{ Name: "weft_api_request_duration_seconds", Unit: "Seconds" }]);
    expect(duration!.weft_api_request_duration_seconds).toBeGreaterThan(0);
    expect(JSON.stringify(emf)).not.toContain(id);
  });

  it("the API handler writes transitions as they happen (relayed events, claim replies); the archive handler the run's latency and duration; reconcile its repairs and the backlog", async () => {
    const id = uid("emf-run");
    const agent = `${id}-ag`;
    const live = await printed(async () => {
      expect(reply(await api(apiEvent("POST", "/v1/dags", { key: KEY_A, body: { id, nodes: [{ id: "a", agent }] } }))).status).toBe(201);
      const claimed = reply(await api(apiEvent("POST", `/v1/agents/${agent}/claim`, { key: KEY_A, body: {} })));
      const task = claimed.json.tasks[0];
      expect(reply(await api(apiEvent("POST", `/v1/dags/${id}/nodes/a/complete`, { key: KEY_A, body: { leaseToken: task.leaseToken, output: 1 } }))).status).toBe(200);
    });

    const t = (transition: string) =>
      live.emf.find((r) => r.transition === transition && r.agent === agent && r._aws.CloudWatchMetrics[0]!.Metrics[0]!.Name === METRICS.nodeTransitions.name);
    for (const transition of ["ready", "started", "succeeded"]) {
      expect(t(transition)).toMatchObject({ weft_node_transitions_total: 1 });
      expect(t(transition)!._aws.CloudWatchMetrics[0]!.Dimensions).toEqual([["service", "transition", "agent"], ["service", "transition"]]);
    }
    expect(live.emf.find((r) => r.outcome === "succeeded")).toMatchObject({ weft_runs_finished_total: 1 });
    const flushed = await printed(() => archive(finishedEvent("DagSucceeded", id), lambdaContext("Archive")));
    expect(flushed.emf.filter((r) => r.agent === agent && METRICS.nodeTransitions.name in r)).toEqual([]); // counted live already
    expect(find(flushed.emf, METRICS.readyToStarted.name, ["service", "agent"])).toMatchObject({ agent });
    expect(find(flushed.emf, METRICS.runDuration.name, ["service", "outcome"])).toMatchObject({ outcome: "succeeded" });

    const reconciled = await printed(() => reconcile(undefined, lambdaContext("Reconcile")));
    const repairs = reconciled.emf.filter((r) => r._aws.CloudWatchMetrics[0]!.Metrics[0]!.Name === METRICS.reconcileRepairs.name).map((r) => r.repair);
    // Counts of zero are not written; the backlog always is.
    expect(repairs).toEqual([]);
    expect(find(reconciled.emf, METRICS.outboxBacklog.name, ["service"])).toMatchObject({ weft_outbox_backlog: expect.any(Number) });
  });

  it("a handler's log records are JSON with its own invocation's ids, never an earlier one's", async () => {
    const context = lambdaContext("Reconcile");
    logger.setLogLevel("DEBUG");
    try {
      await printed(() => api(apiEvent("GET", "/v1/dags/nope", { key: KEY_A }), lambdaContext("HttpApi")));
      const { logs } = await printed(() => reconcile(undefined, context));
      const line = logs.find((l) => l.message === "reconciled");
      expect(line).toMatchObject({ level: "DEBUG", service: "weft", function_name: "Reconcile", function_request_id: context.awsRequestId });
      expect(line).not.toHaveProperty("request_id"); // the API request's id is not carried over
    } finally {
      logger.setLogLevel("INFO");
    }
  });
});
