import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { reach } from "@weft/test-support";

/**
 * What `weft` loads before it runs a command: core only through @weft/core/sdk (the fold,
 * the status tables, the errors; no Redis client, AWS SDK, zod or Lua), the client, and
 * commander. yaml is loaded when a YAML spec is read.
 */
const ROOT = resolve(import.meta.dirname, "../../..");
const BIN = join(ROOT, "packages/cli/bin/weft.js");
const run = promisify(execFile);

describe("weft's start-up", () => {
  it("loads core only through @weft/core/sdk, and nothing but the client and commander besides node:", () => {
    const { packages } = reach(join(ROOT, "packages/cli/src/main.ts"), ROOT);
    expect(packages.filter((p) => p.startsWith("@weft/")).sort()).toEqual(["@weft/client", "@weft/core/sdk"]);
    expect(packages.filter((p) => !p.startsWith("node:") && !p.startsWith("@weft/"))).toEqual(["commander"]);
  });

  it("answers --version alone (before tsx is registered) with the version commander prints", async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, "packages/cli/package.json"), "utf8")) as { version: string };
    const alone = await run(process.execPath, [BIN, "--version"]);
    const short = await run(process.execPath, [BIN, "-V"]);
    const viaCommander = await run(process.execPath, [BIN, "--version", "--json"]);
    expect([alone.stdout, short.stdout, viaCommander.stdout]).toEqual([`${version}\n`, `${version}\n`, `${version}\n`]);
  });
});
