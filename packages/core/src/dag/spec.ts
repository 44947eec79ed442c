import { z } from "zod";
import { DurationMsSchema, IdSchema, LIMITS, textSchema } from "../checks.js";
import { DEFAULT_VALUE_THRESHOLD_BYTES } from "../values/ref.js";

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

/** Longest a wait may last: a year (a person may take days; a token outlives no wait). */
export const MAX_WAIT_MS = 365 * 86_400_000;

/**
 * A wait: a node no agent claims, or what a suspending agent asks for. It ends by a signal
 * or, after `timeoutMs`, by the reconcile: `onTimeout` "fail" (default) fails the node,
 * "succeed" succeeds it with `output`. `key` lets one signal end the waits of many runs.
 */
export const WaitSpecSchema = z
  .object({
    timeoutMs: z.number().int().min(1).max(MAX_WAIT_MS).optional(),
    onTimeout: z.enum(["fail", "succeed"]).optional(),
    output: z.unknown().optional(),
    key: Id.optional(),
  })
  .strict();

const NodeFields = z
  .object({
    id: Id,
    /** Who runs the node; a wait node (`wait`) has none. */
    agent: Id.optional(),
    input: z.unknown().optional(),
    deps: z.array(Id).optional(),
    retry: RetryPolicySchema.optional(),
    /** Longest one attempt may run, heartbeats included; its lease never outlives it. */
    timeoutMs: DurationMsSchema.optional(),
    /** Ready once `min` deps succeeded; skipped (or fails the run, per onFailure) once `min` cannot be reached. */
    join: JoinSchema.optional(),
    /** What this node's own permanent failure does, over the run's onFailure. */
    onFailure: OnFailureSchema.optional(),
    wait: WaitSpecSchema.optional(),
  })
  .strict();

type NodeFieldsIn = z.infer<typeof NodeFields>;
function agentOrWait(n: NodeFieldsIn, ctx: z.RefinementCtx) {
  if (n.wait === undefined && n.agent === undefined) {
    ctx.addIssue({ code: "custom", path: ["agent"], message: "is required (or give `wait` for a node no agent runs)" });
  }
  if (n.wait !== undefined) {
    for (const f of ["agent", "retry", "timeoutMs"] as const) {
      if (n[f] !== undefined) ctx.addIssue({ code: "custom", path: [f], message: "is not allowed on a wait node (it has `wait`; no agent runs it)" });
    }
  }
}

export const NodeSpecSchema = NodeFields.superRefine(agentOrWait);


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
export type WaitSpecInput = z.infer<typeof WaitSpecSchema>;
export type NodeSpec = z.infer<typeof NodeSpecSchema>;
export type RunSpec = z.infer<typeof RunSpecSchema>;
export type OnFailure = z.infer<typeof OnFailureSchema>;

export interface DagLimits {
  /** Largest serialized `input` of one node, in bytes. Default 256 KB. */
  maxInputBytes: number;
  /** Most nodes in one run. Default 10,000. */
  maxNodes: number;
}

/** maxInputBytes is also where a value goes to S3 when the API has a value store (values/ref.ts). */
export const DEFAULT_LIMITS: DagLimits = { maxInputBytes: DEFAULT_VALUE_THRESHOLD_BYTES, maxNodes: 10_000 };
