import { z } from "@hono/zod-openapi";
import { AdditionSchema } from "@weft/core/validation";
import { LIMITS, VersionSchema } from "@weft/core/checks";
import { errorResponses } from "../errors.js";
import { serve } from "../serve.js";
import { ClaimMax, DagParams, json, LeaseMs, LeaseToken, NodeErrorSchema, NodeParams, NodeStatusSchema, PathId, RunStatusSchema, TaskSchema, ValuesQuery, WorkerId } from "../schemas.js";
import { subApp, type RouteDeps, type WeftApp } from "./deps.js";

/** A worker's reports on the attempt it holds the lease of, and what it reads to do it. */

const CompleteRequest = z
  .object({
    leaseToken: LeaseToken,
    output: z.unknown().optional(),
    workerId: WorkerId.optional(),
    claimNext: z
      .object({ agent: PathId, max: ClaimMax.optional(), leaseMs: LeaseMs.optional(), workerId: WorkerId.optional() })
      
      .optional()
      .openapi({ description: "Also claim this agent's next tasks in the same round trip" }),
    state: z
      .array(
        z
          .object({
            key: PathId,
            value: z.unknown(),
            expectedVersion: VersionSchema.min(1).optional(),
            create: z.literal(true).optional(),
          }),
      )
      .max(LIMITS.stateWritesPerCompletion)
      .optional()
      .openapi({
        description:
          "Run-scoped shared-state writes applied atomically with the completion (both or neither): each with expectedVersion (compare-and-set) or create: true (not both: 422)",
      }),
    // Nodes and deps the completion adds, applied in the same script before the node's children are released.
    add: AdditionSchema.optional(),
  })
  
  .openapi("CompleteRequest");

const CompleteResult = z
  .object({ duplicate: z.boolean(), ready: z.array(z.string()), runStatus: RunStatusSchema, next: z.array(TaskSchema).optional() })
  .openapi("CompleteResult");

const GrowResult = z
  .object({
    added: z.array(z.string()).openapi({ description: "Ids of the nodes added" }),
    ready: z.array(z.string()).openapi({ description: "Nodes ready now because of the addition" }),
  })
  .openapi("AddResult");

const ExtendRequest = z
  .object({ leaseToken: LeaseToken, nodes: AdditionSchema.shape.nodes, deps: AdditionSchema.shape.deps })
  .strict()
  .openapi("ExtendRequest");

const FailRequest = z
  .object({
    leaseToken: LeaseToken,
    error: NodeErrorSchema,
    retryable: z.boolean().optional().openapi({ description: "Default true" }),
    workerId: WorkerId.optional(),
  })
  
  .openapi("FailRequest");

const FailResult = z
  .object({ status: z.enum(["retrying", "failed"]), retryAt: z.number().int().optional(), runStatus: RunStatusSchema, duplicate: z.boolean() })
  .openapi("FailResult");

export function nodeRoutes({ engine, afterWrite, values }: RouteDeps): WeftApp {
  const app = subApp();

  serve(
    app,
    {
      method: "post",
      path: "/v1/dags/{dagId}/nodes/{nodeId}/complete",
      summary: "Report success of the attempt the lease belongs to (idempotent)",
      params: NodeParams,
      body: { required: true, schema: CompleteRequest },
      responses: {
        200: json(CompleteResult, "Applied, or `duplicate: true` when this completion had already been applied"),
        ...errorResponses(404, 409, 413, 422),
      },
    },
    async (c, { params: { dagId, nodeId }, body: { leaseToken, output, workerId, claimNext, state, add } }) => {
      const tenant = c.var.tenant;
      const stored = await values.incoming({ tenant, dagId, nodeId, field: "output" }, output);
      const result = await engine.complete(tenant, { dagId, nodeId, leaseToken }, stored, {
        ...(workerId ? { workerId } : {}),
        ...(claimNext ? { claimNext } : {}),
        ...(state ? { state } : {}),
        ...(add ? { add: await values.incomingNodes(tenant, dagId, add, "add.") } : {}),
      });
      if (!result.duplicate) await afterWrite({ tenant, dagId });
      return c.json(result.next ? { ...result, next: await values.resolver(tenant).tasks(result.next) } : result, 200);
    },
  );

  serve(
    app,
    {
      method: "post",
      path: "/v1/dags/{dagId}/nodes/{nodeId}/fail",
      summary: "Report failure of the attempt; retried per the node's policy when retryable",
      params: NodeParams,
      body: { required: true, schema: FailRequest },
      responses: { 200: json(FailResult, "The node is retrying or failed"), ...errorResponses(404, 409) },
    },
    async (c, { params: { dagId, nodeId }, body: { leaseToken, error, retryable, workerId } }) => {
      const tenant = c.var.tenant;
      const result = await engine.fail(tenant, { dagId, nodeId, leaseToken }, error, { ...(retryable !== undefined ? { retryable } : {}), ...(workerId ? { workerId } : {}) });
      if (!result.duplicate) await afterWrite({ tenant, dagId });
      return c.json(result, 200);
    },
  );

  serve(
    app,
    {
      method: "post",
      path: "/v1/dags/{dagId}/nodes/{nodeId}/heartbeat",
      summary: "Extend the lease of a running attempt",
      params: NodeParams,
      body: { required: true, schema: z.object({ leaseToken: LeaseToken, leaseMs: LeaseMs.optional() }).openapi("HeartbeatRequest") },
      responses: { 200: json(z.object({ leaseExpiresAt: z.number().int() }), "The new lease expiry"), ...errorResponses(404, 409) },
    },
    async (c, { params: { dagId, nodeId }, body: { leaseToken, leaseMs } }) =>
      c.json(await engine.heartbeat(c.var.tenant, { dagId, nodeId, leaseToken }, leaseMs), 200),
  );

  serve(
    app,
    {
      method: "post",
      path: "/v1/dags/{dagId}/nodes/{nodeId}/release",
      summary:
        "Give back the lease of an unfinished attempt (a worker shutting down): the node is ready again and the attempt does not count toward maxAttempts",
      params: NodeParams,
      body: { required: true, schema: z.object({ leaseToken: LeaseToken, workerId: WorkerId.optional() }).openapi("ReleaseRequest") },
      responses: {
        200: json(z.object({ status: z.literal("ready"), attempt: z.number().int() }).openapi("ReleaseResult"), "The node is ready again"),
        ...errorResponses(404, 409),
      },
    },
    async (c, { params: { dagId, nodeId }, body: { leaseToken, workerId } }) => {
      const tenant = c.var.tenant;
      const result = await engine.release(tenant, { dagId, nodeId, leaseToken }, workerId ? { workerId } : undefined);
      await afterWrite({ tenant, dagId });
      return c.json(result, 200);
    },
  );

  serve(
    app,
    {
      method: "post",
      path: "/v1/dags/{dagId}/nodes/{nodeId}/extend",
      summary: "A running node adds nodes and dependencies to its run without finishing (fenced by its lease; the same extension twice in one attempt is a duplicate)",
      params: NodeParams,
      body: { required: true, schema: ExtendRequest },
      responses: {
        200: json(GrowResult.extend({ duplicate: z.boolean() }).openapi("ExtendResult"), "Applied, or `duplicate: true` when this attempt had already made this extension"),
        ...errorResponses(404, 409, 413, 422),
      },
    },
    async (c, { params: { dagId, nodeId }, body: { leaseToken, ...addition } }) => {
      const tenant = c.var.tenant;
      const result = await engine.extend(tenant, { dagId, nodeId, leaseToken }, await values.incomingNodes(tenant, dagId, addition));
      if (!result.duplicate) await afterWrite({ tenant, dagId });
      return c.json(result, 200);
    },
  );

  serve(
    app,
    {
      method: "post",
      path: "/v1/dags/{dagId}/nodes",
      summary: "Add nodes and dependencies to a running run from outside it (409 once the run has ended: redrive or rewind it)",
      params: DagParams,
      body: { required: true, schema: AdditionSchema },
      responses: { 200: json(GrowResult, "Applied"), ...errorResponses(404, 409, 413, 422) },
    },
    async (c, { params: { dagId }, body }) => {
      const tenant = c.var.tenant;
      const result = await engine.addNodes(tenant, dagId, await values.incomingNodes(tenant, dagId, body), { actor: "api" });
      await afterWrite({ tenant, dagId });
      return c.json(result, 200);
    },
  );

  serve(
    app,
    {
      method: "get",
      path: "/v1/dags/{dagId}/nodes/{nodeId}/parents",
      summary: "Outputs of the node's dependencies by node id (dependencies without an output are left out)",
      params: NodeParams,
      query: z.object({ values: ValuesQuery }),
      responses: {
        200: json(
          z.object({ parents: z.record(z.string(), z.unknown()), notSucceeded: z.record(z.string(), NodeStatusSchema) }).openapi("ParentOutputs"),
          "The dependencies' outputs, and the status of each dependency that did not succeed (a join may run without them)",
        ),
        ...errorResponses(404),
      },
    },
    async (c, { params: { dagId, nodeId }, query: { values: mode } }) => {
      const r = await engine.parents(c.var.tenant, dagId, nodeId);
      return c.json({ parents: await values.resolver(c.var.tenant, mode).record(r.outputs, dagId), notSucceeded: r.notSucceeded }, 200);
    },
  );
  return app;
}
