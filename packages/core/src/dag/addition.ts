/**
 * Work added to a running run, checked before anything touches Redis: the addition's own
 * shape (ids unique within it, deps without repeats, inputs within the limit, no cycle
 * among its new nodes, joins that can be met). What depends on the run as it is (ids
 * unique in the run, dependency targets that exist and are pending, a cycle through
 * existing nodes, the per-run node limit) is checked by the script that applies it
 * (lua/includes/grow.lua), atomically with the write.
 */
import { PayloadTooLargeError, ValidationError, WeftError } from "../errors.js";
import { fromZodError } from "../validation.js";
import { topologicalOrder } from "./graph.js";
import { AdditionSchema, DEFAULT_LIMITS, type DagLimits } from "./spec.js";
import { depError, indexIds, serializeInput, shortPath, validNode, type ValidNode } from "./validate.js";

export interface ValidAddition {
  /** In the order given. */
  nodes: Omit<ValidNode, "children">[];
  /** [existing node, its new deps] in the order given. */
  deps: [string, string[]][];
}

/** The same error with its field (and message) under `prefix`, e.g. `add.` for a completion's addition. */
function under(err: unknown, prefix: string): unknown {
  if (!prefix || !(err instanceof WeftError) || err.field === undefined) return err;
  const field = prefix + err.field;
  const message = err.message.startsWith(err.field) ? prefix + err.message : err.message;
  if (err instanceof PayloadTooLargeError) return new PayloadTooLargeError(message, field);
  if (err instanceof ValidationError) return new ValidationError(message, field, err.details);
  return err;
}

export function validateAddition(input: unknown, limits: Partial<DagLimits> = {}, prefix = ""): ValidAddition {
  try {
    return check(input, limits);
  } catch (err) {
    throw under(err, prefix);
  }
}

function check(input: unknown, limits: Partial<DagLimits>): ValidAddition {
  const maxNodes = limits.maxNodes ?? DEFAULT_LIMITS.maxNodes;
  const maxInputBytes = limits.maxInputBytes ?? DEFAULT_LIMITS.maxInputBytes;
  const raw = typeof input === "object" && input !== null ? (input as { nodes?: unknown }).nodes : undefined;
  if (Array.isArray(raw) && raw.length > maxNodes) {
    throw new PayloadTooLargeError(`nodes has ${raw.length} entries; a run may have at most ${maxNodes}`, "nodes");
  }
  const parsed = AdditionSchema.safeParse(input);
  if (!parsed.success) throw fromZodError(AdditionSchema.safeParse(input, { reportInput: true }).error ?? parsed.error, "addition");
  const spec = parsed.data;
  const list = spec.nodes ?? [];
  const deps = Object.entries(spec.deps ?? {});
  if (list.length === 0 && deps.length === 0) throw new ValidationError("an addition needs nodes or deps", "nodes");

  const indexOf = indexIds(list);
  // Among the new nodes only: deps on nodes of the run are checked by the script.
  const inner = list.map((node, i) => {
    const out: number[] = [];
    const seen = new Set<string>();
    (node.deps ?? []).forEach((dep, j) => {
      if (dep === node.id) throw depError(i, j, `: node "${dep}" cannot depend on itself`, "");
      if (seen.has(dep)) throw depError(i, j, `"${dep}" repeats an earlier dependency`);
      seen.add(dep);
      const k = indexOf.get(dep);
      if (k !== undefined) out.push(k);
    });
    return out;
  });
  const sorted = topologicalOrder(inner);
  if (sorted.cycle) {
    const path = [...sorted.cycle, sorted.cycle[0]!].map((i) => list[i]!.id);
    throw new ValidationError(`nodes form a cycle: ${shortPath(path)}`, `nodes[${sorted.cycle[0]}].deps`, { cycle: path });
  }
  const nodes = list.map((node, i) => validNode(node, i, maxInputBytes, serializeInput(node, i, maxInputBytes)));
  return { nodes, deps };
}
