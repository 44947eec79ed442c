import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { validateRun } from "@weft/core";
import { articleKey, RESEARCHERS, researchPipeline } from "../dag.js";

describe("the example pipeline's run spec", () => {
  it("is a valid DAG: plan, three researchers in parallel, then draft, fact-check, edit, an editor's approval, publish", () => {
    const spec = researchPipeline({ topic: "tidal power" });
    expect(() => validateRun(spec)).not.toThrow();
    const deps = Object.fromEntries(spec.nodes.map((n) => [n.id, n.deps ?? []]));
    expect(deps).toEqual({
      plan: [],
      "research-1": ["plan"],
      "research-2": ["plan"],
      "research-3": ["plan"],
      draft: ["research-1", "research-2", "research-3"],
      "fact-check": ["draft"],
      edit: ["draft", "fact-check"],
      approve: ["edit"],
      publish: ["edit", "approve"],
    });
    expect(spec.nodes.find((n) => n.id === "approve")).toMatchObject({ wait: { timeoutMs: 600_000, onTimeout: "fail" } });
    expect(spec.nodes.find((n) => n.id === "approve")?.agent).toBeUndefined();
    expect(spec.nodes.filter((n) => n.agent === "researcher").map((n) => n.input)).toEqual(
      Array.from({ length: RESEARCHERS }, (_, i) => ({ topic: "tidal power", question: i })),
    );
  });

  it("is the same run as dag.yaml, which the CLI submits", () => {
    const yaml = parse(readFileSync(join(import.meta.dirname, "../dag.yaml"), "utf8"));
    expect(yaml).toEqual(researchPipeline({ topic: "home battery storage in the EU" }));
  });

  it("files articles under a URL-safe key made from the topic", () => {
    expect(articleKey("  Home Battery Storage in the EU! ")).toBe("home-battery-storage-in-the-eu");
    expect(articleKey("???")).toBe("untitled");
  });
});
