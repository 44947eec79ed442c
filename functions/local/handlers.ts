import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

/** Repository root: the emulator resolves `functions/<name>.handler` references from here. */
export const ROOT = resolve(import.meta.dirname, "..", "..");

/**
 * Loads a handler by the reference infra uses (`functions/api.handler`): the module path
 * relative to the repo root, then the export name, as SST/Lambda resolve it.
 */
export async function loadHandler<T = (...args: never[]) => Promise<unknown>>(ref: string): Promise<T> {
  const dot = ref.lastIndexOf(".");
  if (dot < 0) throw new Error(`handler reference ${ref} must look like functions/file.export`);
  const file = ref.slice(0, dot);
  const name = ref.slice(dot + 1);
  const mod = (await import(pathToFileURL(resolve(ROOT, `${file}.ts`)).href)) as Record<string, unknown>;
  const fn = mod[name];
  if (typeof fn !== "function") throw new Error(`${ref}: ${file}.ts has no exported function ${name}`);
  return fn as T;
}
