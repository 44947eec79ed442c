import { z } from "@hono/zod-openapi";
import { IdSchema, LIMITS } from "@weft/core/checks";
import { errorResponses } from "../errors.js";
import { serve } from "../serve.js";
import { Counts, DagParams, json, NodeStatusSchema, QueryInt, RunStatusSchema } from "../schemas.js";
import { subApp, type RouteDeps, type WeftApp } from "./deps.js";

/** A run's past and second chances: time travel, redrive, rewind (hot or archived). */

const ResetResultSchema = z
  .object({
    status: RunStatusSchema,
    reset: z.array(z.string()).openapi({ description: "Nodes put back to pending" }),
    ready: z.array(z.string()).openapi({ description: "Of those, the ones ready at once" }),
    removed: z
      .array(z.string())
      .optional()
      .openapi({ description: "Nodes a rewind removed: those the rewound nodes had added while the run ran (and what those added)" }),
  })
  .openapi("ResetResult");

const RunAtSchema = z
  .object({
    dagId: z.string(),
    seq: z.number().int(),
    at: z.number().int(),
    status: RunStatusSchema,
    counts: Counts,
    nodes: z.array(z.object({ id: z.string(), agent: z.string(), deps: z.array(z.string()), status: NodeStatusSchema, attempt: z.number().int() })),
  })
  .openapi("RunAt");

export function recoveryRoutes({ runs, afterWrite }: RouteDeps): WeftApp {
  const app = subApp();

  serve(
    app,
    {
      method: "get",
      path: "/v1/dags/{dagId}/history",
      summary: "The run as it was just after event `at` of its log",
      params: DagParams,
      query: z.object({ at: QueryInt(1, LIMITS.maxInteger).openapi({ description: "An event seq" }) }),
      responses: { 200: json(RunAtSchema, "The run's state at that point"), ...errorResponses(404, 422) },
    },
    async (c, { params: { dagId }, query: { at } }) => c.json(await runs.history(c.var.tenant, dagId, at), 200),
  );

  serve(
    app,
    {
      method: "post",
      path: "/v1/dags/{dagId}/redrive",
      summary: "Re-run the failed, cancelled and skipped nodes of a finished run, keeping succeeded outputs",
      params: DagParams,
      body: { required: false, schema: z.object({}).openapi("RedriveRequest"), description: "None; an empty body (whatever its Content-Type) or {}" },
      responses: { 200: json(ResetResultSchema, "Nodes reset"), ...errorResponses(404, 409) },
    },
    async (c, { params: { dagId } }) => {
      const tenant = c.var.tenant;
      const result = await runs.redrive(tenant, dagId, { actor: "api" });
      await afterWrite({ tenant, dagId });
      return c.json(result, 200);
    },
  );

  serve(
    app,
    {
      method: "post",
      path: "/v1/dags/{dagId}/rewind",
      summary: "Reset a node and its descendants and run again from there",
      params: DagParams,
      body: { required: true, schema: z.object({ nodeId: IdSchema }).openapi("RewindRequest") },
      responses: { 200: json(ResetResultSchema, "Nodes reset"), ...errorResponses(404, 409) },
    },
    async (c, { params: { dagId }, body }) => {
      const tenant = c.var.tenant;
      const result = await runs.rewind(tenant, dagId, body.nodeId, { actor: "api" });
      await afterWrite({ tenant, dagId });
      return c.json(result, 200);
    },
  );
  return app;
}
