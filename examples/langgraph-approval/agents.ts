import type { Agents } from "@weft/client";
import { graphAgent, type WeftSaver } from "@weft/langgraph";
import { approvalGraph, type ApprovalState } from "./graph.js";
import type { Model } from "./model.js";

/**
 * One agent, `approval-writer`: the approval graph as a Weft node. Its thread is
 * `weft:<dagId>:<nodeId>`, so an attempt after a crash continues from the last checkpoint.
 * At the interrupt the node suspends (waiting, with the draft as what to decide); the
 * reviewer's signal (`weft approve <dagId> write --output '{"approved":true}'`) makes it
 * ready, and the next attempt resumes the graph with that decision.
 */
export function agents(saver: WeftSaver, model: Model): Agents {
  const graph = approvalGraph(saver, model);
  return {
    "approval-writer": graphAgent<ApprovalState>({
      graph,
      input: (task) => ({ topic: (task.input as { topic: string }).topic }),
      output: (s) => ({ topic: s.topic, draft: s.text, approved: s.approval.approved, final: s.final }),
    }),
  };
}
