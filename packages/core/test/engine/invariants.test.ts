import { describe, expect, it } from "vitest";
import type { RunEvent } from "@weft/core";
import { logViolations } from "./invariants.js";

const nodes = [{ id: "a" }, { id: "b", deps: ["a"] }];

function log(...raw: [RunEvent["type"], string?, number?, RunEvent["from"]?][]): RunEvent[] {
  return raw.map(([type, node, attempt, from], i) => ({ seq: i + 1, type, node, attempt, from, actor: "t", at: i }));
}

const sound = log(
  ["run.submitted"],
  ["node.ready", "a", 0, "pending"],
  ["node.started", "a", 1, "ready"],
  ["node.heartbeat", "a", 1],
  ["node.succeeded", "a", 1, "running"],
  ["node.ready", "b", 0, "pending"],
  ["node.started", "b", 1, "ready"],
  ["node.retrying", "b", 1, "running"],
  ["node.ready", "b", 1, "retrying"],
  ["node.started", "b", 2, "ready"],
  ["node.released", "b", 2, "running"],
  ["node.started", "b", 3, "ready"],
  ["node.succeeded", "b", 3, "running"],
  ["run.succeeded"],
);

/** The checker the concurrency and property tests rely on must itself catch each kind of violation. */
describe("logViolations", () => {
  it("finds nothing wrong in a sound log", () => {
    expect(logViolations(nodes, sound)).toEqual([]);
  });

  it.each([
    ["a start before the deps succeeded", log(["node.ready", "b", 0, "pending"], ["node.started", "b", 1, "ready"]), /before deps a/],
    [
      "a second success",
      log(["node.ready", "a", 0, "pending"], ["node.started", "a", 1, "ready"], ["node.succeeded", "a", 1, "running"], ["node.succeeded", "a", 1, "running"]),
      /succeeded a second time/,
    ],
    ["a second live lease", log(["node.ready", "a", 0, "pending"], ["node.started", "a", 1, "ready"], ["node.started", "a", 2, "ready"]), /live lease/],
    ["a skipped attempt number", log(["node.ready", "a", 0, "pending"], ["node.started", "a", 2, "ready"]), /expected 1/],
    ["a move off the state machine", log(["node.started", "a", 1, "pending"]), /pending -> running/],
    ["a wrong from", log(["node.ready", "a", 0, "running"]), /from=running/],
    ["a release of a node not running", log(["node.ready", "a", 0, "pending"], ["node.released", "a", 0, "ready"]), /ready -> ready/],
    ["two run ends", log(["run.failed"], ["run.failed"]), /second run end/],
    ["a node moving after the end", log(["run.cancelled"], ["node.ready", "a", 0, "pending"]), /after the run ended/],
  ])("reports %s", (_, events, message) => {
    expect(logViolations(nodes, events).join("\n")).toMatch(message);
  });
});
