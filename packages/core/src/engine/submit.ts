import { createHash, randomBytes } from "node:crypto";
import type { DagLimits, RetryPolicy } from "../dag/spec.js";
import { validateRun, type ValidNode } from "../dag/validate.js";

/** The submit script's argument (see lua/submit.lua). */
export interface SubmitArgs {
  [k: string]: unknown;
  tenant: string;
  id: string;
  defHash: string;
  idempotencyKey?: string;
  onFailure: string;
  policy: string;
  roots: string[];
  order: string;
  actor: string;
  nodes: SubmitNode[];
}

export interface SubmitNode {
  id: string;
  agent?: string;
  deps?: string;
  waiting?: number;
  children?: string;
  input?: string;
  policy?: string;
  /** Successes needed (join.min) and failures tolerated (deps - min). */
  join?: number;
  tolerate?: number;
  onFailure?: string;
  /** A wait node's wait, "timeoutMs|onTimeout|key", and its timeout's default output (JSON). */
  wait?: string;
  waitOutput?: string;
}

const policyField = (retry: RetryPolicy, timeoutMs = 0) =>
  `${retry.maxAttempts},${retry.backoffMs},${retry.maxBackoffMs ?? 0},${timeoutMs}`;

/**
 * A run's id: the one given; else derived from the idempotency key, so that the same key
 * lands on the same shard and the submit script alone decides "same run" atomically;
 * else random. The API's edge derives it too (functions/values.ts: a large input's S3 key
 * names the run before the submit script runs).
 */
export function runId(tenant: string, given: string | undefined, idempotencyKey: string | undefined): string {
  if (given) return given;
  if (idempotencyKey) return `dag_${createHash("sha256").update(tenant).update("\0").update(idempotencyKey).digest("hex").slice(0, 24)}`;
  return `dag_${randomBytes(12).toString("hex")}`;
}

function nodePolicy(n: Pick<ValidNode, "retry" | "timeoutMs">): string | undefined {
  if (!n.retry && !n.timeoutMs) return undefined;
  return policyField(n.retry ?? { maxAttempts: 0, backoffMs: 0 }, n.timeoutMs);
}

/** Who runs a node: its agent, or for a wait node its packed wait (submit and additions alike). */
export function agentOrWait(n: Pick<ValidNode, "agent" | "wait">): { agent?: string; wait?: string; waitOutput?: string } {
  if (n.agent !== undefined) return { agent: n.agent };
  if (!n.wait) return {};
  return n.wait.outputJson === undefined ? { wait: n.wait.packed } : { wait: n.wait.packed, waitOutput: n.wait.outputJson };
}

/** Input, policy, join and onFailure: what a node carries besides its edges (submit and additions alike). */
export function withFields<T extends { input?: string; policy?: string; join?: number; tolerate?: number; onFailure?: string }>(
  out: T,
  n: Omit<ValidNode, "children">,
  defaultRetry: RetryPolicy,
): T {
  const p = nodePolicy(n);
  if (n.inputJson !== undefined) out.input = n.inputJson;
  // A node with a timeout but no retry policy keeps the run's default attempts.
  if (p) out.policy = n.retry ? p : policyField(defaultRetry, n.timeoutMs);
  if (n.join !== undefined) {
    out.join = n.join;
    out.tolerate = n.deps.length - n.join;
  }
  if (n.onFailure !== undefined) out.onFailure = n.onFailure;
  return out;
}

export function buildSubmit(tenant: string, spec: unknown, limits: DagLimits, defaultRetry: RetryPolicy): SubmitArgs {
  const run = validateRun(spec, limits);
  const defHash = createHash("sha1");
  defHash.update(run.onFailure);
  const nodes = run.nodes.map((n) => {
    const p = nodePolicy(n);
    defHash.update(`\n${n.id}\t${n.agent ?? ""}\t${n.deps.join(",")}\t${p ?? ""}\t${n.inputJson ?? ""}`);
    if (n.join !== undefined || n.onFailure !== undefined) defHash.update(`\t${n.join ?? ""}\t${n.onFailure ?? ""}`);
    if (n.wait) defHash.update(`\twait ${n.wait.packed}\t${n.wait.outputJson ?? ""}`);
    const node: SubmitNode = {
      id: n.id,
      ...agentOrWait(n),
      ...(n.deps.length ? { deps: n.deps.join(","), waiting: n.join ?? n.deps.length } : {}),
      ...(n.children.length ? { children: n.children.join(",") } : {}),
    };
    return withFields(node, n, defaultRetry);
  });
  return {
    tenant,
    id: runId(tenant, run.id, run.idempotencyKey),
    defHash: defHash.digest("hex"),
    ...(run.idempotencyKey ? { idempotencyKey: run.idempotencyKey } : {}),
    onFailure: run.onFailure,
    policy: policyField(defaultRetry),
    roots: run.roots,
    order: run.nodes.map((n) => n.id).join(","),
    actor: "api",
    nodes,
  };
}
