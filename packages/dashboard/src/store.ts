import { createContext } from "react";
import type { NodeStatus, RunEvent, RunStatus } from "./api";
import { applyEvents, type LiveNode } from "./status";

const PENDING: LiveNode = { status: "pending", attempt: 0 };

/**
 * Node states of the run on the page, outside React Flow's node array: a graph node reads its
 * own state by id (useNodeState) and only the nodes an update changed render again. A batch
 * of stream events (one per animation frame) costs what it changed, not the size of the run:
 * React Flow's nodes are made once per layout and never rebuilt for a status.
 */
export class NodeStore {
  private live = new Map<string, LiveNode>();
  /** The run as it was after an earlier event (time travel), shown instead of live. */
  private travel: Map<string, LiveNode> | undefined;
  private selected: string | undefined;
  private byId = new Map<string, Set<() => void>>();
  private all = new Set<() => void>();

  /** Statuses from the run's read (nodes the stream has already told about keep theirs). */
  seed(nodes: { id: string; status: NodeStatus; attempt: number }[]): void {
    for (const n of nodes) if (!this.live.has(n.id)) this.live.set(n.id, { status: n.status, attempt: n.attempt });
    this.summed = undefined;
  }
  apply(events: RunEvent[]): { run?: RunStatus; added: boolean } {
    const r = applyEvents(this.live, events);
    if (r.changed.size) this.summed = undefined;
    if (!this.travel) for (const id of r.changed) this.notify(id);
    this.notifyAll();
    return r;
  }
  /** What a node shows: its time-travel state when travelling, else its live one. */
  get(id: string): LiveNode {
    return (this.travel ?? this.live).get(id) ?? PENDING;
  }
  liveOf(id: string): LiveNode | undefined {
    return this.live.get(id);
  }
  private summed: { counts: Partial<Record<NodeStatus, number>>; waiting: string[] } | undefined;
  /** Live node counts by status, and the waiting nodes (counted again after a change only). */
  summary(): { counts: Partial<Record<NodeStatus, number>>; waiting: string[] } {
    if (this.summed) return this.summed;
    const counts: Partial<Record<NodeStatus, number>> = {};
    const waiting: string[] = [];
    for (const [id, n] of this.live) {
      counts[n.status] = (counts[n.status] ?? 0) + 1;
      if (n.status === "waiting") waiting.push(id);
    }
    return (this.summed = { counts, waiting });
  }
  setTravel(nodes: { id: string; status: NodeStatus; attempt: number }[] | undefined): void {
    const before = this.travel;
    this.travel = nodes && new Map(nodes.map((n) => [n.id, { status: n.status, attempt: n.attempt }]));
    if (before || this.travel) for (const id of this.byId.keys()) this.notify(id);
  }
  isSelected(id: string): boolean {
    return this.selected === id;
  }
  select(id: string | undefined): void {
    const before = this.selected;
    this.selected = id;
    if (before) this.notify(before);
    if (id) this.notify(id);
  }
  subscribe(id: string, fn: () => void): () => void {
    let s = this.byId.get(id);
    if (!s) this.byId.set(id, (s = new Set()));
    s.add(fn);
    return () => {
      s.delete(fn);
      if (!s.size) this.byId.delete(id);
    };
  }
  /** Called after every batch (the page's summary, timeline and node panel). */
  subscribeAll(fn: () => void): () => void {
    this.all.add(fn);
    return () => void this.all.delete(fn);
  }
  private notify(id: string): void {
    for (const fn of this.byId.get(id) ?? []) fn();
  }
  private notifyAll(): void {
    for (const fn of this.all) fn();
  }
}

export const StoreContext = createContext<NodeStore | undefined>(undefined);
