/**
 * Graph algorithms over a run's DAG, pure and iterative: runs may be 10,000 nodes deep,
 * and recursion that deep would overflow the stack. Nodes are indices 0..n-1; `deps[i]`
 * holds the indices node i depends on. An edge `a -> b` means "b depends on a" (a runs
 * first), the direction work flows and the direction cycle paths are written in.
 */

/** `children[i]`: the nodes that depend on i, in input order. */
export function childrenOf(deps: readonly (readonly number[])[]): number[][] {
  const children: number[][] = deps.map(() => []);
  for (let i = 0; i < deps.length; i++) {
    for (const d of deps[i]!) children[d]!.push(i);
  }
  return children;
}

export type TopologicalResult =
  | { order: number[]; cycle?: undefined }
  /** A cycle in edge direction, starting at its lowest index: `cycle[k+1]` depends on `cycle[k]`, `cycle[0]` on the last. */
  | { order?: undefined; cycle: number[] };

/**
 * Kahn's algorithm. Roots come first in input order and each node follows once all its
 * deps have been placed, so the order is deterministic for a given input.
 */
export function topologicalOrder(
  deps: readonly (readonly number[])[],
  children: readonly (readonly number[])[] = childrenOf(deps),
): TopologicalResult {
  const n = deps.length;
  const waiting = new Int32Array(n);
  const order: number[] = [];
  for (let i = 0; i < n; i++) {
    waiting[i] = deps[i]!.length;
    if (waiting[i] === 0) order.push(i);
  }
  // `order` doubles as Kahn's FIFO queue: everything before `head` has been expanded.
  for (let head = 0; head < order.length; head++) {
    for (const c of children[order[head]!]!) {
      if (--waiting[c]! === 0) order.push(c);
    }
  }
  if (order.length === n) return { order };
  return { cycle: cycleAmong(deps, waiting) };
}

/*
 * Every node Kahn could not place still waits on some dep that was not placed either, so
 * walking from one such node to an unplaced dep, again and again, never gets stuck and
 * must revisit a node within n steps: the stretch between the two visits is a cycle. This
 * is the depth-first search for a back edge with no backtracking needed, O(n) and flat.
 */
function cycleAmong(deps: readonly (readonly number[])[], waiting: Int32Array): number[] {
  const seenAt = new Int32Array(deps.length).fill(-1);
  const walk: number[] = [];
  let at = waiting.findIndex((w) => w > 0);
  while (seenAt[at] === -1) {
    seenAt[at] = walk.length;
    walk.push(at);
    at = deps[at]!.find((d) => waiting[d]! > 0)!;
  }
  // The walk follows deps (against the edges); reverse it into edge direction.
  const cycle = walk.slice(seenAt[at]).reverse();
  let first = 0;
  for (let k = 1; k < cycle.length; k++) if (cycle[k]! < cycle[first]!) first = k;
  return [...cycle.slice(first), ...cycle.slice(0, first)];
}

/** Adjacency by node id, as a Map or a plain record. */
export type ChildrenById = ReadonlyMap<string, readonly string[]> | Readonly<Record<string, readonly string[]>>;

/**
 * Every node reachable from `id` along child edges (what a failure of `id` would skip),
 * breadth-first, without `id` itself and without repeats.
 */
export function descendants(children: ChildrenById, id: string): string[] {
  const childrenOfId =
    children instanceof Map
      ? (k: string) => children.get(k)
      : // Ids may be "__proto__" or "constructor": only own properties count.
        (k: string) => (Object.hasOwn(children, k) ? (children as Record<string, readonly string[]>)[k] : undefined);
  const seen = new Set<string>([id]);
  const out: string[] = [];
  const queue: string[] = [id];
  for (let head = 0; head < queue.length; head++) {
    for (const c of childrenOfId(queue[head]!) ?? []) {
      if (seen.has(c)) continue;
      seen.add(c);
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}
