import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { LuaLibrary, LuaScript } from "./port.js";

/**
 * Loads the Lua scripts: one file per atomic command under `lua/`, shared pieces under
 * `lua/includes/`, pulled in with a line `--@include <name>` (each include once). Nothing
 * is read until a script is first run, so importing @weft/core reads no file.
 *
 * A script's `-- KEYS: a b c` header line names its KEYS in order (`name?` may be absent,
 * a last `name*` takes the rest as a list); the loader opens the script with
 * `local K = { a = KEYS[1], ... }` so the body says `K.a`. Each script exists in two forms:
 * - EVAL: its includes, then its body (EVALSHA, the REST adapter and any Redis < 7);
 * - a function of one Redis Functions library holding every script of the folder, the
 *   includes once at library level and each body as a function (FCALL, the TCP adapter):
 *   Redis compiles the library once instead of rebuilding the includes on every call.
 * Bundled deployments copy the `lua` folder next to the bundle (infra copies it).
 */
function defaultDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const candidate of [join(here, "lua"), join(here, "redis", "lua"), join(process.cwd(), "lua")]) {
    if (existsSync(candidate)) return candidate;
  }
  throw new Error(`Weft Lua scripts not found next to ${here}`);
}

interface Parsed {
  /** Includes this script pulls in, dependencies first. */
  includes: string[];
  /** `local K = {...}` built from the KEYS header ("" without one). */
  keys: string;
  body: string;
  flags: string[];
}

interface Folder {
  dir: string;
  parsed: Map<string, Parsed>;
  includes: Map<string, { deps: string[]; body: string }>;
  library?: LuaLibrary;
}

const folders = new Map<string, Folder>();
let defaultFolder: string | undefined;

function folder(dir?: string): Folder {
  const d = dir ?? (defaultFolder ??= defaultDir());
  let f = folders.get(d);
  if (!f) {
    f = { dir: d, parsed: new Map(), includes: new Map() };
    folders.set(d, f);
  }
  return f;
}

const INCLUDE = /^--@include (\S+)\s*$/gm;

function splitIncludes(text: string): { deps: string[]; body: string } {
  const deps = [...text.matchAll(INCLUDE)].map((m) => m[1]!);
  return { deps, body: text.replace(INCLUDE, "") };
}

/** Every include `names` needs, each once, dependencies before dependants. */
function closure(f: Folder, names: string[], out: string[] = []): string[] {
  for (const name of names) {
    if (out.includes(name)) continue;
    let inc = f.includes.get(name);
    if (!inc) {
      inc = splitIncludes(readFileSync(join(f.dir, "includes", `${name}.lua`), "utf8"));
      f.includes.set(name, inc);
    }
    closure(f, inc.deps, out);
    if (!out.includes(name)) out.push(name);
  }
  return out;
}

/** `-- KEYS: run leases runs*` -> the prologue naming KEYS. */
export function keysPrologue(header: string | undefined): string {
  if (!header) return "";
  const names = header.trim().split(/\s+/);
  const parts = names.map((raw, i) => {
    const name = raw.replace(/[?*]$/, "");
    if (!/^[a-z_]+$/.test(name)) throw new Error(`bad KEYS name "${raw}"`);
    if (raw.endsWith("*")) {
      if (i !== names.length - 1) throw new Error(`KEYS list "${raw}" must come last`);
      return `${name} = { unpack(KEYS, ${i + 1}) }`;
    }
    return `${name} = KEYS[${i + 1}]`;
  });
  return `local K = { ${parts.join(", ")} }\n`;
}

/** The KEYS names of a script's header, in order (without `?`/`*` marks). */
export function keyNames(name: string, dir?: string): string[] {
  const header = /^-- KEYS: (.+)$/m.exec(readFileSync(join(folder(dir).dir, `${name}.lua`), "utf8"))?.[1];
  return header ? header.trim().split(/\s+/) : [];
}

function parse(f: Folder, name: string): Parsed {
  let p = f.parsed.get(name);
  if (p) return p;
  const text = readFileSync(join(f.dir, `${name}.lua`), "utf8");
  const { deps, body } = splitIncludes(text);
  const flags = /^-- FLAGS: (.+)$/m.exec(text)?.[1]?.trim().split(/\s+/) ?? [];
  p = { includes: closure(f, deps), keys: keysPrologue(/^-- KEYS: (.+)$/m.exec(text)?.[1]), body, flags };
  f.parsed.set(name, p);
  return p;
}

const sha1 = (text: string) => createHash("sha1").update(text).digest("hex");

function evalSource(f: Folder, name: string): string {
  const p = parse(f, name);
  return `${p.includes.map((i) => f.includes.get(i)!.body).join("\n")}\n${p.keys}${p.body}`;
}

/** Every script of the folder in one library `weft_<hash>`; functions `weft_<hash12>_<script>`. */
function library(f: Folder): LuaLibrary {
  if (f.library) return f.library;
  const names = readdirSync(f.dir)
    .filter((n) => n.endsWith(".lua"))
    .map((n) => n.slice(0, -4))
    .sort();
  const parsed = names.map((n) => [n, parse(f, n)] as const);
  const includes = closure(f, parsed.flatMap(([, p]) => p.includes));
  const shared = includes.map((i) => f.includes.get(i)!.body).join("\n");
  // The hash covers the code, so a changed script is a new library and old processes keep theirs.
  const code = [shared, ...parsed.map(([n, p]) => `${n}\n${p.flags.join(",")}\n${p.keys}${p.body}`)].join("\n");
  const hash = sha1(code);
  const fn = (n: string) => `weft_${hash.slice(0, 12)}_${n.replace(/\W/g, "_")}`;
  const registrations = parsed.map(([n, p]) => {
    const flags = p.flags.length ? `, flags = { ${p.flags.map((x) => `'${x}'`).join(", ")} }` : "";
    return `redis.register_function{ function_name = '${fn(n)}', callback = function(KEYS, ARGV)\n${p.keys}${p.body}\nend${flags} }`;
  });
  const lib: LuaLibrary = {
    name: `weft_${hash}`,
    source: `#!lua name=weft_${hash}\n${shared}\n${registrations.join("\n")}\n`,
    functions: new Map(names.map((n) => [n, fn(n)])),
  };
  f.library = lib;
  return lib;
}

/** The library of the engine's own scripts. */
export function engineLibrary(): LuaLibrary {
  return library(folder());
}

/**
 * A script by name (file `<name>.lua` in `dir`, the engine's scripts by default). The
 * object is made at once; its source, sha and library are read on first use.
 */
export function luaScript(name: string, dir?: string): LuaScript {
  let source: string | undefined;
  let sha: string | undefined;
  const f = () => folder(dir);
  return {
    name,
    get source() {
      return (source ??= evalSource(f(), name));
    },
    get sha() {
      return (sha ??= sha1(this.source));
    },
    get library() {
      return library(f());
    },
  };
}
