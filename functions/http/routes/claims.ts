import { createRoute, z } from "@hono/zod-openapi";
import { Id } from "@weft/core";
import { errorResponses } from "../errors.js";
import { ClaimBodySchema, LeaseMs, NodeParams, TaskSchema, WorkerId } from "../schemas.js";
import { subApp, type RouteDeps, type WeftApp } from "./deps.js";

const claimByAgent = createRoute({
  method: "post",
  path: "/v1/agents/{agent}/claim",
  summary: "Claim ready nodes of an agent (pull delivery), each with a lease",
  request: {
    params: z.object({ agent: Id }),
    body: { required: true, content: { "application/json": { schema: ClaimBodySchema } } },
  },
  responses: {
    200: {
      description: "Claimed tasks; empty when nothing is ready",
      content: { "application/json": { schema: z.object({ tasks: z.array(TaskSchema) }) } },
    },
    ...errorResponses(400, 401, 415, 503),
  },
});

const claimNode = createRoute({
  method: "post",
  path: "/v1/dags/{dagId}/nodes/{nodeId}/claim",
  summary: "Claim one given node (push delivery, e.g. on NodeReady)",
  request: {
    params: NodeParams,
    body: {
      required: true,
      content: { "application/json": { schema: z.object({ leaseMs: LeaseMs.optional(), workerId: WorkerId.optional() }) } },
    },
  },
  responses: {
    200: { description: "The claimed task", content: { "application/json": { schema: z.object({ task: TaskSchema }) } } },
    ...errorResponses(400, 401, 404, 409, 415, 503),
  },
});

export function claimRoutes({ engine }: RouteDeps): WeftApp {
  const app = subApp();
  // Claims add nothing to the outbox (node.started is not relayed), so no afterWrite.
  app.openapi(claimByAgent, async (c) => {
    const { agent } = c.req.valid("param");
    const tasks = await engine.claim(c.var.tenant, agent, c.req.valid("json"));
    return c.json({ tasks }, 200);
  });

  app.openapi(claimNode, async (c) => {
    const { dagId, nodeId } = c.req.valid("param");
    const task = await engine.claimNode(c.var.tenant, dagId, nodeId, c.req.valid("json"));
    return c.json({ task }, 200);
  });
  return app;
}
