/**
 * Limits and input checks, stated once: the HTTP schemas (functions/http), the engine, the
 * state store and the cold store all take them from here, so a bound documented in
 * /openapi.json is the bound enforced. Every check throws SchemaError (HTTP 400) naming
 * the field; nothing that fails one reaches Redis.
 */
import { z } from "zod";
import { SchemaError } from "./errors.js";

export const LIMITS = {
  /** Ids of runs, nodes, agents, tenants, workers, state keys and machines. */
  idLength: 128,
  idempotencyKeyLength: 256,
  /** A lease token is `<attempt>.<random>`; anything longer is not one. */
  leaseTokenLength: 200,
  /** Lease, backoff and timeout lengths, ms (one day). */
  maxDurationMs: 86_400_000,
  /** Tasks one claim hands out. */
  claimMax: 1000,
  cancelReasonLength: 1024,
  errorMessageLength: 16_384,
  /** Events or runs in one page. */
  pageMax: 1000,
  /** Runs in one page of a list that names no limit (hot and cold alike). */
  runPageDefault: 50,
  /** Shared-state history entries kept per key (the state store's default), so the most one read returns. */
  stateHistory: 50,
  /** Shared-state keys or namespaces one list call returns (each key is read for its version). */
  stateListMax: 200,
  /** Shared-state writes carried by one completion. */
  stateWritesPerCompletion: 100,
  /** Versions, seqs, epoch ms: integers JSON carries exactly. */
  maxInteger: Number.MAX_SAFE_INTEGER,
  maxAttempt: 1_000_000,
} as const;

/** Letters, digits, `_`, `.`, `-`: safe inside Redis keys, URLs and log lines. */
export const ID_PATTERN = /^[A-Za-z0-9_.-]{1,128}$/;
export const ID_RULE = "must be 1 to 128 characters, each a letter, digit, '_', '.' or '-'";

/** Printable ASCII without spaces: what claim hands out; a lone surrogate or NUL is not a token. */
export const LEASE_TOKEN_PATTERN = /^[\x21-\x7e]{1,200}$/;
export const LEASE_TOKEN_RULE = "must be the token returned by claim";

export const WELL_FORMED_RULE = "must be well-formed text (no lone UTF-16 surrogate)";

export const isId = (value: unknown): value is string => typeof value === "string" && ID_PATTERN.test(value);

/**
 * A string Lua can take: cjson refuses a lone surrogate escape, so such text is refused
 * here (400) instead of failing inside a script (500).
 */
export const isWellFormed = (value: string): boolean => !LONE_SURROGATE.test(value);

// In a `u` regex a surrogate pair is one code point, so only an unpaired half matches.
const LONE_SURROGATE = /\p{Cs}/u;

export function checkId(value: unknown, field: string): string {
  if (isId(value)) return value;
  throw new SchemaError(`${field} ${typeof value === "string" ? ID_RULE : "must be a string"}`, field);
}

export function checkLeaseToken(value: unknown, field = "leaseToken"): string {
  if (typeof value === "string" && LEASE_TOKEN_PATTERN.test(value)) return value;
  throw new SchemaError(`${field} ${LEASE_TOKEN_RULE}`, field);
}

export function checkText(value: unknown, field: string, maxLength: number): string {
  if (typeof value !== "string") throw new SchemaError(`${field} must be a string`, field);
  if (value.length === 0 || value.length > maxLength) throw new SchemaError(`${field} must be 1 to ${maxLength} characters long`, field);
  if (!isWellFormed(value)) throw new SchemaError(`${field} ${WELL_FORMED_RULE}`, field);
  return value;
}

export function checkInt(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new SchemaError(`${field} must be an integer from ${min} to ${max}`, field);
  }
  return value;
}

/** The same rules as zod schemas, for request bodies and core's parsed specs. */
export const IdSchema = z.string().regex(ID_PATTERN, ID_RULE);
export const LeaseTokenSchema = z.string().regex(LEASE_TOKEN_PATTERN, LEASE_TOKEN_RULE);
export const textSchema = (maxLength: number) => z.string().min(1).max(maxLength).refine(isWellFormed, WELL_FORMED_RULE);
export const DurationMsSchema = z.number().int().min(1).max(LIMITS.maxDurationMs);
/** A version or seq: a whole number JSON carries exactly. */
export const VersionSchema = z.number().int().min(0).max(LIMITS.maxInteger);
