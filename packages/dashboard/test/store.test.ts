import { describe, expect, it } from "vitest";
import type { RunEvent } from "../src/api";
import { NodeStore } from "../src/store";

/**
 * The store a 5,000-node page depends on to stay responsive: an update reaches the graph nodes
 * it changed and no other (each WeftNode subscribes to its id and compares snapshots by identity).
 */
let seq = 0;
const ev = (type: string, node?: string, extra: Partial<RunEvent> = {}): RunEvent => ({ seq: ++seq, type, ...(node ? { node } : {}), actor: "w", at: 1_000 + seq, ...extra });

function storeOf(n: number) {
  const store = new NodeStore();
  store.seed(Array.from({ length: n }, (_, i) => ({ id: `n${i}`, status: i < 10 ? ("ready" as const) : ("pending" as const), attempt: 0 })));
  const calls = new Map<string, number>();
  for (let i = 0; i < n; i++) store.subscribe(`n${i}`, () => calls.set(`n${i}`, (calls.get(`n${i}`) ?? 0) + 1));
  return { store, calls };
}

describe("NodeStore (packages/dashboard/src/store.ts)", () => {
  it("notifies only the nodes a batch changed, and gives only those a new snapshot", () => {
    const { store, calls } = storeOf(5_000);
    const before = Array.from({ length: 5_000 }, (_, i) => store.get(`n${i}`));
    let batches = 0;
    store.subscribeAll(() => batches++);
    store.apply([ev("node.started", "n1", { attempt: 1 }), ev("node.succeeded", "n1", { attempt: 1 }), ev("node.started", "n2", { attempt: 1 })]);
    expect([...calls.keys()].sort()).toEqual(["n1", "n2"]);
    expect(store.get("n1")).toMatchObject({ status: "succeeded", attempt: 1 });
    expect(store.get("n2")).toMatchObject({ status: "running", attempt: 1, workerId: "w" });
    expect(store.get("n1")).not.toBe(before[1]);
    expect(before[1]).toMatchObject({ status: "ready", attempt: 0 }); // the old snapshot is left as it was
    for (let i = 3; i < 5_000; i++) expect(store.get(`n${i}`)).toBe(before[i]);
    expect(batches).toBe(1);
    expect(store.summary().counts).toEqual({ ready: 8, succeeded: 1, running: 1, pending: 4_990 });
  });

  it("keeps the statuses the stream reported over a later seed (the run read again after node.added)", () => {
    const { store } = storeOf(3);
    store.apply([ev("node.started", "n0", { attempt: 1 })]);
    store.seed([{ id: "n0", status: "ready", attempt: 0 }, { id: "extra", status: "ready", attempt: 0 }]);
    expect(store.get("n0").status).toBe("running");
    expect(store.get("extra").status).toBe("ready");
    expect(store.summary().counts).toEqual({ running: 1, ready: 3 });
  });

  it("shows time travel instead of live, hides live changes from the nodes meanwhile, and comes back", () => {
    const { store, calls } = storeOf(3);
    store.setTravel([{ id: "n0", status: "pending", attempt: 0 }]);
    expect(calls.get("n0")).toBe(1);
    expect(store.get("n0").status).toBe("pending");
    expect(store.get("n1").status).toBe("pending"); // not in that state yet
    calls.clear();
    store.apply([ev("node.started", "n0", { attempt: 1 })]);
    expect(calls.size).toBe(0);
    expect(store.get("n0").status).toBe("pending");
    expect(store.liveOf("n0")?.status).toBe("running");
    store.setTravel(undefined);
    expect(store.get("n0").status).toBe("running");
    expect(calls.get("n0")).toBe(1);
  });

  it("selection notifies the node left and the node picked, no other", () => {
    const { store, calls } = storeOf(4);
    store.select("n1");
    store.select("n2");
    expect(Object.fromEntries(calls)).toEqual({ n1: 2, n2: 1 });
    expect(store.isSelected("n2")).toBe(true);
    expect(store.isSelected("n1")).toBe(false);
  });
});
