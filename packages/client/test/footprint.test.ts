import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { reach as reachFrom } from "@weft/test-support";

/**
 * An agent's Lambda bundles @weft/client. The client must reach core only through
 * `@weft/core/sdk` (errors, update(), types), never the engine: otherwise the agent's bundle
 * pulls in ioredis, the AWS SDK and Lua scripts it would have to ship next to it. Its one
 * other package is @opentelemetry/api (the API alone, a no-op without an SDK: an agent's
 * span joins its run's trace when the agent registers one).
 */
const ROOT = resolve(import.meta.dirname, "../../..");
const reach = (entry: string) => reachFrom(entry, ROOT);

describe("@weft/client's footprint", () => {
  it("reaches core only through @weft/core/sdk", () => {
    const { packages } = reach(join(ROOT, "packages/client/src/index.ts"));
    expect(packages.filter((p) => p.startsWith("@weft/"))).toEqual(["@weft/core/sdk"]);
    expect(packages.filter((p) => !p.startsWith("node:") && !p.startsWith("@weft/"))).toEqual(["@opentelemetry/api"]);
  });

  it("has no import cycle between its modules (type imports included)", () => {
    const dir = join(ROOT, "packages/client/src");
    const edges = (file: string) =>
      [...readFileSync(file, "utf8").matchAll(/^(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\sfrom\s+)?["'](\.[^"']+)["']/gm)].map((m) =>
        join(dirname(file), m[1]!.replace(/\.js$/, ".ts")),
      );
    const cycles: string[] = [];
    const walk = (file: string, path: string[]) => {
      if (path.includes(file)) return void cycles.push([...path.slice(path.indexOf(file)), file].map((f) => f.slice(dir.length + 1)).join(" -> "));
      for (const next of edges(file)) walk(next, [...path, file]);
    };
    walk(join(dir, "index.ts"), []);
    expect(cycles).toEqual([]);
  });

  it("@weft/core/sdk loads no Redis client, AWS SDK, zod, Lua or engine scripts: the errors, update(), the event fold, the status lists and traceparent only", () => {
    const { files, packages } = reach(join(ROOT, "packages/core/src/sdk.ts"));
    expect(packages).toEqual([]);
    expect(files.sort()).toEqual([
      "packages/core/src/engine/fold.ts",
      "packages/core/src/engine/status.ts",
      "packages/core/src/errors.ts",
      "packages/core/src/sdk.ts",
      "packages/core/src/state/update.ts",
      "packages/core/src/trace-context.ts",
      "packages/core/src/values/ref.ts",
    ]);
  });
});
