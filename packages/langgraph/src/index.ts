/**
 * @weft/langgraph - LangGraph on Weft: WeftSaver, a checkpointer hot in plain Redis and
 * archived in Weft's DynamoDB cold store, and graphAgent, which runs a compiled graph as a
 * Weft agent that resumes from its last checkpoint.
 */
export { WeftSaver, type WeftSaverOptions, type ColdTierOptions } from "./saver.js";
export { CheckpointConflictError, CheckpointTooLargeError } from "./errors.js";
export { graphAgent, threadIdFor, resumeKeyFor, type GraphAgentOptions, type PendingInterrupt, type ResumableGraph } from "./graph-agent.js";
