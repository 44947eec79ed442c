import { z } from "@hono/zod-openapi";
import { LIMITS, textSchema } from "@weft/core/checks";
import { RunSpecSchema } from "@weft/core/validation";
import { errorResponses } from "../errors.js";
import { serve } from "../serve.js";
import { Counts, DagParams, json, NodeStatusSchema, QueryInt, RunStatusSchema, SignalRecordSchema, ValuesQuery } from "../schemas.js";
import { activeTraceparent } from "../../tracing.js";
import { subApp, type RouteDeps, type WeftApp } from "./deps.js";

/**
 * Runs (the URLs say "dags"; see the README's vocabulary): submit, list, read, read the
 * event log, cancel.
 */

const SubmitResponseSchema = z
  .object({
    dagId: z.string(),
    status: RunStatusSchema,
    ready: z.array(z.string()).openapi({ description: "Nodes ready now (roots on create)" }),
    created: z.boolean().openapi({ description: "False on an idempotent replay" }),
  })
  .openapi("SubmitResult");

export const NodeViewSchema = z
  .object({
    id: z.string(),
    agent: z.string(),
    deps: z.array(z.string()),
    status: NodeStatusSchema,
    attempt: z.number().int(),
    input: z.unknown().optional(),
    output: z.unknown().optional(),
    error: z.looseObject({ message: z.string() }).optional(),
    leaseExpiresAt: z.number().int().optional(),
    workerId: z.string().optional(),
    addedBy: z
      .union([z.object({ node: z.string(), attempt: z.number().int() }), z.object({ actor: z.string() })])
      .optional()
      .openapi({ description: "Set on a node added while the run ran: the node and attempt that added it, or the actor who added it from outside" }),
    join: z.object({ min: z.number().int() }).optional(),
    onFailure: z.enum(["fail-fast", "continue"]).optional(),
    wait: z
      .object({
        gen: z.number().int(),
        timeoutMs: z.number().int().optional(),
        onTimeout: z.enum(["fail", "succeed"]),
        key: z.string().optional(),
        timeoutAt: z.number().int().optional(),
        suspended: z.boolean().optional(),
        input: z.unknown().optional(),
      })
      .optional()
      .openapi({ description: "A wait node's (or a suspended agent's) wait" }),
    signal: SignalRecordSchema.optional().openapi({ description: "The signal that ended the node's last wait" }),
  })
  .openapi("NodeView");

export const RunViewSchema = z
  .object({
    dagId: z.string(),
    tenant: z.string(),
    status: RunStatusSchema,
    onFailure: z.enum(["fail-fast", "continue"]),
    createdAt: z.number().int(),
    finishedAt: z.number().int().optional(),
    pausedAt: z.number().int().optional(),
    counts: Counts,
    nodes: z.array(NodeViewSchema),
  })
  .openapi("Run");

const EventSchema = z
  .object({
    seq: z.number().int(),
    type: z.string(),
    node: z.string().optional(),
    attempt: z.number().int().optional(),
    actor: z.string(),
    at: z.number().int(),
    from: NodeStatusSchema.optional(),
    data: z.record(z.string(), z.unknown()).optional(),
  })
  .openapi("RunEvent");

const RunListSchema = z
  .object({
    runs: z.array(z.object({ dagId: z.string(), status: RunStatusSchema, createdAt: z.number().int(), finishedAt: z.number().int().optional(), counts: Counts })),
    cursor: z.string().optional(),
  })
  .openapi("RunList");

export function runRoutes({ engine, runs, afterWrite, values }: RouteDeps): WeftApp {
  const app = subApp();

  serve(
    app,
    {
      method: "post",
      path: "/v1/dags",
      summary: "Submit a run (a DAG of agent tasks)",
      // Validated once, by core (the edge only parses the JSON).
      body: { required: true, mode: "json", schema: RunSpecSchema },
      responses: {
        201: json(SubmitResponseSchema, "Run created"),
        200: json(SubmitResponseSchema, "Same idempotencyKey (or id) as an existing run with the same definition: that run"),
        ...errorResponses(409, 422, 429),
      },
    },
    async (c, { body }) => {
      const tenant = c.var.tenant;
      // Traced: the run keeps this request's span as its trace context (functions/tracing.ts).
      const traceparent = activeTraceparent();
      const result = await engine.submit(tenant, (await values.incomingSubmit(tenant, body)) as never, traceparent ? { traceparent } : undefined);
      // Also on a replay: a crash after the first submit's write may have left its events unsent.
      await afterWrite({ tenant, dagId: result.dagId });
      return c.json(result, result.created ? 201 : 200);
    },
  );

  serve(
    app,
    {
      method: "get",
      path: "/v1/dags",
      summary: "The tenant's runs, newest first",
      query: z.object({
        status: RunStatusSchema.optional(),
        since: QueryInt(0, LIMITS.maxInteger).optional().openapi({ description: "Epoch ms: runs created at or after it" }),
        limit: QueryInt(1, LIMITS.pageMax).optional(),
        cursor: z.string().min(1).max(2048).optional().openapi({ description: "From the previous page; anything else is 400" }),
      }),
      responses: { 200: json(RunListSchema, "A page of runs; pass `cursor` back for the next") },
    },
    async (c, { query: { status, since, limit, cursor } }) => {
      const page = await runs.listRuns(c.var.tenant, {
        ...(status ? { status } : {}),
        ...(since !== undefined ? { since } : {}),
        ...(limit ? { limit } : {}),
        ...(cursor ? { cursor } : {}),
      });
      return c.json(page, 200);
    },
  );

  serve(
    app,
    {
      method: "get",
      path: "/v1/dags/{dagId}",
      summary: "A run with each node's status, attempt, output and error",
      params: DagParams,
      query: z.object({ include: z.enum(["input"]).optional().openapi({ description: "Also return each node's input" }), values: ValuesQuery }),
      responses: { 200: json(RunViewSchema, "The run"), ...errorResponses(404) },
    },
    async (c, { params: { dagId }, query: { include, values: mode } }) => {
      const run = await runs.getRun(c.var.tenant, dagId, { output: true, input: include === "input" });
      return c.json({ ...run, nodes: await values.resolver(c.var.tenant, mode).nodes(dagId, run.nodes) }, 200);
    },
  );

  serve(
    app,
    {
      method: "get",
      path: "/v1/dags/{dagId}/events",
      summary: "The run's event log, read from a cursor",
      params: DagParams,
      query: z.object({
        after: QueryInt(0, LIMITS.maxInteger).optional().openapi({ description: "Cursor from the previous page (0 = from the start)" }),
        limit: QueryInt(1, LIMITS.pageMax).optional(),
      }),
      responses: {
        200: json(z.object({ events: z.array(EventSchema), cursor: z.number().int() }).openapi("EventPage"), "Events after the cursor"),
        ...errorResponses(404),
      },
    },
    async (c, { params: { dagId }, query: { after, limit } }) =>
      c.json(await runs.events(c.var.tenant, dagId, { after: after ?? 0, ...(limit ? { limit } : {}) }), 200),
  );

  serve(
    app,
    {
      method: "post",
      path: "/v1/dags/{dagId}/cancel",
      summary: "Cancel a run: unfinished nodes become cancelled",
      params: DagParams,
      body: {
        required: false,
        schema: z.object({ reason: textSchema(LIMITS.cancelReasonLength).optional() }).openapi("CancelRequest"),
        description: "Optional; an empty body (whatever its Content-Type) is no reason",
      },
      responses: {
        200: json(z.object({ status: RunStatusSchema, changed: z.boolean() }), "Run status after the cancel; changed=false if it had already finished"),
        ...errorResponses(404),
      },
    },
    async (c, { params: { dagId }, body }) => {
      const tenant = c.var.tenant;
      const result = await engine.cancel(tenant, dagId, { actor: "api", ...(body.reason ? { reason: body.reason } : {}) });
      if (result.changed) await afterWrite({ tenant, dagId });
      return c.json(result, 200);
    },
  );
  return app;
}
