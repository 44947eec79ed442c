import { z } from "@hono/zod-openapi";
import { DurationMsSchema, IdSchema, LeaseTokenSchema, LIMITS } from "@weft/core/checks";
import { NODE_STATUSES, RUN_STATUSES } from "@weft/core/sdk";

/**
 * Schemas shared by several routes; each route's own body schema sits next to the route.
 * Bounds come from core's checks (packages/core/src/checks.ts), so the document states
 * what core enforces. Core's schemas are cloned before `.openapi()`: they may be created
 * before @hono/zod-openapi extends zod.
 */

export const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { "application/json": { schema } } });

export const NodeStatusSchema = z.enum(NODE_STATUSES).openapi("NodeStatus");

export const RunStatusSchema = z.enum(RUN_STATUSES).openapi("RunStatus");

export const Counts = z.record(z.string(), z.number().int()).openapi({ description: "Nodes by status" });

export const PathId = IdSchema.clone();

export const DagParams = z.object({ dagId: PathId });

export const NodeParams = DagParams.extend({ nodeId: PathId });

/** A whole-number query parameter: digits only (no sign, exponent or hex), within bounds. */
export const QueryInt = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,16}$/, "must be a whole number")
    .transform(Number)
    .pipe(z.number().int().min(min).max(max))
    .openapi({ type: "integer", minimum: min, maximum: max });

export const LeaseMs = DurationMsSchema.clone().openapi({ description: "Lease length in ms", example: 30_000 });

/** Who holds the lease, for the event log. */
export const WorkerId = IdSchema.clone();

export const LeaseToken = LeaseTokenSchema.clone().openapi({ description: "Fencing token returned by a claim", example: "1.Zk3q9..." });

export const ClaimMax = z.number().int().min(1).max(LIMITS.claimMax);

export const ClaimBodySchema = z
  .object({
    max: ClaimMax.optional().openapi({ description: "Most tasks to hand out (default 1)" }),
    leaseMs: LeaseMs.optional(),
    workerId: WorkerId.optional(),
  })
  
  .openapi("ClaimRequest");

export const TaskSchema = z
  .object({
    dagId: z.string(),
    nodeId: z.string(),
    agent: z.string(),
    input: z.unknown(),
    attempt: z.number().int(),
    leaseToken: z.string(),
    leaseExpiresAt: z.number().int().openapi({ description: "Epoch ms" }),
    signal: z.lazy(() => SignalRecordSchema).optional().openapi({ description: "The signal that resumed the node after its agent suspended" }),
    traceparent: z
      .string()
      .optional()
      .openapi({ description: "W3C traceparent of the run (the request that submitted it), when tracing is on (WEFT_TRACING): start the agent's span from it to join the run's trace" }),
  })
  .openapi("Task");

export const NodeErrorSchema = z
  .looseObject({ message: z.string().min(1).max(LIMITS.errorMessageLength) })
  .openapi("NodeError", { description: "Why an attempt failed; extra fields are kept" });

/** A signal as applied: how it came, who sent it, when, and what it said. */
export const SignalRecordSchema = z
  .object({
    via: z.enum(["api", "url", "key", "timeout"]),
    at: z.number().int(),
    by: z.string().optional(),
    signalId: z.string().optional(),
    output: z.unknown().optional(),
    error: z.looseObject({ message: z.string() }).optional(),
  })
  .openapi("SignalRecord");

/** `?values=`: how a response gives back large inputs and outputs (functions/values.ts). */
export const ValuesQuery = z
  .enum(["inline", "url"])
  .optional()
  .openapi({
    description:
      "inline (default): large values (kept in S3) come back in the response, up to 5 MiB of them; past that, and always with url, as a reference { $weftValue: { key, bytes, url } } whose url reads the value for 15 minutes",
  });
