/**
 * Turning zod issues into one typed ValidationError that names the field and says what
 * is wrong in plain words. Core's run-spec validation and the HTTP layer's request
 * bodies share it, so a caller sees the same wording whichever door the input came in.
 */
import type { ZodError } from "zod";
import { SchemaError } from "./errors.js";

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `["nodes", 3, "deps", 0]` -> `nodes[3].deps[0]`; keys that are not identifiers get `["..."]`. */
export function fieldOf(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else if (typeof key === "symbol") out += `[${String(key)}]`;
    else if (IDENTIFIER.test(key)) out += out === "" ? key : `.${key}`;
    else out += `[${JSON.stringify(key)}]`;
  }
  return out;
}

/**
 * The first issue of `err` as a SchemaError (the input's shape is wrong: HTTP 400). The field is `undefined` when the whole
 * value is wrong (e.g. a body that is not an object); `subject` names it in the message.
 * Parse with `{ reportInput: true }` to let messages say what was received.
 */
export function fromZodError(err: ZodError, subject = "body"): SchemaError {
  const issue = err.issues[0];
  if (issue === undefined) return new SchemaError(`${subject} is invalid`);
  const path = issue.code === "unrecognized_keys" ? [...issue.path, ...issue.keys.slice(0, 1)] : issue.path;
  const field = fieldOf(path);
  const predicate = isZodDefault(issue.message) ? plainWords(issue) : issue.message;
  return new SchemaError(`${field === "" ? subject : field} ${predicate}`, field === "" ? undefined : field, {
    issues: err.issues.length,
  });
}

type Issue = ZodError["issues"][number];

/*
 * Zod's built-in English messages ("Invalid input: expected string, received number") are
 * written for developers; messages a schema sets itself are already plain predicates
 * ("must be 1 to 128 characters, ..."), so only the built-in ones are rewritten.
 */
function isZodDefault(message: string): boolean {
  return /^(Invalid |Too (big|small):|Unrecognized key)/.test(message);
}

function plainWords(issue: Issue): string {
  switch (issue.code) {
    case "invalid_type": {
      const received = receivedOf(issue);
      if (received === "undefined") return "is required";
      if (issue.expected === "int" && received === "number") return "must be a whole number";
      const expected = `must be ${article(issue.expected)}`;
      return received === undefined ? expected : `${expected}, not ${article(received)}`;
    }
    case "too_small":
      return bound(issue.origin, "at least", "more than", issue.minimum, issue.inclusive);
    case "too_big":
      return bound(issue.origin, "at most", "less than", issue.maximum, issue.inclusive);
    case "invalid_format":
      return issue.format === "regex" && issue.pattern !== undefined
        ? `must match ${issue.pattern}`
        : `must be a valid ${issue.format}`;
    case "invalid_value":
      return issue.values.length === 1
        ? `must be ${show(issue.values[0])}`
        : `must be one of ${issue.values.map(show).join(", ")}`;
    case "not_multiple_of":
      return `must be a multiple of ${String(issue.divisor)}`;
    case "unrecognized_keys":
      return "is not a known field";
    case "invalid_union":
      return "does not match any accepted form";
    case "invalid_key":
      return "has an invalid key";
    case "invalid_element":
      return "has an invalid element";
    default:
      return "is invalid";
  }
}

/** What the value was, from the reported input, zod's `received`, or its default message. */
function receivedOf(issue: Issue & { code: "invalid_type" }): string | undefined {
  if ("input" in issue) return typeName(issue.input);
  const reported = (issue as { received?: unknown }).received;
  if (typeof reported === "string") return reported;
  return /received (\w+)$/.exec(issue.message)?.[1];
}

function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number" && Number.isNaN(value)) return "NaN";
  return typeof value;
}

function bound(origin: string, inclusiveWord: string, exclusiveWord: string, limit: number | bigint, inclusive?: boolean): string {
  const n = Number(limit);
  const relation = inclusive === false ? exclusiveWord : inclusiveWord;
  switch (origin) {
    case "string":
      if (n === 1 && relation === "at least") return "must not be empty";
      return `must be ${relation} ${n} character${n === 1 ? "" : "s"} long`;
    case "array":
    case "set":
      if (n === 1 && relation === "at least") return "must not be empty";
      return `must have ${relation} ${n} item${n === 1 ? "" : "s"}`;
    default:
      return `must be ${relation} ${n}`;
  }
}

function article(type: string): string {
  if (type === "null" || type === "undefined" || type === "NaN") return type;
  if (type === "int") return "a whole number";
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function show(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}
