import { createRoute, z } from "@hono/zod-openapi";
import { RunSpecSchema } from "@weft/core";
import { errorResponses } from "../errors.js";
import { DagParams, NodeStatusSchema, RunStatusSchema } from "../schemas.js";
import { subApp, type RouteDeps, type WeftApp } from "./deps.js";

const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { "application/json": { schema } } });

const SubmitResponseSchema = z
  .object({
    dagId: z.string(),
    status: RunStatusSchema,
    ready: z.array(z.string()).openapi({ description: "Nodes ready now (roots on create)" }),
    created: z.boolean().openapi({ description: "False on an idempotent replay" }),
  })
  .openapi("SubmitResult");

const submit = createRoute({
  method: "post",
  path: "/v1/dags",
  summary: "Submit a run (a DAG of agent tasks)",
  request: { body: { required: true, content: { "application/json": { schema: RunSpecSchema } } } },
  responses: {
    201: json(SubmitResponseSchema, "Run created"),
    200: json(SubmitResponseSchema, "Same idempotencyKey (or id) as an existing run: that run"),
    ...errorResponses(400, 401, 413, 415, 422, 429, 503),
  },
});

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
    counts: z.record(NodeStatusSchema, z.number().int()),
    nodes: z.array(NodeViewSchema),
  })
  .openapi("Run");

const getRun = createRoute({
  method: "get",
  path: "/v1/dags/{dagId}",
  summary: "A run with each node's status, attempt, output and error",
  request: {
    params: DagParams,
    query: z.object({
      include: z.enum(["input"]).optional().openapi({ description: "Also return each node's input" }),
    }),
  },
  responses: { 200: json(RunViewSchema, "The run"), ...errorResponses(400, 401, 404, 503) },
});

const cancel = createRoute({
  method: "post",
  path: "/v1/dags/{dagId}/cancel",
  summary: "Cancel a run: unfinished nodes become cancelled",
  request: {
    params: DagParams,
    body: { required: false, content: { "application/json": { schema: z.object({ reason: z.string().max(1024).optional() }) } } },
  },
  responses: {
    200: json(z.object({ status: RunStatusSchema, changed: z.boolean() }), "Run status after the cancel; changed=false if it had already finished"),
    ...errorResponses(400, 401, 404, 415, 503),
  },
});

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

const events = createRoute({
  method: "get",
  path: "/v1/dags/{dagId}/events",
  summary: "The run's event log, read from a cursor",
  request: {
    params: DagParams,
    query: z.object({
      after: z.coerce.number().int().min(0).optional().openapi({ description: "Cursor from the previous page (0 = from the start)" }),
      limit: z.coerce.number().int().min(1).max(1000).optional(),
    }),
  },
  responses: {
    200: json(z.object({ events: z.array(EventSchema), cursor: z.number().int() }).openapi("EventPage"), "Events after the cursor"),
    ...errorResponses(400, 401, 404, 503),
  },
});

export function dagRoutes({ engine, runs, afterWrite }: RouteDeps): WeftApp {
  const app = subApp();
  app.openapi(submit, async (c) => {
    const tenant = c.var.tenant;
    const result = await engine.submit(tenant, c.req.valid("json"));
    // Also on a replay: a crash after the first submit's write may have left its events unsent.
    await afterWrite({ tenant, dagId: result.dagId });
    return c.json(result, result.created ? 201 : 200);
  });

  app.openapi(getRun, async (c) => {
    const { dagId } = c.req.valid("param");
    const { include } = c.req.valid("query");
    const run = await runs.getRun(c.var.tenant, dagId, { output: true, input: include === "input" });
    return c.json(run, 200);
  });

  app.openapi(cancel, async (c) => {
    const tenant = c.var.tenant;
    const { dagId } = c.req.valid("param");
    const { reason } = c.req.valid("json");
    const result = await engine.cancel(tenant, dagId, { actor: "api", ...(reason ? { reason } : {}) });
    if (result.changed) await afterWrite({ tenant, dagId });
    return c.json(result, 200);
  });

  app.openapi(events, async (c) => {
    const { dagId } = c.req.valid("param");
    const { after, limit } = c.req.valid("query");
    return c.json(await runs.events(c.var.tenant, dagId, { after: after ?? 0, ...(limit ? { limit } : {}) }), 200);
  });
  return app;
}
