import { randomBytes } from "node:crypto";
import type { SerializerProtocol } from "@langchain/langgraph-checkpoint";

/**
 * How values travel to Redis: the serializer's typed bytes as one string. JSON (the
 * usual case) stays text, `json\n{...}`; any other type is base64, `<type>\n<base64>`.
 * Text keeps Redis memory and the Lua replies (cjson) small; base64 keeps binary safe on
 * every transport (the Upstash REST API is JSON).
 */
export async function dumpValue(serde: SerializerProtocol, value: unknown): Promise<string> {
  const [type, bytes] = await serde.dumpsTyped(value);
  return type === "json" ? `json\n${Buffer.from(bytes).toString("utf8")}` : `${type}\n${Buffer.from(bytes).toString("base64")}`;
}

export async function loadValue(serde: SerializerProtocol, text: string): Promise<unknown> {
  const cut = text.indexOf("\n");
  const type = text.slice(0, cut);
  const body = text.slice(cut + 1);
  return serde.loadsTyped(type, type === "json" ? body : new Uint8Array(Buffer.from(body, "base64")));
}

/** The checkpoint and its metadata in one hash field: two dumped values split by NUL (neither contains one). */
export const joinPayload = (checkpoint: string, metadata: string) => `${checkpoint}\0${metadata}`;
export function splitPayload(d: string): [string, string] {
  const cut = d.indexOf("\0");
  return [d.slice(0, cut), d.slice(cut + 1)];
}

/**
 * Channel versions `<counter, 10 digits>.<8 hex>`: ordered by the counter (the loop
 * compares versions as strings), and unique per write, so two forks of one checkpoint
 * that both bump a channel store two values instead of one overwriting the other (a
 * channel value is stored once per version).
 */
export function nextVersion(current: number | string | undefined): string {
  const n = current === undefined ? 0 : typeof current === "number" ? current : Number.parseInt(current.split(".")[0] ?? "0", 10) || 0;
  return `${String(n + 1).padStart(10, "0")}.${randomBytes(4).toString("hex")}`;
}

/** Lua reads empty arrays and objects back as `{}`. */
export const arr = <T>(x: T[] | Record<string, never> | undefined): T[] => (Array.isArray(x) ? x : []);
