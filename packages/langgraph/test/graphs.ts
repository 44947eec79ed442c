import { Annotation, END, START, StateGraph } from "@langchain/langgraph";
import type { BaseCheckpointSaver } from "@langchain/langgraph-checkpoint";

/** A three-step graph whose state is the list of steps run: a -> b -> c. */
export function stepsGraph(checkpointer: BaseCheckpointSaver) {
  const State = Annotation.Root({
    steps: Annotation<string[]>({ reducer: (a, b) => a.concat(b), default: () => [] }),
  });
  return new StateGraph(State)
    .addNode("a", () => ({ steps: ["a"] }))
    .addNode("b", () => ({ steps: ["b"] }))
    .addNode("c", () => ({ steps: ["c"] }))
    .addEdge(START, "a")
    .addEdge("a", "b")
    .addEdge("b", "c")
    .addEdge("c", END)
    .compile({ checkpointer });
}
