/**
 * The example run `npm start` submits: plan -> three parallel research agents -> write ->
 * review. One researcher fails its first attempt (a simulated 429) to show a retry.
 */
export function exampleRun(topic = "home battery storage in the EU") {
  const angles = ["market", "competitors", "regulation"];
  return {
    idempotencyKey: `example-${Date.now()}`,
    onFailure: "fail-fast" as const,
    nodes: [
      { id: "plan", agent: "planner", input: { topic } },
      ...angles.map((angle, i) => ({
        id: `research-${angle}`,
        agent: "researcher",
        deps: ["plan"],
        input: { topic, angle, ...(i === 1 ? { failFirstAttempt: true } : {}) },
        retry: { maxAttempts: 3, backoffMs: 500, maxBackoffMs: 5_000 },
      })),
      { id: "write", agent: "writer", deps: angles.map((a) => `research-${a}`), input: { topic, reads: angles.map((a) => `research-${a}`) } },
      { id: "review", agent: "reviewer", deps: ["write"], input: { topic, reads: ["write"] } },
    ],
  };
}
