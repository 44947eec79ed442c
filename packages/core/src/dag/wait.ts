import { PayloadTooLargeError, ValidationError } from "../errors.js";
import type { WaitSpecInput } from "./spec.js";

/** A wait as the scripts keep it (node hash fields W and wo, lua/includes/wait.lua). */
export interface PackedWait {
  /** "timeoutMs|onTimeout|key": timeoutMs 0 without a timeout, key empty without one. */
  packed: string;
  /** The default output of a timeout with onTimeout "succeed", as JSON. */
  outputJson?: string;
}

/** Packs a wait already checked by WaitSpecSchema; its output must be JSON within `maxBytes`. */
export function packWait(w: WaitSpecInput, field: string, maxBytes: number): PackedWait {
  const packed = `${w.timeoutMs ?? 0}|${w.onTimeout ?? "fail"}|${w.key ?? ""}`;
  if (w.output === undefined) return { packed };
  let json: string | undefined;
  try {
    json = JSON.stringify(w.output);
  } catch {
    json = undefined;
  }
  if (json === undefined) throw new ValidationError(`${field}.output must be a JSON value`, `${field}.output`);
  if (Buffer.byteLength(json) > maxBytes) {
    throw new PayloadTooLargeError(`${field}.output is larger than ${maxBytes} bytes`, `${field}.output`);
  }
  return { packed, outputJson: json };
}

/** The other way: what GET of a run shows of a stored wait. */
export function unpackWait(packed: string): { timeoutMs?: number; onTimeout: "fail" | "succeed"; key?: string } {
  const [t = "0", o = "fail", ...k] = packed.split("|");
  const key = k.join("|");
  return { ...(Number(t) > 0 ? { timeoutMs: Number(t) } : {}), onTimeout: o === "succeed" ? "succeed" : "fail", ...(key ? { key } : {}) };
}
