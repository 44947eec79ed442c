import { z } from "@hono/zod-openapi";
import { Id } from "@weft/core";

/**
 * Schemas shared by several routes; each route's own body schema sits next to the route.
 * Core's schemas (Id, RunSpecSchema) are used as they are, without `.openapi()`: they may
 * be created before @hono/zod-openapi extends zod, and the generator documents them anyway.
 */

export const NodeStatusSchema = z
  .enum(["pending", "ready", "running", "succeeded", "failed", "retrying", "skipped", "cancelled"])
  .openapi("NodeStatus");

export const RunStatusSchema = z.enum(["running", "succeeded", "failed", "cancelled"]).openapi("RunStatus");

export const DagParams = z.object({
  dagId: Id,
});

export const NodeParams = DagParams.extend({
  nodeId: Id,
});

export const LeaseMs = z.number().int().min(1).max(86_400_000).openapi({ description: "Lease length in ms", example: 30_000 });

/** Who holds the lease, for the event log. */
export const WorkerId = Id;

export const LeaseToken = z.string().min(1).max(200).openapi({ description: "Fencing token returned by a claim", example: "1.Zk3q9..." });

export const ClaimBodySchema = z
  .object({
    max: z.number().int().min(1).max(1000).optional().openapi({ description: "Most tasks to hand out (default 1)" }),
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
  })
  .openapi("Task");

export const NodeErrorSchema = z
  .looseObject({ message: z.string().min(1).max(16_384) })
  .openapi("NodeError", { description: "Why an attempt failed; extra fields are kept" });
