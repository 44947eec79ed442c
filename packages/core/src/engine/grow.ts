import { createHash } from "node:crypto";
import { validateAddition } from "../dag/addition.js";
import { checkId, checkLeaseToken } from "../checks.js";
import type { Addition, DagLimits, RetryPolicy } from "../dag/spec.js";
import type { ScriptContext } from "./lifecycle.js";
import * as S from "./scripts.js";
import { agentOrWait, withFields } from "./submit.js";
import type { AddResult, ExtendResult, Lease } from "./types.js";

/** An addition as lua/includes/grow.lua takes it. */
export interface AdditionArgs {
  [k: string]: unknown;
  /** A wait node has no agent but `wait` ("timeoutMs|onTimeout|key") and maybe `waitOutput` (JSON), as at submit. */
  nodes: { id: string; agent?: string; deps?: string[]; input?: string; policy?: string; join?: number; onFailure?: string; wait?: string; waitOutput?: string }[];
  deps: [string, string[]][];
  maxNodes: number;
}

/**
 * Validates an addition and shapes it for the scripts. The digest identifies it: the same
 * completion (or extension) sent again with the same addition is a duplicate, with another
 * one a conflict. `prefix` is where the addition sits in the request (`add.` in a completion).
 */
export function buildAddition(input: unknown, limits: DagLimits, defaultRetry: RetryPolicy, prefix = ""): { add: AdditionArgs; digest: string } {
  const v = validateAddition(input, limits, prefix);
  const nodes = v.nodes.map((n) => {
    const base: AdditionArgs["nodes"][number] & { tolerate?: number } = { id: n.id, ...agentOrWait(n), ...(n.deps.length ? { deps: n.deps } : {}) };
    const { join, tolerate: _, ...rest } = withFields(base, n, defaultRetry);
    return join === undefined ? rest : { ...rest, join };
  });
  const add: AdditionArgs = { nodes, deps: v.deps, maxNodes: limits.maxNodes };
  const digest = createHash("sha1").update(JSON.stringify([nodes, v.deps])).digest("hex");
  return { add, digest };
}

const id = checkId;

/** Growing a run without completing: a running node's extension, or an addition from outside. */
export function growth(ctx: Pick<ScriptContext, "onRun">, limits: DagLimits, defaultRetry: RetryPolicy) {
  return {
    async extend(tenant: string, lease: Lease, addition: Addition): Promise<ExtendResult> {
      const leaseToken = checkLeaseToken(lease?.leaseToken);
      const t = id(tenant, "tenant");
      const d = id(lease.dagId, "dagId");
      const n = id(lease.nodeId, "nodeId");
      const { add, digest } = buildAddition(addition, limits, defaultRetry);
      return ctx.onRun(S.extend, t, d, { nodeId: n, token: leaseToken, add, digest });
    },

    async addNodes(tenant: string, dagId: string, addition: Addition, o?: { actor?: string }): Promise<AddResult> {
      const t = id(tenant, "tenant");
      const d = id(dagId, "dagId");
      const { add } = buildAddition(addition, limits, defaultRetry);
      return ctx.onRun(S.addNodes, t, d, { add, actor: o?.actor === undefined ? "api" : id(o.actor, "actor") });
    },
  };
}
