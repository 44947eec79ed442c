import { z } from "zod";
import { DurationMsSchema, IdSchema, LIMITS, textSchema } from "../checks.js";

/**
 * Ids of runs, nodes, agents and tenants: safe inside Redis keys and URLs. One pattern
 * rather than min + max + regex: zod pays per check, and a 10,000-node run holds tens of
 * thousands of ids (validating one should take a few milliseconds).
 */
export const Id = IdSchema;

export const RetryPolicySchema = z
  .object({
    maxAttempts: z.number().int().min(1).max(100),
    backoffMs: z.number().int().min(0).max(LIMITS.maxDurationMs),
    maxBackoffMs: z.number().int().min(0).max(LIMITS.maxDurationMs).optional(),
  })
  .refine((r) => r.maxBackoffMs === undefined || r.maxBackoffMs >= r.backoffMs, {
    path: ["maxBackoffMs"],
    message: "must not be less than backoffMs",
  });

export const OnFailureSchema = z.enum(["fail-fast", "continue"]);

/** A node that runs once `min` of its deps succeeded (default: all of them). */
export const JoinSchema = z.object({ min: z.number().int().min(1).max(100_000) }).strict();

export const NodeSpecSchema = z.object({
  id: Id,
  agent: Id,
  input: z.unknown().optional(),
  deps: z.array(Id).optional(),
  retry: RetryPolicySchema.optional(),
  /** Longest one attempt may run, heartbeats included; its lease never outlives it. */
  timeoutMs: DurationMsSchema.optional(),
  /** Ready once `min` deps succeeded; skipped (or fails the run, per onFailure) once `min` cannot be reached. */
  join: JoinSchema.optional(),
  /** What this node's own permanent failure does, over the run's onFailure. */
  onFailure: OnFailureSchema.optional(),
}).strict();

export const RunSpecSchema = z.object({
  id: Id.optional(),
  idempotencyKey: textSchema(LIMITS.idempotencyKeyLength).optional(),
  nodes: z.array(NodeSpecSchema).min(1, "must contain at least one node"),
  onFailure: OnFailureSchema.optional(),
}).strict();

/**
 * Work added to a running run (by a completion, an extension or from outside): new nodes
 * with the submit schema, whose deps may name nodes already in the run, and new deps of
 * existing pending nodes (`deps: { "<existing id>": ["<dep id>", ...] }`).
 */
export const AdditionSchema = z.object({
  nodes: z.array(NodeSpecSchema).optional(),
  deps: z.record(Id, z.array(Id).min(1, "must name at least one dependency")).optional(),
}).strict();

export type Addition = z.infer<typeof AdditionSchema>;
export type RetryPolicy = z.infer<typeof RetryPolicySchema>;
export type NodeSpec = z.infer<typeof NodeSpecSchema>;
export type RunSpec = z.infer<typeof RunSpecSchema>;
export type OnFailure = z.infer<typeof OnFailureSchema>;

export interface DagLimits {
  /** Largest serialized `input` of one node, in bytes. Default 256 KB. */
  maxInputBytes: number;
  /** Most nodes in one run. Default 10,000. */
  maxNodes: number;
}

export const DEFAULT_LIMITS: DagLimits = { maxInputBytes: 256 * 1024, maxNodes: 10_000 };
