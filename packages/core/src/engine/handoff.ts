import { checkId, checkLeaseToken } from "../checks.js";
import { parseJson } from "./codec.js";
import type { ScriptContext } from "./lifecycle.js";
import * as S from "./scripts.js";
import type { Lease, ParentsResult } from "./types.js";

/**
 * What a worker runtime needs besides claim and report: give a lease back (a worker
 * shutting down hands its unfinished tasks to the next claimer) and read the outputs its
 * node builds on.
 */
const id = checkId;

export function handoff(ctx: Pick<ScriptContext, "onRun">) {
  /** Outputs of the deps that succeeded, and the status of those that did not (a join may run without them). */
  async function parents(tenant: string, dagId: string, nodeId: string): Promise<ParentsResult> {
    const r = await ctx.onRun(S.parentOutputs, id(tenant, "tenant"), id(dagId, "dagId"), { nodeId: id(nodeId, "nodeId") });
    const { outputs, statuses } = r;
    const out: ParentsResult = { outputs: {}, notSucceeded: {} };
    r.deps.forEach((dep, i) => {
      const o = outputs[i];
      if (statuses[i] === "succeeded" && typeof o === "string") out.outputs[dep] = parseJson(o);
      else out.notSucceeded[dep] = statuses[i] ?? "pending";
    });
    return out;
  }
  return {
    /**
     * Gives back the live lease of a running attempt: the node is ready again at once, first
     * in its agent's queue, and the attempt does not count toward its retry budget.
     * A stale token -> ConflictError, nothing changed.
     */
    async release(tenant: string, lease: Lease, o?: { workerId?: string }) {
      const leaseToken = checkLeaseToken(lease?.leaseToken);
      return ctx.onRun(S.release, id(tenant, "tenant"), id(lease.dagId, "dagId"), {
        nodeId: id(lease.nodeId, "nodeId"),
        token: leaseToken,
        actor: o?.workerId === undefined ? undefined : id(o.workerId, "workerId"),
      });
    },

    /** The outputs of a node's dependencies by node id (a dependency without an output is left out). */
    async parentOutputs(tenant: string, dagId: string, nodeId: string): Promise<Record<string, unknown>> {
      return (await parents(tenant, dagId, nodeId)).outputs;
    },

    parents,
  };
}
