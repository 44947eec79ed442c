/**
 * @weft/client - what an agent or orchestrator uses to talk to Weft's HTTP API: submit
 * runs, claim and report work, read runs, and read-think-write shared state with
 * `update()` (compare-and-set with re-read and backoff on conflict, no lock held while
 * the agent thinks). Errors come back as core's typed errors. This index only re-exports:
 * the modules import one another, never it, so there is no import cycle.
 */
export { createClient, type ClientOptions, type ClientStateRef, type WeftClient } from "./client.js";
export { followStream, StreamUnavailableError, type StreamOptions, type StreamEnd } from "./stream.js";
export { worker, type Worker, type WorkerOptions, type WorkerStats } from "./worker.js";
export { pushHandler, type PushOptions, type PushResult, type NodeReadyEvent } from "./push.js";
export {
  NonRetryableError,
  Suspend,
  type SuspendOptions,
  LeaseLostError,
  ShutdownError,
  type TaskContext,
  type NodeTemplate,
  type RunState,
  type AgentHandler,
  type Agents,
} from "./context.js";
