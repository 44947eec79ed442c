import { createRoute, z } from "@hono/zod-openapi";
import { Id, WaitSpecSchema } from "@weft/core";
import { errorResponses } from "../errors.js";
import { DagParams, LeaseToken, NodeErrorSchema, NodeParams, NodeStatusSchema, RunStatusSchema, WorkerId } from "../schemas.js";
import { subApp, type RouteDeps, type WeftApp } from "./deps.js";

/**
 * Waiting for people and the world: signals that end a wait (with the tenant's key, by
 * an unguessable token without it, by a key across runs), agents that suspend, runs
 * that pause. `/v1/signals/{token}` is the one /v1 route without the tenant's key
 * (app.ts lets it through): the token is the whole authority, and every answer about a
 * token that does not work is the same 404.
 */

const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { "application/json": { schema } } });
const body = <T extends z.ZodType>(schema: T) => ({ required: true, content: { "application/json": { schema } } });

/** Said once: what a signal carries. */
const SignalBody = z
  .object({
    output: z.unknown().optional().openapi({ description: "Ends the wait with this output (an approval and its data); the default when neither is given: null" }),
    error: NodeErrorSchema.optional().openapi({ description: "Fails the node (a rejection): no retry; the run's failure policy applies" }),
    by: z.string().min(1).max(256).optional().openapi({ description: "Who decided, for the log and the run", example: "ana@example.com" }),
    signalId: z.string().min(1).max(256).optional().openapi({ description: "The same signalId again is a duplicate, not a conflict" }),
  })
  .openapi("Signal");

const SignalResultSchema = z
  .object({
    status: NodeStatusSchema.openapi({ description: "The node's status now: succeeded, failed, or ready (a suspended agent resumes)" }),
    runStatus: RunStatusSchema,
    duplicate: z.boolean(),
  })
  .openapi("SignalResult");

const RunChange = z.object({ status: RunStatusSchema, changed: z.boolean() }).openapi("RunChange");

const signal = createRoute({
  method: "post",
  path: "/v1/dags/{dagId}/nodes/{nodeId}/signal",
  summary: "End a waiting node's wait: output approves (the node succeeds, or a suspended agent resumes with it), error rejects (the node fails)",
  request: { params: NodeParams, body: body(SignalBody) },
  responses: {
    200: json(SignalResultSchema, "The wait ended, or `duplicate: true` when this signalId had already ended it"),
    ...errorResponses(400, 401, 404, 409, 413, 415, 503),
  },
});

const signalByToken = createRoute({
  method: "post",
  path: "/v1/signals/{token}",
  summary: "End the wait a signal URL was issued for, without the tenant's key (a webhook, a chat button); single use",
  security: [],
  request: { params: z.object({ token: z.string().min(1).max(1024) }), body: body(SignalBody) },
  responses: {
    200: json(SignalResultSchema, "The wait ended (or `duplicate: true`)"),
    ...errorResponses(400, 404, 413, 415, 503),
  },
});

const signalKey = createRoute({
  method: "post",
  path: "/v1/signals",
  summary: "End every wait of the tenant on `key`, in any run; a signal before anyone waits is not kept",
  request: { body: body(SignalBody.extend({ key: Id }).openapi("KeySignal")) },
  responses: {
    200: json(
      z
        .object({
          signalled: z.number().int(),
          nodes: z.array(z.object({ dagId: z.string(), nodeId: z.string(), status: NodeStatusSchema })),
        })
        .openapi("KeySignalResult"),
      "How many waits it ended, and which",
    ),
    ...errorResponses(400, 401, 413, 415, 503),
  },
});

const suspend = createRoute({
  method: "post",
  path: "/v1/dags/{dagId}/nodes/{nodeId}/suspend",
  summary: "End the attempt to wait for a signal (not a failure, not counted); its output makes the node ready again, and the next attempt's task carries it",
  request: {
    params: NodeParams,
    body: body(
      z
        .object({
          leaseToken: LeaseToken,
          wait: WaitSpecSchema,
          input: z.unknown().optional().openapi({ description: "What to decide, shown with the wait" }),
          workerId: WorkerId.optional(),
        })
        .openapi("SuspendRequest"),
    ),
  },
  responses: {
    200: json(
      z
        .object({
          status: z.literal("waiting"),
          attempt: z.number().int(),
          timeoutAt: z.number().int().optional(),
          signalToken: z.string().optional().openapi({ description: "The wait's token for POST /v1/signals/{token}, when a signing secret is configured" }),
        })
        .openapi("SuspendResult"),
      "The node waits",
    ),
    ...errorResponses(400, 401, 404, 409, 413, 415, 503),
  },
});

const pause = createRoute({
  method: "post",
  path: "/v1/dags/{dagId}/pause",
  summary: "Pause a run: no node of it is handed out until resume; running attempts finish normally",
  request: { params: DagParams },
  responses: { 200: json(RunChange, "Paused (changed=false: it already was)"), ...errorResponses(400, 401, 404, 409, 503) },
});

const resume = createRoute({
  method: "post",
  path: "/v1/dags/{dagId}/resume",
  summary: "Resume a paused run: its ready nodes are handed out and announced (NodeReady) again",
  request: { params: DagParams },
  responses: { 200: json(RunChange, "Running (changed=false: it was not paused)"), ...errorResponses(400, 401, 404, 503) },
});

/** The path app.ts serves without the tenant's key. */
export const isTokenSignalPath = (path: string) => /^\/v1\/signals\/[^/]+$/.test(path);

export function waitRoutes({ engine, afterWrite }: RouteDeps): WeftApp {
  const app = subApp();

  app.openapi(signal, async (c) => {
    const tenant = c.var.tenant;
    const { dagId, nodeId } = c.req.valid("param");
    const result = await engine.signal(tenant, dagId, nodeId, c.req.valid("json"));
    if (!result.duplicate) await afterWrite({ tenant, dagId });
    return c.json(result, 200);
  });

  app.openapi(signalByToken, async (c) => {
    const { tenant, dagId, nodeId: _node, ...result } = await engine.signalByToken(c.req.valid("param").token, c.req.valid("json"));
    if (!result.duplicate) await afterWrite({ tenant, dagId });
    return c.json(result, 200);
  });

  app.openapi(signalKey, async (c) => {
    const tenant = c.var.tenant;
    const { key, ...sig } = c.req.valid("json");
    const result = await engine.signalKey(tenant, key, sig);
    for (const dagId of new Set(result.nodes.map((n) => n.dagId))) await afterWrite({ tenant, dagId });
    return c.json(result, 200);
  });

  app.openapi(suspend, async (c) => {
    const tenant = c.var.tenant;
    const { dagId, nodeId } = c.req.valid("param");
    const { leaseToken, wait, input, workerId } = c.req.valid("json");
    const result = await engine.suspend(tenant, { dagId, nodeId, leaseToken }, wait, {
      ...(input !== undefined ? { input } : {}),
      ...(workerId ? { workerId } : {}),
    });
    await afterWrite({ tenant, dagId });
    return c.json(result, 200);
  });

  app.openapi(pause, async (c) => {
    const { dagId } = c.req.valid("param");
    return c.json(await engine.pause(c.var.tenant, dagId, { actor: "api" }), 200);
  });

  app.openapi(resume, async (c) => {
    const tenant = c.var.tenant;
    const { dagId } = c.req.valid("param");
    const result = await engine.resume(tenant, dagId, { actor: "api" });
    if (result.changed) await afterWrite({ tenant, dagId });
    return c.json(result, 200);
  });

  return app;
}
