import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";

/** Module specifiers a file imports at runtime (type-only imports and exports are erased; dynamic imports are not counted). */
export function runtimeImports(file: string): string[] {
  const src = readFileSync(file, "utf8");
  const specs: string[] = [];
  for (const m of src.matchAll(/^(?:import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s+)?["']([^"']+)["']/gm)) {
    if (!m[1]) specs.push(m[2]!);
  }
  return specs;
}

/**
 * Every file and package reached at load time from `entry`, following relative imports:
 * what importing `entry` costs. Files are given relative to `root`.
 */
export function reach(entry: string, root: string): { files: string[]; packages: string[] } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    for (const spec of runtimeImports(file)) {
      if (spec.startsWith(".")) visit(join(dirname(file), spec.replace(/\.js$/, ".ts")));
      else packages.add(spec);
    }
  };
  visit(entry);
  return { files: [...files].map((f) => f.slice(root.length + 1)), packages: [...packages] };
}
