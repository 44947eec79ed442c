import { EVENT_SOURCE } from "../packages/core/src/events/publisher.js";

/**
 * The event bus subscriptions as plain data: SST turns each into an EventBridge rule
 * targeting the handler's Lambda (infra/stack/index.ts); the local emulator delivers
 * events in-process to the same handlers with the same patterns.
 *
 * A pattern lists, per field, the values that match (EventBridge's exact-match form).
 */
export interface EventPattern {
  source?: string[];
  detailType?: string[];
  detail?: Record<string, string[]>;
}

export interface Subscription {
  /** Unique, PascalCase: names the rule in AWS. */
  name: string;
  handler: string;
  pattern: EventPattern;
  /**
   * Part of the example (the research pipeline's agents, which call the public API like
   * any worker): deployed only when the example is on, and never given Redis or the table.
   */
  example?: boolean;
}

/**
 * The agents of the example, examples/research-pipeline (plan -> research x n -> draft ->
 * fact-check [-> revise -> fact-check-2] -> edit -> publish, grown by its agents while it
 * runs), all served by its push-mode Lambda. Kept as data here
 * so the stack does not import the example's code; infra/sst.test.ts checks it matches.
 */
export const EXAMPLE_AGENTS = ["planner", "researcher", "drafter", "reviser", "fact-checker", "editor", "publisher"] as const;
export const EXAMPLE_PUSH_HANDLER = "examples/research-pipeline/push.handler";

/** `fact-checker` -> `FactChecker` (rule names are PascalCase). */
const pascal = (s: string) =>
  s
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
    .join("");

export const subscriptions: readonly Subscription[] = [
  {
    // Cold storage: a finished run is flushed to DynamoDB (reconcile backstops a missed one).
    name: "ArchiveFinishedRuns",
    handler: "functions/archive.handler",
    pattern: { source: [EVENT_SOURCE], detailType: ["DagSucceeded", "DagFailed", "DagCancelled"] },
  },
  // One rule per agent, as a real deployment would route each agent's nodes to its own
  // function: NodeReady carries `agent` at the top of its detail for exactly this.
  ...EXAMPLE_AGENTS.map(
    (agent): Subscription => ({
      name: `${pascal(agent)}Agent`,
      handler: EXAMPLE_PUSH_HANDLER,
      pattern: { source: [EVENT_SOURCE], detailType: ["NodeReady"], detail: { agent: [agent] } },
      example: true,
    }),
  ),
];
