import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * Every repository path a comment, a README or the architecture doc names exists (M8 step 5):
 * comments cite docs/architecture.md and files inside the repository, and a rename that leaves
 * a stale citation fails here instead of misleading the next reader.
 */
const root = join(import.meta.dirname, "..");
const SKIP = new Set(["node_modules", ".git", "dist", ".sst", ".weft"]);
const TEXT = /\.(ts|tsx|md|lua|ya?ml)$/;
const TOP = "(?:packages|functions|infra|examples|bench|docs)";
/** A path-looking token: a top-level folder, then segments, then a file extension. */
const CITED = new RegExp(`(?<![\\w@./-])${TOP}/[\\w./-]+\\.(?:ts|tsx|md|lua|json|ya?ml|png|sh)\\b`, "g");

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    if (SKIP.has(name)) return [];
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : TEXT.test(name) ? [p] : [];
  });
}

describe("paths named in the repository", () => {
  it("every cited repository path exists", () => {
    const missing: string[] = [];
    let cited = 0;
    for (const file of files(root)) {
      for (const m of readFileSync(file, "utf8").matchAll(CITED)) {
        cited++;
        const p = m[0].replace(/\.$/, "");
        if (!existsSync(join(root, p))) missing.push(`${relative(root, file)}: ${p}`);
      }
    }
    expect(cited).toBeGreaterThan(50);
    expect(missing).toEqual([]);
  });

  it("no file cites a design document outside the repository", () => {
    const outside = files(root)
      .filter((f) => f !== import.meta.filename)
      .filter((f) => /\bDESIGN\.md\b|\.\.\/shared\//.test(readFileSync(f, "utf8")))
      .map((f) => relative(root, f));
    expect(outside).toEqual([]);
  });
});
