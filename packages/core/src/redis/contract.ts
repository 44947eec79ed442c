import { ConflictError, NotFoundError, PayloadTooLargeError, RateLimitedError, ValidationError, type WeftError } from "../errors.js";
import { keyNames, luaScript } from "./lua.js";
import type { LuaScript, RedisPort } from "./port.js";

/**
 * The script contract: one table per Lua script naming its file, the keys it is given
 * (built from the key schema, redis/keys.ts), the type of its one JSON argument, and the
 * decoder of its reply. Engine and state store call scripts only through these tables
 * (engine/scripts.ts, state/scripts.ts).
 *
 * Keys are passed by name; the order is the script's `-- KEYS:` header (read with the
 * script, on first call), so the Lua body and this table cannot disagree on positions.
 */
export interface Script<C, A, R> {
  readonly name: string;
  readonly lua: LuaScript;
  /** The script's KEYS by name: a string, a list (a `name*` header entry), or undefined (`name?`). */
  keys(ctx: C): Record<string, string | readonly string[] | undefined>;
  decode(reply: unknown): R;
  /** Type-level only: the argument. */
  readonly args?: A;
}

export function script<C, A, R>(def: {
  name: string;
  keys: (ctx: C) => Record<string, string | readonly string[] | undefined>;
  decode?: (reply: unknown) => R;
  dir?: string;
}): Script<C, A, R> {
  return { name: def.name, lua: luaScript(def.name, def.dir), keys: def.keys, decode: def.decode ?? ((r) => r as R) };
}

const order = new WeakMap<LuaScript, string[]>();

/** The KEYS array of a call, in the order of the script's header. */
export function keysOf(s: Script<never, unknown, unknown>, named: Record<string, string | readonly string[] | undefined>): string[] {
  let names = order.get(s.lua);
  if (!names) {
    names = keyNames(s.name);
    order.set(s.lua, names);
  }
  const out: string[] = [];
  let used = 0;
  for (const raw of names) {
    const last = raw.charCodeAt(raw.length - 1);
    const name = last === 42 /* * */ || last === 63 /* ? */ ? raw.slice(0, -1) : raw;
    const v = named[name];
    if (v === undefined) {
      if (last === 63) continue;
      throw new Error(`script ${s.name} needs key ${name}`);
    }
    used++;
    if (typeof v === "string") out.push(v);
    else out.push(...v);
  }
  let given = 0;
  for (const k in named) if (named[k] !== undefined) given++;
  if (given !== used) throw new Error(`script ${s.name} takes keys ${names.join(" ")}, given ${Object.keys(named).join(" ")}`);
  return out;
}

/** Stream entries as XRANGE returns them: [id, [field, value, ...]]. */
export type StreamEntries = [string, string[]][];

/**
 * Runs a script: keys from the contract, one JSON argument, the reply decoded (failures
 * thrown). With `written`, the script also replies the outbox entries it wrote
 * (lua/includes/call.lua, reply()), handed to `written` before the reply is decoded, so a
 * caller can relay them without reading the outbox back.
 */
export async function call<C, A, R>(port: RedisPort, s: Script<C, A, R>, ctx: C, args: A, written?: (entries: StreamEntries) => void): Promise<R> {
  const keys = keysOf(s as Script<never, unknown, unknown>, s.keys(ctx));
  if (!written) return s.decode(decodeReply(await port.run(s.lua, keys, [JSON.stringify(args)])));
  let raw = await port.run(s.lua, keys, [JSON.stringify(args), "1"]);
  if (raw.charCodeAt(0) === 35 /* # */) {
    const nl = raw.indexOf("\n");
    written(JSON.parse(raw.slice(1, nl)) as StreamEntries);
    raw = raw.slice(nl + 1);
  }
  return s.decode(decodeReply(raw));
}

/**
 * A script's failure reply (lua/includes/call.lua): `{ err, message, field?, ...details }`;
 * a `details` object, where a script gives one, counts as details too.
 */
export interface Failure {
  err: "not_found" | "conflict" | "validation" | "payload_too_large" | "rate_limited";
  message: string;
  /** The input field at fault (an addition names its own). */
  field?: string;
  [detail: string]: unknown;
}

export function isFailure(value: unknown): value is Failure {
  return !!value && typeof value === "object" && typeof (value as { err?: unknown }).err === "string";
}

/**
 * The typed error of a failure. Its other fields are the error's details; inside them, a
 * field `json` (raw JSON text a script passes through without re-encoding) becomes `value`.
 */
export function failureError(f: Failure): WeftError {
  const { err, message, field, details: nested, ...rest } = f;
  const parsed = parseJsonFields(rest) as Record<string, unknown>;
  const details = nested && typeof nested === "object" && !Array.isArray(nested) ? { ...parsed, ...nested } : parsed;
  const any = Object.keys(details).length ? details : undefined;
  if (err === "not_found") return new NotFoundError(message);
  if (err === "payload_too_large") return new PayloadTooLargeError(message, field);
  // Over a count (runs in flight): nothing says when it frees up, so the shortest retry.
  if (err === "rate_limited") return new RateLimitedError(message, 1000, details);
  if (err === "conflict") {
    const e = new ConflictError(message, any);
    return field ? Object.assign(e, { field }) : e;
  }
  return new ValidationError(message, field, any);
}

function parseJsonFields(value: unknown): unknown {
  if (!value || typeof value !== "object" || Array.isArray(value)) return value;
  // cjson encodes an empty Lua table as {}; details hold no empty objects, so it is a list.
  if (Object.keys(value).length === 0) return [];
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === "json") out.value = typeof v === "string" ? JSON.parse(v) : v;
    else out[k] = parseJsonFields(v);
  }
  return out;
}

/** Parses a script reply; a failure reply is thrown as its typed error. */
export function decodeReply(raw: string): unknown {
  const value = JSON.parse(raw) as unknown;
  if (isFailure(value)) throw failureError(value);
  return value;
}

/** cjson encodes an empty Lua table as `{}`: every list a script returns goes through here. */
export function list<T>(x: unknown): T[] {
  return Array.isArray(x) ? (x as T[]) : [];
}
