import type { ClientStateRef } from "@weft/client";
import { NotFoundError } from "@weft/core/sdk";
import type { Context } from "../config.js";
import { readJsonArg } from "../input.js";
import { EXIT, printJson, UsageError } from "../output.js";

export interface StateScope {
  /** Run-scoped state of this run instead of a namespace. */
  run?: string;
}

/** `<namespace> <key>`, or with --run only `<key>`. */
function refOf(args: string[], o: StateScope, usage: string): ClientStateRef {
  if (o.run) {
    if (args.length !== 1) throw new UsageError(`with --run, give only the key: weft state ${usage.replace("<namespace> ", "--run <dagId> ")}`, "key");
    return { dagId: o.run, key: args[0]! };
  }
  if (args.length !== 2) throw new UsageError(`give a namespace and a key: weft state ${usage}`, "key");
  return { namespace: args[0]!, key: args[1]! };
}

/** Prints the value (its version on stderr); --json: `{ value, version }`. Missing key: exit 1. */
export async function stateGet(ctx: Context, args: string[], o: StateScope): Promise<number> {
  const ref = refOf(args, o, "get <namespace> <key>");
  const entry = await ctx.client.state.get(ref);
  if (!entry) throw new NotFoundError(`no state at ${"dagId" in ref ? `run ${ref.dagId}` : ref.namespace}/${ref.key}`);
  if (ctx.json) printJson({ ...ref, value: entry.value, version: entry.version });
  else {
    process.stdout.write(`${JSON.stringify(entry.value, null, 2)}\n`);
    process.stderr.write(`version ${entry.version}\n`);
  }
  return EXIT.ok;
}

export interface SetOptions extends StateScope {
  /** Compare-and-set: write only if the key is at this version (else a conflict, exit 1). */
  ifVersion?: number;
  /** Create only: fail with a conflict if the key exists. */
  create?: boolean;
}

/**
 * Writes a JSON value. Every write is guarded (the API takes no blind writes): --if-version
 * and --create say what to expect; with neither, the current version is read and written
 * over (re-read on a race), which is what "set it to this" means.
 */
export async function stateSet(ctx: Context, args: string[], json: string, o: SetOptions): Promise<number> {
  if (o.ifVersion !== undefined && o.create) throw new UsageError("give --if-version or --create, not both", "create");
  const ref = refOf(args, o, "set <namespace> <key> <json>");
  const value = await readJsonArg(json, "value");
  const r =
    o.ifVersion !== undefined
      ? await ctx.client.state.put(ref, value, o.ifVersion)
      : o.create
        ? await ctx.client.state.create(ref, value)
        : await ctx.client.state.update(ref, () => value);
  if (ctx.json) printJson({ ...ref, version: r.version, at: r.at });
  else process.stdout.write(`version ${r.version}\n`);
  return EXIT.ok;
}
