import { Annotation, END, START, StateGraph, interrupt } from "@langchain/langgraph";
import type { BaseCheckpointSaver } from "@langchain/langgraph-checkpoint";
import type { Model } from "./model.js";

/** What a reviewer answers at the approval step. */
export interface Approval {
  approved: boolean;
  note?: string;
}

const State = Annotation.Root({
  topic: Annotation<string>(),
  /** The draft (a state key may not share a node's name). */
  text: Annotation<string>(),
  approval: Annotation<Approval>(),
  final: Annotation<string>(),
});
export type ApprovalState = typeof State.State;

/**
 * draft -> approve -> finish: the model drafts a note on the topic, interrupt() hands the
 * draft to a reviewer, and the model finishes the approved draft (a rejected one ends with
 * the reviewer's note instead). Each step is a checkpoint.
 */
export function approvalGraph(checkpointer: BaseCheckpointSaver, model: Model) {
  return new StateGraph(State)
    .addNode("draft", async (s, config) => ({ text: await model.generate("draft", `Draft a short note on "${s.topic}".`, config.signal) }))
    .addNode("approve", (s) => ({ approval: interrupt<{ draft: string }, Approval>({ draft: s.text }) }))
    .addNode("finish", async (s, config) => ({
      final: s.approval.approved
        ? await model.generate("finish", `Polish this approved draft on "${s.topic}": ${s.text} ${s.approval.note ?? ""}`, config.signal)
        : `Not published: ${s.approval.note ?? "rejected"}`,
    }))
    .addEdge(START, "draft")
    .addEdge("draft", "approve")
    .addEdge("approve", "finish")
    .addEdge("finish", END)
    .compile({ checkpointer });
}
