/**
 * @weft/core/validation - what an edge that takes run specs needs besides @weft/core/checks:
 * the zod schemas of specs, additions and waits (so request bodies are checked and documented
 * by the rules the engine applies), validateRun, and the wording of zod errors as a
 * ValidationError naming the field; runId (the id a submit gets).
 */
export { RunSpecSchema, NodeSpecSchema, RetryPolicySchema, AdditionSchema, JoinSchema, WaitSpecSchema, DEFAULT_LIMITS } from "./dag/spec.js";
export { validateRun } from "./dag/validate.js";
export { runId } from "./engine/submit.js";
export { MachineDefinitionSchema } from "./state/validate.js";
export { fieldOf, fromZodError } from "./validation.js";
