import { createRoute, z } from "@hono/zod-openapi";
import { Id } from "@weft/core";
import { errorResponses } from "../errors.js";
import { DagParams, NodeStatusSchema, RunStatusSchema } from "../schemas.js";
import { subApp, type RouteDeps, type WeftApp } from "./deps.js";

/** Runs over their whole life: listing, time travel, and resuming finished runs (hot or archived). */

const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { "application/json": { schema } } });

const Counts = z.record(NodeStatusSchema, z.number().int());

const list = createRoute({
  method: "get",
  path: "/v1/dags",
  summary: "The tenant's runs, newest first",
  request: {
    query: z.object({
      status: RunStatusSchema.optional(),
      since: z.coerce.number().int().min(0).optional().openapi({ description: "Epoch ms: runs created at or after it" }),
      limit: z.coerce.number().int().min(1).max(1000).optional(),
      cursor: z.string().min(1).max(2048).optional().openapi({ description: "From the previous page" }),
    }),
  },
  responses: {
    200: json(
      z
        .object({
          runs: z.array(
            z.object({ dagId: z.string(), status: RunStatusSchema, createdAt: z.number().int(), finishedAt: z.number().int().optional(), counts: Counts }),
          ),
          cursor: z.string().optional(),
        })
        .openapi("RunList"),
      "A page of runs; pass `cursor` back for the next",
    ),
    ...errorResponses(400, 401, 503),
  },
});

const history = createRoute({
  method: "get",
  path: "/v1/dags/{dagId}/history",
  summary: "The run as it was just after event `at` of its log",
  request: { params: DagParams, query: z.object({ at: z.coerce.number().int().min(1).openapi({ description: "An event seq" }) }) },
  responses: {
    200: json(
      z
        .object({
          dagId: z.string(),
          seq: z.number().int(),
          at: z.number().int(),
          status: RunStatusSchema,
          counts: Counts,
          nodes: z.array(z.object({ id: z.string(), agent: z.string(), status: NodeStatusSchema, attempt: z.number().int() })),
        })
        .openapi("RunAt"),
      "The run's state at that point",
    ),
    ...errorResponses(400, 401, 404, 422, 503),
  },
});

const ResetResultSchema = z
  .object({
    status: RunStatusSchema,
    reset: z.array(z.string()).openapi({ description: "Nodes put back to pending" }),
    ready: z.array(z.string()).openapi({ description: "Of those, the ones ready at once" }),
  })
  .openapi("ResetResult");

const redrive = createRoute({
  method: "post",
  path: "/v1/dags/{dagId}/redrive",
  summary: "Re-run the failed, cancelled and skipped nodes of a finished run, keeping succeeded outputs",
  request: { params: DagParams },
  responses: { 200: json(ResetResultSchema, "Nodes reset"), ...errorResponses(401, 404, 409, 503) },
});

const rewind = createRoute({
  method: "post",
  path: "/v1/dags/{dagId}/rewind",
  summary: "Reset a node and its descendants and run again from there",
  request: {
    params: DagParams,
    body: { required: true, content: { "application/json": { schema: z.object({ nodeId: Id }).openapi("RewindRequest") } } },
  },
  responses: { 200: json(ResetResultSchema, "Nodes reset"), ...errorResponses(400, 401, 404, 409, 415, 503) },
});

export function runRoutes({ runs, afterWrite }: RouteDeps): WeftApp {
  const app = subApp();
  app.openapi(list, async (c) => {
    const { status, since, limit, cursor } = c.req.valid("query");
    const page = await runs.listRuns(c.var.tenant, {
      ...(status ? { status } : {}),
      ...(since !== undefined ? { since } : {}),
      ...(limit ? { limit } : {}),
      ...(cursor ? { cursor } : {}),
    });
    return c.json(page, 200);
  });

  app.openapi(history, async (c) => {
    const { dagId } = c.req.valid("param");
    return c.json(await runs.history(c.var.tenant, dagId, c.req.valid("query").at), 200);
  });

  app.openapi(redrive, async (c) => {
    const tenant = c.var.tenant;
    const { dagId } = c.req.valid("param");
    const result = await runs.redrive(tenant, dagId, { actor: "api" });
    await afterWrite({ tenant, dagId });
    return c.json(result, 200);
  });

  app.openapi(rewind, async (c) => {
    const tenant = c.var.tenant;
    const { dagId } = c.req.valid("param");
    const result = await runs.rewind(tenant, dagId, c.req.valid("json").nodeId, { actor: "api" });
    await afterWrite({ tenant, dagId });
    return c.json(result, 200);
  });
  return app;
}
