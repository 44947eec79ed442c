import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { API_ERROR_STATUS, codeOfStatus, RateLimitedError, SchemaError, UnavailableError, WeftError } from "@weft/core/sdk";
import { errorFields, logger } from "../log.js";

/**
 * The one place where errors become HTTP responses. Core throws typed WeftErrors; the
 * HTTP layer adds its own few (bad auth, malformed request) and nothing else maps status
 * codes. A dependency that cannot serve (Redis down, full, read-only) is 503 with
 * Retry-After. Anything unrecognised is a 500 that is logged, since bad input must never
 * get here; log lines name the route and the error, never the request or its body.
 */

/** Seconds a client should wait before retrying a 503. */
export const RETRY_AFTER_SECONDS = 1;

export const ErrorBodySchema = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: "validation" }),
      message: z.string(),
      field: z.string().optional().openapi({ description: "Dotted path of the offending input field" }),
      details: z.record(z.string(), z.unknown()).optional(),
    }),
  })
  .openapi("Error");

export type ErrorBody = z.infer<typeof ErrorBodySchema>;

/**
 * The request did not match its schema (wrong types, missing fields, malformed JSON): 400,
 * like core's SchemaError. Any other ValidationError from core means the request was well
 * formed but the engine cannot accept it (a cycle, an unknown dependency): 422.
 */
export class RequestValidationError extends SchemaError {}

export class UnauthorizedError extends WeftError {
  constructor(message: string) {
    super("unauthorized", message);
  }
}

/** A path the app serves, with a method it does not: 405 with `Allow`. */
export class MethodNotAllowedError extends Error {
  constructor(
    method: string,
    path: string,
    readonly allow: readonly string[],
  ) {
    super(`${method} is not served on ${path}; use ${allow.join(", ")}`);
  }
}

export function toErrorResponse(err: unknown): { status: ContentfulStatusCode; body: ErrorBody; headers?: Record<string, string> } {
  if (err instanceof MethodNotAllowedError) {
    return { status: API_ERROR_STATUS.method_not_allowed, body: { error: { code: "method_not_allowed", message: err.message } }, headers: { allow: err.allow.join(", ") } };
  }
  if (err instanceof WeftError) {
    const status = err instanceof SchemaError ? 400 : API_ERROR_STATUS[err.code];
    const error: ErrorBody["error"] = { code: err.code, message: err.message };
    if (err.field !== undefined) error.field = err.field;
    if (err.details !== undefined) error.details = err.details;
    if (err instanceof UnavailableError) return { status, body: { error }, headers: { "retry-after": String(RETRY_AFTER_SECONDS) } };
    if (err instanceof RateLimitedError) return { status, body: { error }, headers: { "retry-after": String(err.retryAfterSeconds) } };
    return { status, body: { error } };
  }
  if (err instanceof HTTPException && err.status < 500) {
    const status = err.status as ContentfulStatusCode;
    return { status, body: { error: { code: codeOfStatus(status), message: status === 415 ? "send the body as JSON with Content-Type: application/json" : err.message || "bad request" } } };
  }
  return { status: API_ERROR_STATUS.internal, body: { error: { code: "internal", message: "internal error" } } };
}

export function errorResponse(c: Context, err: unknown): Response {
  const { status, body, headers } = toErrorResponse(err);
  if (status >= 500) {
    const fields = { method: c.req.method, route: c.req.routePath, ...requestIds(c), ...errorFields(err) };
    if (status === 503) logger.warn("dependency unavailable", fields);
    else logger.error("unexpected error", fields);
  }
  return c.json(body, status, headers);
}

/** The ids a request names (tenant, run, node): safe to log, unlike anything it carries. */
function requestIds(c: Context): Record<string, string> {
  const ids: Record<string, string> = {};
  const tenant = c.get("tenant") as unknown;
  if (typeof tenant === "string") ids.tenant = tenant;
  const run = c.req.param("dagId");
  if (run) ids.run = run;
  const node = c.req.param("nodeId");
  if (node) ids.node = node;
  return ids;
}

/** Shared OpenAPI response entries for the errors every /v1 route can return. */
export function errorResponses(...statuses: ContentfulStatusCode[]) {
  const descriptions: Partial<Record<number, string>> = {
    400: "Malformed request: invalid JSON, wrong types or missing fields (`error.field` names it)",
    401: "Missing or unknown API key",
    404: "No such run or node for this tenant",
    409: "The current state does not allow this (`error.details.current` says what it is)",
    413: "Request body or a node input is too large",
    422: "Well-formed but not acceptable, e.g. the DAG has a cycle",
    429: "Over the tenant's rate limit (Retry-After says when to retry)",
    503: "Redis unavailable; retry",
  };
  return Object.fromEntries(
    statuses.map((s) => [s, { description: descriptions[s] ?? "Error", content: { "application/json": { schema: ErrorBodySchema } } }]),
  );
}
