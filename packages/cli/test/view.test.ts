import { describe, expect, it } from "vitest";
import type { RunEvent, RunView } from "@weft/core";
import { foldEvents } from "@weft/core/sdk";
import { countsLine, fit, formatEvent, progressBar, renderLive, renderTable, type RunShape } from "../src/view.js";
import { liveFrame } from "../src/commands/watch.js";

const plain = { color: false };
const ev = (seq: number, type: RunEvent["type"], node?: string, extra: Partial<RunEvent> = {}): RunEvent => ({
  seq,
  type,
  actor: "w1",
  at: 1_000 + seq * 100,
  ...(node ? { node } : {}),
  ...extra,
});
const run: RunShape = {
  dagId: "dag_1",
  nodes: [
    { id: "plan", agent: "planner" },
    { id: "web", agent: "researcher" },
    { id: "paper", agent: "researcher" },
    { id: "write", agent: "writer" },
  ],
};
const log: RunEvent[] = [
  ev(1, "run.submitted"),
  ev(2, "node.ready", "plan"),
  ev(3, "node.started", "plan", { attempt: 1 }),
  ev(4, "node.succeeded", "plan", { attempt: 1 }),
  ev(5, "node.ready", "web"),
  ev(6, "node.ready", "paper"),
  ev(7, "node.started", "web", { attempt: 1 }),
  ev(8, "node.retrying", "web", { attempt: 1, data: { error: { message: "429" }, retryAt: 2_500 } }),
  ev(9, "node.started", "paper", { attempt: 1 }),
];

describe("watch view", () => {
  it("draws a progress bar of succeeded over total", () => {
    expect(progressBar(1, 4, 8)).toBe("[##......] 1/4 succeeded");
    expect(progressBar(4, 4, 8)).toBe("[########] 4/4 succeeded");
    expect(progressBar(0, 0, 4)).toBe("[####] 0/0 succeeded");
  });

  it("lists the non-succeeded counts in a fixed order", () => {
    const counts = foldEvents(run.nodes, log).counts;
    expect(countsLine(counts)).toBe("1 running, 1 retrying, 1 pending");
  });

  it("shows each node with its status, and the attempt once it is past the first", () => {
    const lines = renderLive(run, foldEvents(run.nodes, [...log, ev(10, "node.ready", "web"), ev(11, "node.started", "web", { attempt: 2 })]), {
      ...plain,
      columns: 100,
      rows: 40,
      elapsedMs: 1500,
    });
    expect(lines[0]).toBe("run dag_1  running  1.5s");
    expect(lines[1]).toMatch(/^\[#+\.+\] 1\/4 succeeded {2}2 running, 1 pending$/);
    expect(lines.slice(2)).toEqual([
      "  ✓ plan   planner     succeeded ",
      "  ● web    researcher  running     attempt 2",
      "  ● paper  researcher  running   ",
      "  · write  writer      pending   ",
    ]);
  });

  it("with more nodes than rows, keeps the failed and running ones and sums up the rest", () => {
    const many: RunShape = { dagId: "dag_2", nodes: Array.from({ length: 30 }, (_, i) => ({ id: `n${i}`, agent: "a" })) };
    const events = [
      ev(1, "node.ready", "n25"),
      ev(2, "node.started", "n25", { attempt: 1 }),
      ev(3, "node.failed", "n25", { attempt: 1 }),
      ev(4, "node.ready", "n20"),
      ev(5, "node.started", "n20", { attempt: 1 }),
    ];
    const lines = renderLive(many, foldEvents(many.nodes, events), { ...plain, columns: 80, rows: 8, elapsedMs: 0 });
    expect(lines).toHaveLength(7);
    const nodes = lines.slice(2, -1);
    expect(nodes.some((l) => l.includes("n25") && l.includes("failed"))).toBe(true);
    expect(nodes.some((l) => l.includes("n20") && l.includes("running"))).toBe(true);
    expect(lines.at(-1)).toBe("  … 26 more nodes");
  });

  it("lists the nodes a run gains as their node.added arrives, and drops those a rewind removes", () => {
    const grown = [
      ...log.slice(0, 3),
      ev(4, "node.succeeded", "plan", { attempt: 1 }),
      ev(5, "node.added", "deep", { data: { agent: "digger", deps: ["plan"], addedBy: { node: "plan", attempt: 1 } } }),
      ev(6, "node.deps_added", "write", { data: { deps: ["deep"] } }),
      ev(7, "node.ready", "deep"),
      ev(8, "node.started", "deep", { attempt: 1 }),
    ];
    const o = { ...plain, columns: 100, rows: 40, elapsedMs: 0 };
    const before = renderLive(run, foldEvents(run.nodes, grown.slice(0, 4)), o);
    expect(before.some((l) => l.includes("deep"))).toBe(false);
    const after = renderLive(run, foldEvents(run.nodes, grown), o);
    expect(after[1]).toMatch(/ 1\/5 succeeded/);
    expect(after.slice(2)).toEqual([
      "  ✓ plan   planner     succeeded ",
      "  · web    researcher  pending   ",
      "  · paper  researcher  pending   ",
      "  · write  writer      pending   ",
      "  ● deep   digger      running   ",
    ]);
    // Rewinding plan removes what it added: deep goes from the view.
    const rewound = [...grown, ev(9, "node.removed", "deep", { attempt: 1, data: { mode: "rewind", cause: "plan" } }), ev(10, "node.reset", "plan", { attempt: 1 })];
    const gone = renderLive(run, foldEvents(run.nodes, rewound), o);
    expect(gone[1]).toMatch(/ 0\/4 succeeded/);
    expect(gone.slice(2).map((l) => l.trim().split(/\s+/)[1])).toEqual(["plan", "web", "paper", "write"]);
  });

  it("says how to end the wait of a wait node added while it is watched, until a rewind removes it", () => {
    const o = { ...plain, columns: 100, rows: 40, elapsedMs: 0 };
    const added = [ev(1, "run.submitted"), ev(2, "node.added", "approve", { data: { wait: true, deps: [], addedBy: { actor: "api" } } }), ev(3, "node.waiting", "approve", { data: { onTimeout: "fail" } })];
    const frame = liveFrame(run, added, o);
    expect(frame.some((l) => /◷ approve .*waiting/.test(l))).toBe(true);
    expect(frame).toContain("    weft approve dag_1 approve [--output '<json>']");
    const removed = liveFrame(run, [...added, ev(4, "node.removed", "approve", { data: { mode: "rewind", cause: "plan" } })], o);
    expect(removed.some((l) => l.includes("approve"))).toBe(false);
  });

  it("never draws a line wider than the terminal, colors included", () => {
    const lines = renderLive(run, foldEvents(run.nodes, log), { color: true, columns: 20, rows: 40, elapsedMs: 0 });
    for (const l of lines) expect(l.replace(/\x1b\[[0-9;]*m/g, "").length).toBeLessThanOrEqual(20);
    expect(fit("\x1b[32mabcdef\x1b[0m", 3)).toBe("\x1b[32mabc\x1b[0m");
    expect(fit("abc", 5)).toBe("abc");
  });

  it("prints one line per event, with the retry's error and time", () => {
    expect(formatEvent(log[7]!, 1_000)).toBe("    +0.80s  #8    web              retrying  attempt 1  (429; retry at +1.50s)");
    expect(formatEvent(ev(12, "run.succeeded"), 1_000)).toBe("    +1.20s  #12                    run succeeded");
    expect(formatEvent(log[2]!, 1_000)).toContain("running  attempt 1  by w1");
  });

  it("tabulates a finished run with outputs and errors", () => {
    const view: RunView = {
      dagId: "dag_3",
      tenant: "t",
      status: "failed",
      onFailure: "fail-fast",
      createdAt: 0,
      finishedAt: 2_000,
      counts: { pending: 0, ready: 0, running: 0, succeeded: 1, failed: 1, retrying: 0, skipped: 0, cancelled: 0, waiting: 0 },
      nodes: [
        { id: "a", agent: "x", deps: [], status: "succeeded", attempt: 1, output: { ok: true } },
        { id: "b", agent: "x", deps: ["a"], status: "failed", attempt: 3, error: { message: "boom" } },
      ],
    };
    expect(renderTable(view, { ...plain, now: 5_000 })).toEqual([
      "run dag_3  failed  1/2 succeeded (1 failed)  took 2.0s",
      "  NODE  AGENT  STATUS      ATTEMPT  RESULT",
      '  a     x      succeeded   1        {"ok":true}',
      "  b     x      failed      3        boom",
    ]);
  });
});
