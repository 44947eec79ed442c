import { randomBytes } from "node:crypto";
import { JsonPlusSerializer, type SerializerProtocol } from "@langchain/langgraph-checkpoint";

/**
 * How values travel to Redis: the serializer's typed bytes as one string. JSON (the
 * usual case) stays text, `json\n{...}`; any other type is base64, `<type>\n<base64>`
 * (and JSON text holding a NUL, which replies use as separator, is `\n<base64>`).
 * Text keeps Redis memory and the replies small; base64 keeps binary safe on every
 * transport (the Upstash REST API is JSON).
 *
 * With LangGraph's default serializer (JsonPlusSerializer itself, not a subclass) plain
 * JSON data takes a fast path that gives the same text and the same values without its
 * per-value replacer and async reviver (which allocate a promise and a copy per value):
 * see plainJson and plainText. Anything else (class instances such as LangChain
 * messages, undefined, Map, Set, Date, bytes, Send, serialized `lc` records) goes
 * through the serializer as before.
 */
export async function dumpValue(serde: SerializerProtocol, value: unknown): Promise<string> {
  if (serde.constructor === JsonPlusSerializer && plainJson(value, 0)) return `json\n${JSON.stringify(value)}`;
  const [type, bytes] = await serde.dumpsTyped(value);
  if (type === "json") {
    const text = Buffer.from(bytes).toString("utf8");
    if (!text.includes("\0")) return `json\n${text}`;
  }
  return `${type === "json" ? "" : type}\n${Buffer.from(bytes).toString("base64")}`;
}

/** The value, or a promise of it when the serializer has to revive it. */
export function loadValue(serde: SerializerProtocol, text: string): unknown {
  const cut = text.indexOf("\n");
  const type = text.slice(0, cut);
  const body = text.slice(cut + 1);
  if (type === "json") return serde.constructor === JsonPlusSerializer && plainText(body) ? JSON.parse(body) : serde.loadsTyped(type, body);
  return serde.loadsTyped(type || "json", new Uint8Array(Buffer.from(body, "base64")));
}

/**
 * True when JsonPlusSerializer would write `value` as JSON.stringify does: null, booleans,
 * strings, numbers, and arrays and plain objects of them (no undefined, no class
 * instances, no `Send`-shaped object, nothing deeper than 64 levels: no cycles).
 */
function plainJson(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case "string":
    case "number":
    case "boolean":
      return true;
    case "object": {
      if (value === null) return true;
      if (depth > 64) return false;
      const proto = Object.getPrototypeOf(value);
      if (proto === Array.prototype) {
        const a = value as unknown[];
        for (let i = 0; i < a.length; i++) if (!plainJson(a[i], depth + 1)) return false;
        return true;
      }
      if (proto !== Object.prototype && proto !== null) return false;
      const o = value as Record<string, unknown>;
      if (o.lg_name === "Send") return false;
      for (const k in o) if (Object.hasOwn(o, k) && !plainJson(o[k], depth + 1)) return false;
      return true;
    }
    default:
      return false;
  }
}

/**
 * True when JsonPlusSerializer's reviver would give back exactly what JSON.parse gives:
 * it changes only objects with an `lc` key, and a key can be spelled only as `"lc"` or
 * with a `\u` escape; `__proto__` keys it would turn into prototypes.
 */
function plainText(json: string): boolean {
  return !json.includes('"lc"') && !json.includes("\\u") && !json.includes('"__proto__"');
}

/** The checkpoint and its metadata in one hash field: two dumped values split by NUL (neither holds one: dumpValue), so a reply that carries the field carries them as two of its NUL-split fields. */
export const joinPayload = (checkpoint: string, metadata: string) => `${checkpoint}\0${metadata}`;

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
