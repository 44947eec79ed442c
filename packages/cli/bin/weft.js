#!/usr/bin/env node
// The repo runs TypeScript through tsx (no build step): register it, then run the CLI.
// The same registration lets `weft worker ./agents.ts` import a TypeScript module.
// `weft --version` alone answers here, as commander would: registering tsx costs more
// than the rest of start-up, and a version check should not pay for it.
import { readFileSync } from "node:fs";

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === "--version" || args[0] === "-V")) {
  process.stdout.write(`${JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")).version}\n`);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import("../src/main.ts");
}
