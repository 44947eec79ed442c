import type { Agents } from "@weft/client";
import { graphAgent, type WeftSaver } from "@weft/langgraph";
import { approvalGraph, type Approval, type ApprovalState } from "./graph.js";
import type { Model } from "./model.js";

/** The run's shared-state key a reviewer writes the decision to. */
export const APPROVAL_KEY = "approval";

/**
 * One agent, `approval-writer`: the approval graph as a Weft node. Its thread is
 * `weft:<dagId>:<nodeId>`, so an attempt after a crash continues from the last checkpoint.
 * At the interrupt it reads the reviewer's decision from the run's shared state; with none
 * yet, the attempt is retried (until M10's suspend/signal lets the node wait instead).
 */
export function agents(saver: WeftSaver, model: Model): Agents {
  const graph = approvalGraph(saver, model);
  return {
    "approval-writer": graphAgent<ApprovalState>({
      graph,
      input: (task) => ({ topic: (task.input as { topic: string }).topic }),
      resume: async (_interrupts, ctx) => (await ctx.state.get(APPROVAL_KEY))?.value as Approval | undefined,
      output: (s) => ({ topic: s.topic, draft: s.text, approved: s.approval.approved, final: s.final }),
    }),
  };
}
