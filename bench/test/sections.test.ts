import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { keepSections, markedSections } from "../sections.js";

const here = join(import.meta.dirname, "..");

describe("bench/sections.ts: what a full npm run bench keeps of RESULTS.md", () => {
  const previous = ["# old", "", "<!-- a:start -->", "A old", "<!-- a:end -->", "", "<!-- hand:start -->", "notes", "<!-- hand:end -->", ""].join("\n");

  it("a section measured now replaces its old copy; the hand-written ones are kept in order; new ones go last", () => {
    const fresh = ["<!-- a:start -->", "A new", "<!-- a:end -->"].join("\n");
    const added = ["<!-- b:start -->", "B", "<!-- b:end -->"].join("\n");
    const out = keepSections("# new report\n", previous, [fresh, undefined, added]);
    expect(out).not.toContain("A old");
    expect(markedSections(out).map((s) => s.name)).toEqual(["a", "hand", "b"]);
    expect(out.startsWith("# new report")).toBe(true);
  });

  it("a marked section the report itself carries (bench/notes.md) is not replaced by the previous copy", () => {
    const out = keepSections("# r\n\n<!-- hand:start -->\nnotes v2\n<!-- hand:end -->\n", previous, []);
    expect(out).toContain("notes v2");
    expect(out).not.toMatch(/^notes$/m);
  });

  it("RESULTS.md has nothing after bench/notes.md's text but marked sections, so a full run keeps it all", () => {
    const results = readFileSync(join(here, "RESULTS.md"), "utf8");
    const notes = readFileSync(join(here, "notes.md"), "utf8").trim();
    const end = results.indexOf(notes);
    expect(end).toBeGreaterThan(0);
    let rest = results.slice(end + notes.length);
    for (const s of markedSections(rest)) rest = rest.replace(s.text, "");
    expect(rest.trim()).toBe("");
  });
});
