import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { LuaScript } from "./port.js";

/**
 * Loads the Lua scripts: one file per atomic command under `lua/`, shared pieces under
 * `lua/includes/`, pulled in with a line `--@include <name>` (each include once).
 * Bundled deployments copy the `lua` folder next to the bundle (infra copies it).
 */
function luaDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const candidate of [join(here, "lua"), join(here, "redis", "lua"), join(process.cwd(), "lua")]) {
    if (existsSync(candidate)) return candidate;
  }
  throw new Error(`Weft Lua scripts not found next to ${here}`);
}

const cache = new Map<string, LuaScript>();

export function loadScript(name: string, dir = luaDir()): LuaScript {
  const key = `${dir}\0${name}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const seen = new Set<string>();
  const expand = (text: string): string =>
    text.replace(/^--@include (\S+)\s*$/gm, (_, inc: string) => {
      if (seen.has(inc)) return "";
      seen.add(inc);
      return expand(readFileSync(join(dir, "includes", `${inc}.lua`), "utf8"));
    });
  const top = readFileSync(join(dir, `${name}.lua`), "utf8");
  // Includes first; the script's own body after them. A script that includes core (every
  // DAG script) buffers its event-log and outbox writes: its body runs as a function so
  // flush_log() writes them after any return.
  const includes = [...top.matchAll(/^--@include \S+\s*$/gm)];
  const split = includes.length ? includes[includes.length - 1]!.index! + includes[includes.length - 1]![0].length : 0;
  const head = expand(top.slice(0, split));
  const body = top.slice(split);
  const source = seen.has("core") ? `${head}\nlocal function __main()\n${body}\nend\nlocal __r = __main()\nflush_log()\nreturn __r\n` : head + body;
  const script = { name, source, sha: createHash("sha1").update(source).digest("hex") };
  cache.set(key, script);
  return script;
}
