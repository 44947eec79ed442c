import { z } from "@hono/zod-openapi";
import { errorResponses } from "../errors.js";
import { serve } from "../serve.js";
import { ClaimBodySchema, json, LeaseMs, NodeParams, PathId, TaskSchema, WorkerId } from "../schemas.js";
import { subApp, type RouteDeps, type WeftApp } from "./deps.js";

/** Handing out work: pull (by agent) and push (one given node). */
export function claimRoutes({ engine, values }: RouteDeps): WeftApp {
  const app = subApp();
  // Claims add nothing to the outbox (node.started is not relayed), so no afterWrite.
  serve(
    app,
    {
      method: "post",
      path: "/v1/agents/{agent}/claim",
      summary: "Claim ready nodes of an agent (pull delivery), each with a lease",
      params: z.object({ agent: PathId }),
      body: { required: false, schema: ClaimBodySchema, description: "Optional; an empty body (whatever its Content-Type) claims one task with the default lease" },
      responses: { 200: json(z.object({ tasks: z.array(TaskSchema) }), "Claimed tasks; empty when nothing is ready") },
    },
    async (c, { params: { agent }, body }) => c.json({ tasks: await values.resolver(c.var.tenant).tasks(await engine.claim(c.var.tenant, agent, body)) }, 200),
  );

  serve(
    app,
    {
      method: "post",
      path: "/v1/dags/{dagId}/nodes/{nodeId}/claim",
      summary: "Claim one given node (push delivery, e.g. on NodeReady)",
      params: NodeParams,
      body: {
        required: false,
        schema: z.object({ leaseMs: LeaseMs.optional(), workerId: WorkerId.optional() }).openapi("ClaimNodeRequest"),
        description: "Optional; an empty body (whatever its Content-Type) uses the default lease",
      },
      responses: { 200: json(z.object({ task: TaskSchema }), "The claimed task"), ...errorResponses(404, 409) },
    },
    async (c, { params: { dagId, nodeId }, body }) => {
      const [task] = await values.resolver(c.var.tenant).tasks([await engine.claimNode(c.var.tenant, dagId, nodeId, body)]);
      return c.json({ task: task! }, 200);
    },
  );
  return app;
}
