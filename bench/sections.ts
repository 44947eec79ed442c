/**
 * Sections of bench/RESULTS.md that a full `npm run bench` keeps: every block from a line
 * `<!-- name:start -->` to its `<!-- name:end -->`. A benchmark that measured its section in
 * this run replaces it; every other marked section of the previous file (hand-written
 * findings, a benchmark not run this time) is carried over as it was, in its order.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The marked sections of a text, in order: name and the whole block, markers included. */
export function markedSections(text: string): { name: string; text: string }[] {
  const out: { name: string; text: string }[] = [];
  for (const m of text.matchAll(/^<!-- ([\w.-]+):start -->$[\s\S]*?^<!-- \1:end -->$/gm)) out.push({ name: m[1]!, text: m[0] });
  return out;
}

/** Replaces this section (its first line names it) in a RESULTS.md text, or appends it when absent. */
export function spliceSection(doc: string, section: string): string {
  const start = section.slice(0, section.indexOf("\n"));
  const end = start.replace(":start", ":end");
  const a = doc.indexOf(start);
  const b = doc.indexOf(end, a);
  if (a >= 0 && b > a) return doc.slice(0, a) + section + doc.slice(b + end.length);
  return `${doc.trimEnd()}\n\n${section}\n`;
}

/**
 * A freshly rendered report with the sections this run measured (`fresh`) and every other
 * marked section of `previous`: fresh ones win, then what `doc` itself has (bench/notes.md),
 * then the previous file's copy; the previous file's order is kept, new fresh sections go
 * after them.
 */
export function keepSections(doc: string, previous: string, fresh: (string | undefined)[]): string {
  const measured = new Map(fresh.filter((s): s is string => !!s).flatMap((s) => markedSections(s).map((x) => [x.name, x.text] as const)));
  let out = doc;
  const own = new Set(markedSections(doc).map((s) => s.name));
  const before = markedSections(previous);
  for (const s of before) {
    const text = measured.get(s.name) ?? (own.has(s.name) ? undefined : s.text);
    if (text) out = spliceSection(out, text);
  }
  for (const [name, text] of measured) if (!before.some((s) => s.name === name)) out = spliceSection(out, text);
  return out;
}

/**
 * A benchmark run as a script (`npx tsx bench/<name>.ts`): measures, then prints its section,
 * or with `write` puts it into bench/RESULTS.md between its markers (a smoke never writes).
 * Exits 0, or 1 with the error.
 */
export function runSection<R extends { smoke?: boolean }>(
  measure: () => Promise<R>,
  render: (r: R) => string,
  o: { write: boolean; log: (m: string) => void },
): void {
  measure().then(
    (r) => {
      const section = render(r);
      if (o.write && !r.smoke) {
        const file = join(dirname(fileURLToPath(import.meta.url)), "RESULTS.md");
        writeFileSync(file, spliceSection(readFileSync(file, "utf8"), section));
        o.log("wrote its section of bench/RESULTS.md");
      } else process.stdout.write(`${section}\n`);
      process.exit(0);
    },
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
