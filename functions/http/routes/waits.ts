import { z } from "@hono/zod-openapi";
import { IdSchema, textSchema } from "@weft/core/checks";
import { ValidationError } from "@weft/core";
import { isValueRef } from "@weft/core/sdk";
import { WaitSpecSchema } from "@weft/core/validation";
import { errorResponses } from "../errors.js";
import { serve } from "../serve.js";
import { DagParams, json, LeaseToken, NodeErrorSchema, NodeParams, NodeStatusSchema, RunStatusSchema, WorkerId } from "../schemas.js";
import { subApp, type RouteDeps, type WeftApp } from "./deps.js";

/**
 * Waiting for people and the world: signals that end a wait (with the tenant's key, by
 * an unguessable token without it, by a key across runs), agents that suspend, runs
 * that pause. `/v1/signals/{token}` is the one /v1 route without the tenant's key
 * (app.ts lets it through): the token is the whole authority, and every answer about a
 * token that does not work is the same 404.
 */

/** Said once: what a signal carries. */
const SignalBody = z
  .object({
    output: z.unknown().optional().openapi({ description: "Ends the wait with this output (an approval and its data); the default when neither is given: null" }),
    error: NodeErrorSchema.optional().openapi({ description: "Fails the node (a rejection): no retry; the run's failure policy applies" }),
    by: textSchema(256).optional().openapi({ description: "Who decided, for the log and the run", example: "ana@example.com" }),
    signalId: textSchema(256).optional().openapi({ description: "The same signalId again is a duplicate, not a conflict" }),
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
const NoBody = { required: false, schema: z.object({}), description: "None; an empty body (whatever its Content-Type) or {}" } as const;

/** The path app.ts serves without the tenant's key. */
export const isTokenSignalPath = (path: string) => /^\/v1\/signals\/[^/]+$/.test(path);

export function waitRoutes({ engine, afterWrite, values }: RouteDeps): WeftApp {
  /** A signal's output as the engine takes it: over the threshold, in S3 under the node it ends the wait of. */
  const incomingSignal = async <T extends { output?: unknown }>(target: { tenant: string; dagId: string; nodeId: string }, body: T): Promise<T> =>
    body?.output === undefined ? body : { ...body, output: await values.incoming({ ...target, field: "output" }, body.output) };

  const app = subApp();

  serve(
    app,
    {
      method: "post",
      path: "/v1/dags/{dagId}/nodes/{nodeId}/signal",
      summary: "End a waiting node's wait: output approves (the node succeeds, or a suspended agent resumes with it), error rejects (the node fails)",
      params: NodeParams,
      body: { required: true, schema: SignalBody },
      responses: { 200: json(SignalResultSchema, "The wait ended, or `duplicate: true` when this signalId had already ended it"), ...errorResponses(404, 409, 422) },
    },
    async (c, { params: { dagId, nodeId }, body }) => {
      const tenant = c.var.tenant;
      const result = await engine.signal(tenant, dagId, nodeId, await incomingSignal({ tenant, dagId, nodeId }, body));
      if (!result.duplicate) await afterWrite({ tenant, dagId });
      return c.json(result, 200);
    },
  );

  serve(
    app,
    {
      method: "post",
      path: "/v1/signals/{token}",
      summary: "End the wait a signal URL was issued for, without the tenant's key (a webhook, a chat button); single use",
      keyless: true,
      params: z.object({ token: z.string().min(1).max(1024) }),
      body: { required: false, schema: SignalBody, description: "A signal; an empty body approves with output null" },
      responses: { 200: json(SignalResultSchema, "The wait ended (or `duplicate: true`)"), ...errorResponses(404, 422) },
    },
    async (c, { params: { token }, body }) => {
      // Its caller has no key, so no upload of its own: a reference from it is never one it may set.
      if (isValueRef(body?.output)) throw new ValidationError("output must be a value, not a reference ($weftValue): a signal URL cannot upload", "output");
      const { tenant, dagId, nodeId: _node, ...result } = await engine.signalByToken(token, body, { prepare: (target) => incomingSignal(target, body) });
      if (!result.duplicate) await afterWrite({ tenant, dagId });
      return c.json(result, 200);
    },
  );

  serve(
    app,
    {
      method: "post",
      path: "/v1/signals",
      summary: "End every wait of the tenant on `key`, in any run; a signal before anyone waits is not kept",
      body: { required: true, schema: SignalBody.extend({ key: IdSchema }).openapi("KeySignal") },
      responses: {
        200: json(
          z
            .object({ signalled: z.number().int(), nodes: z.array(z.object({ dagId: z.string(), nodeId: z.string(), status: NodeStatusSchema })) })
            .openapi("KeySignalResult"),
          "How many waits it ended, and which",
        ),
        ...errorResponses(422),
      },
    },
    async (c, { body: { key, ...sig } }) => {
      const tenant = c.var.tenant;
      const result = await engine.signalKey(tenant, key, sig);
      for (const dagId of new Set(result.nodes.map((n) => n.dagId))) await afterWrite({ tenant, dagId });
      return c.json(result, 200);
    },
  );

  serve(
    app,
    {
      method: "post",
      path: "/v1/dags/{dagId}/nodes/{nodeId}/suspend",
      summary: "End the attempt to wait for a signal (not a failure, not counted); its output makes the node ready again, and the next attempt's task carries it",
      params: NodeParams,
      body: {
        required: true,
        schema: z
          .object({
            leaseToken: LeaseToken,
            wait: WaitSpecSchema,
            input: z.unknown().optional().openapi({ description: "What to decide, shown with the wait" }),
            workerId: WorkerId.optional(),
          })
          .openapi("SuspendRequest"),
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
        ...errorResponses(404, 409, 422),
      },
    },
    async (c, { params: { dagId, nodeId }, body: { leaseToken, wait, input, workerId } }) => {
      const tenant = c.var.tenant;
      const result = await engine.suspend(tenant, { dagId, nodeId, leaseToken }, wait, {
        ...(input !== undefined ? { input: await values.incoming({ tenant, dagId, nodeId, field: "input" }, input) } : {}),
        ...(workerId ? { workerId } : {}),
      });
      await afterWrite({ tenant, dagId });
      return c.json(result, 200);
    },
  );

  serve(
    app,
    {
      method: "post",
      path: "/v1/dags/{dagId}/pause",
      summary: "Pause a run: no node of it is handed out until resume; running attempts finish normally",
      params: DagParams,
      body: NoBody,
      responses: { 200: json(RunChange, "Paused (changed=false: it already was)"), ...errorResponses(404, 409) },
    },
    async (c, { params: { dagId } }) => c.json(await engine.pause(c.var.tenant, dagId, { actor: "api" }), 200),
  );

  serve(
    app,
    {
      method: "post",
      path: "/v1/dags/{dagId}/resume",
      summary: "Resume a paused run: its ready nodes are handed out and announced (NodeReady) again",
      params: DagParams,
      body: NoBody,
      responses: { 200: json(RunChange, "Running (changed=false: it was not paused)"), ...errorResponses(404) },
    },
    async (c, { params: { dagId } }) => {
      const tenant = c.var.tenant;
      const result = await engine.resume(tenant, dagId, { actor: "api" });
      if (result.changed) await afterWrite({ tenant, dagId });
      return c.json(result, 200);
    },
  );

  return app;
}
