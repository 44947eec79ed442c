import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { validateRun } from "@weft/core/validation";
import { articleKey, quorum, researchPipeline } from "../dag.js";

describe("the example pipeline's run spec", () => {
  it("is a valid frame, plan -> fact-check -> edit -> approve -> publish, that its agents grow", () => {
    const spec = researchPipeline({ topic: "tidal power" });
    expect(() => validateRun(spec)).not.toThrow();
    const deps = Object.fromEntries(spec.nodes.map((n) => [n.id, n.deps ?? []]));
    expect(deps).toEqual({ plan: [], "fact-check": ["plan"], edit: ["fact-check"], approve: ["edit"], publish: ["edit", "approve"] });
    expect(spec.nodes[0]!.input).toMatchObject({ minQuestions: 2, maxQuestions: 6 });
    expect(spec.nodes.find((n) => n.id === "approve")).toMatchObject({ wait: { timeoutMs: 600_000, onTimeout: "fail" } });
    expect(spec.nodes.find((n) => n.id === "approve")?.agent).toBeUndefined();
  });

  it("drafts once two thirds of the researchers succeeded", () => {
    expect([2, 3, 4, 5, 6].map(quorum)).toEqual([2, 2, 3, 4, 4]);
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
