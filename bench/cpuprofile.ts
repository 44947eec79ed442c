/**
 * Summarizes a `node --cpu-prof` profile: self time per function and per package/folder.
 * Usage: node --import tsx --cpu-prof --cpu-prof-dir /tmp/prof bench/run.ts --only a --reps 1
 *        npx tsx bench/cpuprofile.ts /tmp/prof/<file>.cpuprofile
 */
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Where a frame's code lives: a package, a folder of this repo, or a runtime bucket. */
export function bucketOf(url: string, fn: string): string {
  if (!url) return fn.startsWith("(") ? fn : "(native)";
  const pkg = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (pkg) return pkg[1]!;
  const repo = url.match(/\/(packages\/[^/]+\/src\/[^/]+|bench|test)\//);
  if (repo) return repo[1]!;
  if (url.startsWith("node:")) return url;
  return url;
}

export function summarize(p: Profile, top = 25): { byFunction: [string, number][]; byBucket: [string, number][]; totalMs: number } {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const fn = new Map<string, number>();
  const bucket = new Map<string, number>();
  let total = 0;
  p.samples.forEach((id, i) => {
    const n = byId.get(id);
    const dt = (p.timeDeltas[i] ?? 0) / 1000;
    if (!n) return;
    total += dt;
    const { functionName, url, lineNumber } = n.callFrame;
    const key = `${functionName || "(anonymous)"} ${url.replace(/^.*node_modules\//, "").replace(/^file:\/\/.*\/work\/main\//, "")}:${lineNumber + 1}`;
    fn.set(key, (fn.get(key) ?? 0) + dt);
    const b = bucketOf(url, functionName);
    bucket.set(b, (bucket.get(b) ?? 0) + dt);
  });
  const sort = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).slice(0, top);
  return { byFunction: sort(fn), byBucket: sort(bucket), totalMs: total };
}

if (process.argv[1]?.endsWith("cpuprofile.ts")) {
  for (const file of process.argv.slice(2)) {
    const s = summarize(JSON.parse(readFileSync(file, "utf8")) as Profile);
    console.log(`${file}: ${s.totalMs.toFixed(0)} ms sampled`);
    console.log("\nself time by package/folder:");
    for (const [k, v] of s.byBucket) console.log(`${((v / s.totalMs) * 100).toFixed(1).padStart(5)}%  ${v.toFixed(0).padStart(6)} ms  ${k}`);
    console.log("\nself time by function:");
    for (const [k, v] of s.byFunction) console.log(`${((v / s.totalMs) * 100).toFixed(1).padStart(5)}%  ${v.toFixed(0).padStart(6)} ms  ${k}`);
  }
}
