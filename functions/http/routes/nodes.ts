import { createRoute, z } from "@hono/zod-openapi";
import { Id } from "@weft/core";
import { errorResponses } from "../errors.js";
import { LeaseMs, LeaseToken, NodeErrorSchema, NodeParams, RunStatusSchema, TaskSchema, WorkerId } from "../schemas.js";
import { subApp, type RouteDeps, type WeftApp } from "./deps.js";

const reportErrors = errorResponses(400, 401, 404, 409, 413, 415, 503);

const complete = createRoute({
  method: "post",
  path: "/v1/dags/{dagId}/nodes/{nodeId}/complete",
  summary: "Report success of the attempt the lease belongs to (idempotent)",
  request: {
    params: NodeParams,
    body: {
      required: true,
      content: {
        "application/json": {
          schema: z
            .object({
              leaseToken: LeaseToken,
              output: z.unknown().optional(),
              workerId: WorkerId.optional(),
              claimNext: z
                .object({
                  agent: Id,
                  max: z.number().int().min(1).max(1000).optional(),
                  leaseMs: LeaseMs.optional(),
                  workerId: WorkerId.optional(),
                })
                .optional()
                .openapi({ description: "Also claim this agent's next tasks in the same round trip" }),
              state: z
                .array(
                  z.object({
                    key: Id,
                    value: z.unknown(),
                    expectedVersion: z.number().int().min(1).optional(),
                    create: z.literal(true).optional(),
                  }),
                )
                .max(100)
                .optional()
                .openapi({
                  description:
                    "Run-scoped shared-state writes applied atomically with the completion (both or neither): each with expectedVersion (compare-and-set) or create: true",
                }),
            })
            .openapi("CompleteRequest"),
        },
      },
    },
  },
  responses: {
    200: {
      description: "Applied, or `duplicate: true` when this completion had already been applied",
      content: {
        "application/json": {
          schema: z
            .object({
              duplicate: z.boolean(),
              ready: z.array(z.string()),
              runStatus: RunStatusSchema,
              next: z.array(TaskSchema).optional(),
            })
            .openapi("CompleteResult"),
        },
      },
    },
    ...reportErrors,
  },
});

const fail = createRoute({
  method: "post",
  path: "/v1/dags/{dagId}/nodes/{nodeId}/fail",
  summary: "Report failure of the attempt; retried per the node's policy when retryable",
  request: {
    params: NodeParams,
    body: {
      required: true,
      content: {
        "application/json": {
          schema: z
            .object({
              leaseToken: LeaseToken,
              error: NodeErrorSchema,
              retryable: z.boolean().optional().openapi({ description: "Default true" }),
              workerId: WorkerId.optional(),
            })
            .openapi("FailRequest"),
        },
      },
    },
  },
  responses: {
    200: {
      description: "The node is retrying or failed",
      content: {
        "application/json": {
          schema: z
            .object({
              status: z.enum(["retrying", "failed"]),
              retryAt: z.number().int().optional(),
              runStatus: RunStatusSchema,
              duplicate: z.boolean(),
            })
            .openapi("FailResult"),
        },
      },
    },
    ...reportErrors,
  },
});

const heartbeat = createRoute({
  method: "post",
  path: "/v1/dags/{dagId}/nodes/{nodeId}/heartbeat",
  summary: "Extend the lease of a running attempt",
  request: {
    params: NodeParams,
    body: { required: true, content: { "application/json": { schema: z.object({ leaseToken: LeaseToken, leaseMs: LeaseMs.optional() }) } } },
  },
  responses: {
    200: { description: "The new lease expiry", content: { "application/json": { schema: z.object({ leaseExpiresAt: z.number().int() }) } } },
    ...errorResponses(400, 401, 404, 409, 415, 503),
  },
});

const release = createRoute({
  method: "post",
  path: "/v1/dags/{dagId}/nodes/{nodeId}/release",
  summary: "Give back the lease of an unfinished attempt (a worker shutting down): the node is ready again and the attempt does not count toward maxAttempts",
  request: {
    params: NodeParams,
    body: {
      required: true,
      content: { "application/json": { schema: z.object({ leaseToken: LeaseToken, workerId: WorkerId.optional() }).openapi("ReleaseRequest") } },
    },
  },
  responses: {
    200: {
      description: "The node is ready again",
      content: {
        "application/json": {
          schema: z.object({ status: z.literal("ready"), attempt: z.number().int() }).openapi("ReleaseResult"),
        },
      },
    },
    ...errorResponses(400, 401, 404, 409, 415, 503),
  },
});

const parents = createRoute({
  method: "get",
  path: "/v1/dags/{dagId}/nodes/{nodeId}/parents",
  summary: "Outputs of the node's dependencies by node id (dependencies without an output are left out)",
  request: { params: NodeParams },
  responses: {
    200: {
      description: "The dependencies' outputs",
      content: {
        "application/json": {
          schema: z.object({ parents: z.record(z.string(), z.unknown()) }).openapi("ParentOutputs"),
        },
      },
    },
    ...errorResponses(400, 401, 404, 503),
  },
});

export function nodeRoutes({ engine, afterWrite }: RouteDeps): WeftApp {
  const app = subApp();
  app.openapi(complete, async (c) => {
    const tenant = c.var.tenant;
    const { dagId, nodeId } = c.req.valid("param");
    const { leaseToken, output, workerId, claimNext, state } = c.req.valid("json");
    const result = await engine.complete(tenant, dagId, nodeId, leaseToken, output, {
      ...(workerId ? { workerId } : {}),
      ...(claimNext ? { claimNext } : {}),
      ...(state ? { state } : {}),
    });
    if (!result.duplicate) await afterWrite({ tenant, dagId });
    return c.json(result, 200);
  });

  app.openapi(fail, async (c) => {
    const tenant = c.var.tenant;
    const { dagId, nodeId } = c.req.valid("param");
    const { leaseToken, error, retryable, workerId } = c.req.valid("json");
    const result = await engine.fail(tenant, dagId, nodeId, leaseToken, error, retryable, workerId ? { workerId } : undefined);
    if (!result.duplicate) await afterWrite({ tenant, dagId });
    return c.json(result, 200);
  });

  app.openapi(heartbeat, async (c) => {
    const { dagId, nodeId } = c.req.valid("param");
    const { leaseToken, leaseMs } = c.req.valid("json");
    return c.json(await engine.heartbeat(c.var.tenant, dagId, nodeId, leaseToken, leaseMs), 200);
  });

  app.openapi(release, async (c) => {
    const tenant = c.var.tenant;
    const { dagId, nodeId } = c.req.valid("param");
    const { leaseToken, workerId } = c.req.valid("json");
    const result = await engine.release(tenant, dagId, nodeId, leaseToken, workerId ? { workerId } : undefined);
    await afterWrite({ tenant, dagId });
    return c.json(result, 200);
  });

  app.openapi(parents, async (c) => {
    const { dagId, nodeId } = c.req.valid("param");
    return c.json({ parents: await engine.parentOutputs(c.var.tenant, dagId, nodeId) }, 200);
  });
  return app;
}
