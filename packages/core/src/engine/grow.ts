import { createHash } from "node:crypto";
import { validateAddition } from "../dag/addition.js";
import { Id, type Addition, type DagLimits, type RetryPolicy } from "../dag/spec.js";
import { ValidationError } from "../errors.js";
import type { ScriptContext } from "./lifecycle.js";
import * as S from "./scripts.js";
import { agentOrWait, withFields } from "./submit.js";
import type { AddResult, ExtendResult } from "./types.js";

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

function id(value: unknown, field: string): string {
  const r = Id.safeParse(value);
  if (r.success) return r.data;
  throw new ValidationError(`${field} ${r.error.issues[0]?.message ?? "is invalid"}`, field);
}

/** Growing a run without completing: a running node's extension, or an addition from outside. */
export function growth(ctx: Pick<ScriptContext, "onRun">, limits: DagLimits, defaultRetry: RetryPolicy) {
  return {
    async extend(tenant: string, dagId: string, nodeId: string, leaseToken: string, addition: Addition): Promise<ExtendResult> {
      if (typeof leaseToken !== "string" || leaseToken.length === 0 || leaseToken.length > 200) {
        throw new ValidationError("leaseToken must be the token returned by claim", "leaseToken");
      }
      const t = id(tenant, "tenant");
      const d = id(dagId, "dagId");
      const n = id(nodeId, "nodeId");
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
