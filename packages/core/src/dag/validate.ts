/**
 * A run spec from outside (HTTP body, SDK call) becomes a ValidRun here or is refused with
 * a typed error naming the field. Everything the engine's submit script relies on is
 * checked before anything touches Redis (invariant 9: no partial writes from bad input).
 */
import { PayloadTooLargeError, ValidationError } from "../errors.js";
import { fromZodError } from "../validation.js";
import { childrenOf, topologicalOrder } from "./graph.js";
import { DEFAULT_LIMITS, RunSpecSchema, type DagLimits, type NodeSpec, type OnFailure, type RetryPolicy } from "./spec.js";
import { packWait, type PackedWait } from "./wait.js";

export interface ValidNode {
  id: string;
  /** Absent for a wait node. */
  agent?: string;
  wait?: PackedWait;
  /** In the order the spec listed them. */
  deps: string[];
  /** Nodes that depend on this one, in spec order. */
  children: string[];
  retry?: RetryPolicy;
  timeoutMs?: number;
  /** `JSON.stringify(input)`, computed once here so the engine never serializes twice. */
  inputJson?: string;
  /** Successes of deps needed (`join.min`); absent: all of them. */
  join?: number;
  onFailure?: OnFailure;
}

export interface ValidRun {
  id?: string;
  idempotencyKey?: string;
  onFailure: OnFailure;
  /** Topological order: every node comes after all of its deps. */
  nodes: ValidNode[];
  /** Nodes without deps, in spec order: the ones ready on submit. */
  roots: string[];
}

/**
 * Validates a run spec. Throws ValidationError (field set) for anything malformed,
 * PayloadTooLargeError for a run over `maxNodes` (field `nodes`) or a node input over
 * `maxInputBytes` of UTF-8 JSON (field `nodes[i].input`).
 */
export function validateRun(input: unknown, limits: Partial<DagLimits> = {}): ValidRun {
  // `??`, not a spread: a limit passed as undefined must not switch the limit off.
  const maxNodes = limits.maxNodes ?? DEFAULT_LIMITS.maxNodes;
  const maxInputBytes = limits.maxInputBytes ?? DEFAULT_LIMITS.maxInputBytes;
  refuseTooManyNodes(input, maxNodes);
  const parsed = RunSpecSchema.safeParse(input);
  if (!parsed.success) {
    // Parse again reporting the input, only on failure: messages can then say what was
    // received ("is required", "not a number") without slowing the common, valid case.
    const detailed = RunSpecSchema.safeParse(input, { reportInput: true });
    throw fromZodError(detailed.error ?? parsed.error, "run");
  }
  const spec = parsed.data;

  const indexOf = indexIds(spec.nodes);
  const deps = spec.nodes.map((node, i) => depIndices(node, i, indexOf));
  const inputJson = spec.nodes.map((node, i) => serializeInput(node, i, maxInputBytes));

  const children = childrenOf(deps);
  const sorted = topologicalOrder(deps, children);
  if (sorted.cycle) throw cycleError(sorted.cycle, spec.nodes, deps);

  const ids = spec.nodes.map((n) => n.id);
  const nodes = sorted.order.map((i): ValidNode => ({
    ...validNode(spec.nodes[i]!, i, maxInputBytes, inputJson[i]),
    children: children[i]!.map((c) => ids[c]!),
  }));

  const run: ValidRun = {
    onFailure: spec.onFailure ?? "fail-fast",
    nodes,
    roots: spec.nodes.filter((n) => n.deps === undefined || n.deps.length === 0).map((n) => n.id),
  };
  if (spec.id !== undefined) run.id = spec.id;
  if (spec.idempotencyKey !== undefined) run.idempotencyKey = spec.idempotencyKey;
  return run;
}

/** A join needs at least one and at most every dep to succeed. */
export function checkJoin(node: NodeSpec, i: number, prefix = ""): number {
  const min = node.join!.min;
  const deps = node.deps?.length ?? 0;
  if (min > deps) {
    const field = `${prefix}nodes[${i}].join.min`;
    throw new ValidationError(`${field} is ${min} but the node has ${deps} dependencies`, field);
  }
  return min;
}

/** Counted before parsing, so an oversized run is refused without paying to parse it. */
function refuseTooManyNodes(input: unknown, maxNodes: number): void {
  const nodes = typeof input === "object" && input !== null ? (input as { nodes?: unknown }).nodes : undefined;
  if (Array.isArray(nodes) && nodes.length > maxNodes) {
    throw new PayloadTooLargeError(`nodes has ${nodes.length} entries; a run may have at most ${maxNodes}`, "nodes");
  }
}

export function indexIds(nodes: readonly NodeSpec[]): Map<string, number> {
  const indexOf = new Map<string, number>();
  nodes.forEach((node, i) => {
    const earlier = indexOf.get(node.id);
    if (earlier !== undefined) {
      throw new ValidationError(`nodes[${i}].id "${node.id}" is already the id of nodes[${earlier}]`, `nodes[${i}].id`, {
        firstIndex: earlier,
      });
    }
    indexOf.set(node.id, i);
  });
  return indexOf;
}

// Above this many deps a Map beats scanning the earlier ones for repeats (fan-in nodes).
const LINEAR_DUPLICATE_SCAN = 16;

/** Runs for every dep of a run: a plain loop, no closure per dep, error text only on error. */
function depIndices(node: NodeSpec, i: number, indexOf: ReadonlyMap<string, number>): number[] {
  const deps = node.deps;
  if (deps === undefined || deps.length === 0) return [];
  const seen = deps.length > LINEAR_DUPLICATE_SCAN ? new Map<string, number>() : undefined;
  const out = new Array<number>(deps.length);
  for (let j = 0; j < deps.length; j++) {
    const dep = deps[j]!;
    const k = indexOf.get(dep);
    if (k === undefined) throw depError(i, j, `"${dep}" is not a node of this run`);
    if (k === i) throw depError(i, j, `: node "${dep}" cannot depend on itself`, "");
    const first = seen ? seen.get(dep) : deps.indexOf(dep);
    if (first !== undefined && first !== j) throw depError(i, j, `"${dep}" repeats nodes[${i}].deps[${first}]`);
    seen?.set(dep, j);
    out[j] = k;
  }
  return out;
}

export function depError(i: number, j: number, what: string, space = " ", prefix = ""): ValidationError {
  const field = `${prefix}nodes[${i}].deps[${j}]`;
  return new ValidationError(`${field}${space}${what}`, field);
}

/** A node of a spec (submitted or added) as the engine keeps it, but for its children. */
export function validNode(node: NodeSpec, i: number, maxInputBytes: number, inputJson: string | undefined): Omit<ValidNode, "children"> {
  const valid: Omit<ValidNode, "children"> = { id: node.id, deps: node.deps ?? [] };
  if (node.agent !== undefined) valid.agent = node.agent;
  if (node.wait !== undefined) valid.wait = packWait(node.wait, `nodes[${i}].wait`, maxInputBytes);
  if (node.retry !== undefined) valid.retry = node.retry;
  if (node.timeoutMs !== undefined) valid.timeoutMs = node.timeoutMs;
  if (node.join !== undefined) valid.join = checkJoin(node, i);
  if (node.onFailure !== undefined) valid.onFailure = node.onFailure;
  if (inputJson !== undefined) valid.inputJson = inputJson;
  return valid;
}

export function serializeInput(node: NodeSpec, i: number, maxBytes: number): string | undefined {
  if (!("input" in node)) return undefined;
  const field = `nodes[${i}].input`;
  const value = node.input;
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (err) {
    const why =
      err instanceof TypeError && /circular/i.test(err.message)
        ? "a circular reference"
        : (notJson(value) ?? `a value that failed to serialize (${err instanceof Error ? err.message : String(err)})`);
    throw new ValidationError(`${field} contains ${why}, which JSON cannot represent`, field);
  }
  if (json === undefined) {
    throw new ValidationError(`${field} is ${typeName(value)}, which JSON cannot represent; omit it or give a JSON value`, field);
  }
  const dropped = typeof value === "object" ? notJson(value) : undefined;
  if (dropped !== undefined) throw new ValidationError(`${field} contains ${dropped}, which JSON cannot represent`, field);
  // UTF-8 takes 1 to 3 bytes per UTF-16 unit: only the ambiguous band needs counting.
  if (json.length > maxBytes || (json.length * 3 > maxBytes && Buffer.byteLength(json, "utf8") > maxBytes)) {
    const bytes = Buffer.byteLength(json, "utf8");
    throw new PayloadTooLargeError(`${field} is ${bytes} bytes as JSON; the limit is ${maxBytes}`, field);
  }
  return json;
}

/*
 * JSON.stringify silently drops functions and symbols and turns NaN or a Map into null or
 * {}: the worker would receive something other than what was submitted. Refuse those.
 * Called only on values JSON.stringify accepted (so free of circular references) or on
 * failure; a flat loop, because a JSON replacer costs a call per value and doubles the
 * time of serializing a run. Objects with toJSON decide their own serialization.
 */
function notJson(value: unknown): string | undefined {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    switch (typeof v) {
      case "function":
        return "a function";
      case "symbol":
        return "a symbol";
      case "bigint":
        return "a BigInt";
      case "number":
        if (!Number.isFinite(v)) return `the number ${v}`;
        break;
      case "object":
        if (v === null) break;
        if (Array.isArray(v)) {
          for (const e of v) stack.push(e);
        } else if (v instanceof Map || v instanceof Set) {
          return `a ${v.constructor.name}`;
        } else if (typeof (v as { toJSON?: unknown }).toJSON !== "function") {
          for (const k in v) stack.push((v as Record<string, unknown>)[k]);
        }
        break;
    }
  }
  return undefined;
}

function typeName(value: unknown): string {
  return value === undefined ? "undefined" : `a ${typeof value}`;
}

function cycleError(cycle: readonly number[], nodes: readonly NodeSpec[], deps: readonly (readonly number[])[]): ValidationError {
  const path = [...cycle, cycle[0]!].map((i) => nodes[i]!.id);
  const first = cycle[0]!;
  // The first node closes the cycle through its dep on the last one: name that dep.
  const j = deps[first]!.indexOf(cycle[cycle.length - 1]!);
  return new ValidationError(`nodes form a cycle: ${shortPath(path)}`, `nodes[${first}].deps[${j}]`, { cycle: path });
}

// A message is read by a person: a cycle through thousands of nodes is shown by its ends
// (details.cycle keeps the whole path).
const MAX_PATH_IN_MESSAGE = 100;

export function shortPath(path: readonly string[]): string {
  if (path.length <= MAX_PATH_IN_MESSAGE) return path.join(" -> ");
  const half = MAX_PATH_IN_MESSAGE / 2;
  const hidden = path.length - 2 * half;
  return `${path.slice(0, half).join(" -> ")} -> ... ${hidden} more ... -> ${path.slice(-half).join(" -> ")}`;
}
