import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { descendants, topologicalOrder } from "../src/dag/graph.js";
import { validateRun, type ValidRun } from "../src/dag/validate.js";
import { PayloadTooLargeError, ValidationError, type WeftError } from "@weft/core";
import { fieldOf, fromZodError } from "@weft/core/validation";

type Spec = { id: string; agent: string; deps?: string[]; input?: unknown; [k: string]: unknown };
const node = (id: string, deps?: string[], extra: Record<string, unknown> = {}): Spec => ({
  id,
  agent: "writer",
  ...(deps ? { deps } : {}),
  ...extra,
});

/** The error validateRun throws for `spec`, failing the test if it accepts it. */
function rejection(spec: unknown, limits?: Parameters<typeof validateRun>[1]): WeftError {
  try {
    validateRun(spec, limits);
  } catch (err) {
    return err as WeftError;
  }
  throw new Error("validateRun accepted an invalid run");
}

function expectRejected(spec: unknown, type: typeof ValidationError | typeof PayloadTooLargeError, field: string | undefined, message: string) {
  const err = rejection(spec);
  expect(err).toBeInstanceOf(type);
  expect({ field: err.field, message: err.message }).toEqual({ field, message });
  return err;
}

const ids = (run: ValidRun) => run.nodes.map((n) => n.id);
const byId = (run: ValidRun) => new Map(run.nodes.map((n) => [n.id, n]));

describe("fieldOf", () => {
  it("writes paths the way a caller would index the body", () => {
    expect(fieldOf(["nodes", 3, "deps", 0])).toBe("nodes[3].deps[0]");
    expect(fieldOf(["nodes", 0, "retry", "maxBackoffMs"])).toBe("nodes[0].retry.maxBackoffMs");
    expect(fieldOf([0, "id"])).toBe("[0].id");
    expect(fieldOf(["labels", "team-a"])).toBe('labels["team-a"]');
    expect(fieldOf([])).toBe("");
  });
});

describe("fromZodError", () => {
  const schema = z.object({ name: z.string(), size: z.number().int().max(10), kind: z.enum(["a", "b"]), tags: z.array(z.string()).min(1) }).strict();
  const good = { name: "x", size: 1, kind: "a", tags: ["t"] };
  const firstError = (value: unknown, reportInput = true) => {
    const r = schema.safeParse(value, { reportInput });
    if (r.success) throw new Error("schema accepted the value");
    return fromZodError(r.error);
  };

  it("names the field and says in plain words what is wrong", () => {
    expect(firstError({ ...good, name: undefined })).toMatchObject({ field: "name", message: "name is required" });
    expect(firstError({ ...good, size: "3" })).toMatchObject({ field: "size", message: "size must be a number, not a string" });
    expect(firstError({ ...good, size: 2.5 })).toMatchObject({ message: "size must be a whole number" });
    expect(firstError({ ...good, size: 11 })).toMatchObject({ field: "size", message: "size must be at most 10" });
    expect(firstError({ ...good, kind: "c" })).toMatchObject({ field: "kind", message: 'kind must be one of "a", "b"' });
    expect(firstError({ ...good, tags: [] })).toMatchObject({ field: "tags", message: "tags must not be empty" });
    expect(firstError({ ...good, tags: [1] })).toMatchObject({ field: "tags[0]", message: "tags[0] must be a string, not a number" });
    expect(firstError({ ...good, colour: "red" })).toMatchObject({ field: "colour", message: "colour is not a known field" });
  });

  it("still says 'is required' when the input was not reported", () => {
    expect(firstError({ ...good, name: undefined }, false)).toMatchObject({ message: "name is required" });
    expect(firstError({ ...good, size: "3" }, false)).toMatchObject({ message: "size must be a number, not a string" });
  });

  it("uses the subject for the whole value and leaves the field unset", () => {
    const r = schema.safeParse([], { reportInput: true });
    const err = fromZodError(r.error!, "request");
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.field).toBeUndefined();
    expect(err.message).toBe("request must be an object, not an array");
  });
});

describe("validateRun rejects", () => {
  it("a run that is not an object, or has no node list", () => {
    expectRejected(null, ValidationError, undefined, "run must be an object, not null");
    expectRejected({}, ValidationError, "nodes", "nodes is required");
    expectRejected({ nodes: {} }, ValidationError, "nodes", "nodes must be an array, not an object");
  });

  it("an empty DAG", () => {
    expectRejected({ nodes: [] }, ValidationError, "nodes", "nodes must contain at least one node");
  });

  it("schema errors, naming the nested field", () => {
    expectRejected({ nodes: [node("a"), { id: "b" }] }, ValidationError, "nodes[1].agent", "nodes[1].agent is required (or give `wait` for a node no agent runs)");
    expectRejected(
      { nodes: [node("a"), node("b c")] },
      ValidationError,
      "nodes[1].id",
      "nodes[1].id must be 1 to 128 characters, each a letter, digit, '_', '.' or '-'",
    );
    expectRejected({ nodes: [node("a", [7 as unknown as string])] }, ValidationError, "nodes[0].deps[0]", "nodes[0].deps[0] must be a string, not a number");
    expectRejected({ nodes: [node("a", [], { timeoutMs: 0 })] }, ValidationError, "nodes[0].timeoutMs", "nodes[0].timeoutMs must be at least 1");
    expectRejected({ nodes: [node("a")], onFailure: "ignore" }, ValidationError, "onFailure", 'onFailure must be one of "fail-fast", "continue"');
  });

  it("duplicate node ids, saying which earlier node has the id", () => {
    const err = expectRejected(
      { nodes: [node("a"), node("b"), node("a")] },
      ValidationError,
      "nodes[2].id",
      'nodes[2].id "a" is already the id of nodes[0]',
    );
    expect(err.details).toEqual({ firstIndex: 0 });
  });

  it("a dependency on a node that is not in the run", () => {
    expectRejected({ nodes: [node("a"), node("b", ["a", "ghost"])] }, ValidationError, "nodes[1].deps[1]", 'nodes[1].deps[1] "ghost" is not a node of this run');
  });

  it("a node that depends on itself", () => {
    expectRejected({ nodes: [node("a"), node("b", ["a", "b"])] }, ValidationError, "nodes[1].deps[1]", 'nodes[1].deps[1]: node "b" cannot depend on itself');
  });

  it("the same dependency listed twice in one node, in short and long dep lists", () => {
    expectRejected({ nodes: [node("a"), node("b", ["a", "a"])] }, ValidationError, "nodes[1].deps[1]", 'nodes[1].deps[1] "a" repeats nodes[1].deps[0]');
    const many = Array.from({ length: 30 }, (_, i) => node(`p${i}`));
    const deps = [...many.map((n) => n.id), "p4"];
    expectRejected({ nodes: [...many, node("sink", deps)] }, ValidationError, "nodes[30].deps[30]", 'nodes[30].deps[30] "p4" repeats nodes[30].deps[4]');
  });

  it("a cycle, giving its path and naming the dep that closes it at its first node", () => {
    const err = expectRejected(
      { nodes: [node("a", ["c"]), node("b", ["a"]), node("c", ["b"])] },
      ValidationError,
      "nodes[0].deps[0]",
      "nodes form a cycle: a -> b -> c -> a",
    );
    expect(err.details).toEqual({ cycle: ["a", "b", "c", "a"] });
  });

  it("a cycle that sits downstream of valid nodes and upstream of others", () => {
    expectRejected(
      { nodes: [node("root"), node("after", ["y"]), node("x", ["root", "y"]), node("y", ["x"])] },
      ValidationError,
      "nodes[2].deps[1]",
      "nodes form a cycle: x -> y -> x",
    );
  });

  it("a cycle 10,000 nodes long without overflowing the stack", () => {
    const n = 10_000;
    const nodes = Array.from({ length: n }, (_, i) => node(`c${i}`, [`c${(i + n - 1) % n}`]));
    const err = rejection({ nodes });
    expect(err.field).toBe("nodes[0].deps[0]");
    expect((err.details as { cycle: string[] }).cycle).toHaveLength(n + 1);
    // The message shows the path's two ends; details.cycle has all of it.
    expect(err.message).toMatch(/^nodes form a cycle: c0 -> c1 -> .* -> c49 -> \.\.\. 9901 more \.\.\. -> c9951 -> .* -> c9999 -> c0$/);
    expect(err.message.split(" -> ")).toHaveLength(101);
  });

  it("a run over the node limit, as payload too large on field nodes", () => {
    const nodes = Array.from({ length: 4 }, (_, i) => node(`n${i}`));
    const err = rejection({ nodes }, { maxNodes: 3 });
    expect(err).toBeInstanceOf(PayloadTooLargeError);
    expect({ field: err.field, message: err.message }).toEqual({ field: "nodes", message: "nodes has 4 entries; a run may have at most 3" });
  });

  it("a run over the default limit when a limit is passed as undefined", () => {
    const nodes = Array.from({ length: 10_001 }, (_, i) => node(`n${i}`));
    expect(rejection({ nodes }, { maxNodes: undefined as unknown as number })).toBeInstanceOf(PayloadTooLargeError);
  });

  it("10,001 nodes by default, while 10,000 pass", () => {
    const nodes = Array.from({ length: 10_001 }, (_, i) => node(`n${i}`));
    expect(rejection({ nodes })).toBeInstanceOf(PayloadTooLargeError);
    expect(validateRun({ nodes: nodes.slice(1) }).nodes).toHaveLength(10_000);
  });

  it("an input larger than the limit counted in UTF-8 bytes, not characters", () => {
    // 60 characters of "é" are 120 bytes, plus 2 quotes: over 100 bytes though only 62 characters.
    const err = rejection({ nodes: [node("a", [], { input: "ok" }), node("b", [], { input: "é".repeat(60) })] }, { maxInputBytes: 100 });
    expect(err).toBeInstanceOf(PayloadTooLargeError);
    expect({ field: err.field, message: err.message }).toEqual({ field: "nodes[1].input", message: "nodes[1].input is 122 bytes as JSON; the limit is 100" });
    const atLimit = validateRun({ nodes: [node("a", [], { input: "é".repeat(49) })] }, { maxInputBytes: 100 });
    expect(atLimit.nodes[0]!.inputJson).toBe(JSON.stringify("é".repeat(49)));
  });

  it("an input over the default 256 KB", () => {
    const err = rejection({ nodes: [node("a", [], { input: { text: "x".repeat(256 * 1024) } })] });
    expect(err).toBeInstanceOf(PayloadTooLargeError);
    expect(err.field).toBe("nodes[0].input");
  });

  it("a retry policy whose maxBackoffMs is below its backoffMs", () => {
    expectRejected(
      { nodes: [node("a", [], { retry: { maxAttempts: 3, backoffMs: 1000, maxBackoffMs: 500 } })] },
      ValidationError,
      "nodes[0].retry.maxBackoffMs",
      "nodes[0].retry.maxBackoffMs must not be less than backoffMs",
    );
  });

  it("input that JSON cannot represent", () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const cases: [unknown, string][] = [
      [() => 1, "nodes[0].input is a function, which JSON cannot represent; omit it or give a JSON value"],
      [undefined, "nodes[0].input is undefined, which JSON cannot represent; omit it or give a JSON value"],
      [{ tool: { run: () => 1 } }, "nodes[0].input contains a function, which JSON cannot represent"],
      [{ n: 10n }, "nodes[0].input contains a BigInt, which JSON cannot represent"],
      [[1, Symbol("s")], "nodes[0].input contains a symbol, which JSON cannot represent"],
      [{ score: Number.NaN }, "nodes[0].input contains the number NaN, which JSON cannot represent"],
      [[Number.POSITIVE_INFINITY], "nodes[0].input contains the number Infinity, which JSON cannot represent"],
      [{ seen: new Map([["a", 1]]) }, "nodes[0].input contains a Map, which JSON cannot represent"],
      [circular, "nodes[0].input contains a circular reference, which JSON cannot represent"],
    ];
    for (const [input, message] of cases) {
      expectRejected({ nodes: [{ id: "a", agent: "w", input }] }, ValidationError, "nodes[0].input", message);
    }
  });
});

describe("validateRun accepts", () => {
  it("a diamond, in topological order with roots, deps and children", () => {
    const run = validateRun({ nodes: [node("d", ["b", "c"]), node("b", ["a"]), node("c", ["a"]), node("a")] });
    expect(ids(run)).toEqual(["a", "b", "c", "d"]);
    expect(run.roots).toEqual(["a"]);
    expect(run.onFailure).toBe("fail-fast");
    expect(run.nodes).toEqual([
      { id: "a", agent: "writer", deps: [], children: ["b", "c"] },
      { id: "b", agent: "writer", deps: ["a"], children: ["d"] },
      { id: "c", agent: "writer", deps: ["a"], children: ["d"] },
      { id: "d", agent: "writer", deps: ["b", "c"], children: [] },
    ]);
  });

  it("a chain 10,000 deep", () => {
    const n = 10_000;
    const nodes = Array.from({ length: n }, (_, i) => node(`c${n - 1 - i}`, i === n - 1 ? undefined : [`c${n - 2 - i}`]));
    const run = validateRun({ nodes });
    expect(ids(run)).toEqual(Array.from({ length: n }, (_, i) => `c${i}`));
    expect(run.roots).toEqual(["c0"]);
    expect(byId(run).get("c41")!.children).toEqual(["c42"]);
  });

  it("a fan-out to 9,998 nodes and back into one", () => {
    const middle = Array.from({ length: 9_998 }, (_, i) => node(`m${i}`, ["src"]));
    const run = validateRun({ nodes: [node("src"), ...middle, node("sink", middle.map((m) => m.id))] });
    expect(run.nodes).toHaveLength(10_000);
    expect(run.nodes[0]!.children).toHaveLength(9_998);
    expect(run.nodes.at(-1)).toMatchObject({ id: "sink", children: [] });
    expect(run.nodes.at(-1)!.deps).toHaveLength(9_998);
  });

  it("several roots, kept in spec order, with the run's options passed through", () => {
    const retry = { maxAttempts: 3, backoffMs: 100, maxBackoffMs: 100 };
    const run = validateRun({
      id: "run-1",
      idempotencyKey: "k 1",
      onFailure: "continue",
      nodes: [node("x"), node("join", ["y", "x"], { timeoutMs: 5000 }), node("y", [], { retry, input: { q: "hé" } })],
    });
    expect(run).toMatchObject({ id: "run-1", idempotencyKey: "k 1", onFailure: "continue", roots: ["x", "y"] });
    expect(ids(run)).toEqual(["x", "y", "join"]);
    expect(byId(run).get("y")).toEqual({ id: "y", agent: "writer", deps: [], children: ["join"], retry, inputJson: '{"q":"hé"}' });
    expect(byId(run).get("join")).toEqual({ id: "join", agent: "writer", deps: ["y", "x"], children: [], timeoutMs: 5000 });
  });

  it("inputs that are JSON, including null, false and objects with toJSON", () => {
    const run = validateRun({
      nodes: [
        node("a", [], { input: null }),
        node("b", [], { input: false }),
        node("c", [], { input: { at: new Date(0), skip: undefined } }),
        node("d"),
      ],
    });
    expect(run.nodes.map((n) => n.inputJson)).toEqual(["null", "false", '{"at":"1970-01-01T00:00:00.000Z"}', undefined]);
    expect("inputJson" in run.nodes[3]!).toBe(false);
  });
});

describe("graph", () => {
  it("descendants walks every child edge once, breadth first, from a Map or a record", () => {
    const children = { a: ["b", "c"], b: ["d"], c: ["d"], d: ["e"], e: [] };
    expect(descendants(children, "a")).toEqual(["b", "c", "d", "e"]);
    expect(descendants(new Map(Object.entries(children)), "c")).toEqual(["d", "e"]);
    expect(descendants(children, "e")).toEqual([]);
  });

  it("descendants treats ids like __proto__ as ordinary ids", () => {
    expect(descendants({ a: ["__proto__"] }, "__proto__")).toEqual([]);
    expect(descendants({ __proto__: ["x"] } as unknown as Record<string, string[]>, "constructor")).toEqual([]);
  });

  it("descendants of the head of a 10,000-deep chain are the other 9,999", () => {
    const children = new Map(Array.from({ length: 10_000 }, (_, i) => [`c${i}`, i < 9_999 ? [`c${i + 1}`] : []]));
    expect(descendants(children, "c0")).toHaveLength(9_999);
  });

  it("topologicalOrder reports a cycle starting at its lowest index, in edge direction", () => {
    // deps[i] lists what i depends on: 1 on 2, 2 on 3, 3 on 1, so work would flow 1 -> 3 -> 2 -> 1.
    expect(topologicalOrder([[], [2], [3], [1]])).toEqual({ cycle: [1, 3, 2] });
  });
});

/** A random DAG: node i may depend only on lower i, then the list is shuffled. */
const randomDag = fc
  .integer({ min: 1, max: 60 })
  .chain((n) =>
    fc.tuple(
      fc.tuple(...Array.from({ length: n }, (_, i) => fc.uniqueArray(fc.nat({ max: Math.max(0, i - 1) }), { maxLength: i === 0 ? 0 : Math.min(i, 4) }))),
      fc.array(fc.double({ noNaN: true }), { minLength: n, maxLength: n }),
    ),
  )
  .map(([deps, keys]) => {
    const nodes = deps.map((d, i) => node(`n${i}`, d.map((j) => `n${j}`)));
    return nodes.map((spec, i) => ({ spec, key: keys[i]! })).sort((a, b) => a.key - b.key).map((x) => x.spec);
  });

describe("validateRun on random graphs", () => {
  it("accepts every random DAG and orders every node after all of its deps", () => {
    fc.assert(
      fc.property(randomDag, (nodes) => {
        const run = validateRun({ nodes });
        const position = new Map(ids(run).map((id, i) => [id, i]));
        expect(position.size).toBe(nodes.length);
        for (const n of run.nodes) {
          for (const d of n.deps) expect(position.get(d)!).toBeLessThan(position.get(n.id)!);
          for (const c of n.children) expect(byId(run).get(c)!.deps).toContain(n.id);
        }
        const childEdges = run.nodes.reduce((sum, n) => sum + n.children.length, 0);
        expect(childEdges).toBe(run.nodes.reduce((sum, n) => sum + n.deps.length, 0));
        expect(run.roots).toEqual(nodes.filter((n) => !n.deps?.length).map((n) => n.id));
      }),
    );
  });

  it("rejects a random DAG with a back edge, with a path that is a real cycle", () => {
    const withBackEdge = randomDag
      .filter((nodes) => nodes.some((n) => n.deps?.length))
      .chain((nodes) => fc.tuple(fc.constant(nodes), fc.nat(), fc.array(fc.nat(), { maxLength: 10 })));
    fc.assert(
      fc.property(withBackEdge, ([nodes, pick, steps]) => {
        const spec = new Map(nodes.map((n) => [n.id, { ...n, deps: [...(n.deps ?? [])] }]));
        // Climb from a node with deps to one of its ancestors, then make the ancestor depend on it.
        const withDeps = [...spec.values()].filter((n) => n.deps.length > 0);
        const low = withDeps[pick % withDeps.length]!;
        let high = spec.get(low.deps[0]!)!;
        for (const s of steps) {
          if (high.deps.length === 0) break;
          high = spec.get(high.deps[s % high.deps.length]!)!;
        }
        high.deps.push(low.id);

        const err = rejection({ nodes: [...spec.values()] });
        expect(err).toBeInstanceOf(ValidationError);
        const cycle = (err.details as { cycle: string[] }).cycle;
        expect(err.message).toBe(`nodes form a cycle: ${cycle.join(" -> ")}`);
        expect(cycle[0]).toBe(cycle.at(-1));
        expect(new Set(cycle).size).toBe(cycle.length - 1);
        for (let k = 1; k < cycle.length; k++) expect(spec.get(cycle[k]!)!.deps).toContain(cycle[k - 1]);
        const order = [...spec.keys()];
        const first = order.indexOf(cycle[0]!);
        const j = spec.get(cycle[0]!)!.deps.indexOf(cycle.at(-2)!);
        expect(err.field).toBe(`nodes[${first}].deps[${j}]`);
      }),
    );
  });
});
