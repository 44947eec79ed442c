import { readFile } from "node:fs/promises";
import { extname } from "node:path";
import { UsageError } from "./output.js";

export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * A run spec from `dag.json`, `dag.yaml`/`dag.yml`, or `-` (stdin, JSON or YAML: YAML
 * reads JSON too). A file that does not parse is the user's error (exit 2), named.
 */
export async function readSpec(path: string): Promise<unknown> {
  let text: string;
  try {
    text = path === "-" ? await readStdin() : await readFile(path, "utf8");
  } catch (err) {
    throw new UsageError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const name = path === "-" ? "stdin" : path;
  try {
    // yaml is loaded only for YAML: a command that reads none does not pay for it at start-up.
    return extname(path).toLowerCase() === ".json" ? JSON.parse(text) : (await import("yaml")).parse(text);
  } catch (err) {
    throw new UsageError(`${name} is not valid ${extname(path).toLowerCase() === ".json" ? "JSON" : "YAML"}: ${(err as Error).message.split("\n")[0]}`);
  }
}

/** A JSON value given on the command line (`-` reads it from stdin). */
export async function readJsonArg(text: string, what: string): Promise<unknown> {
  const raw = text === "-" ? await readStdin() : text;
  try {
    return JSON.parse(raw);
  } catch (err) {
    throw new UsageError(`${what} is not valid JSON: ${(err as Error).message}`, what);
  }
}
