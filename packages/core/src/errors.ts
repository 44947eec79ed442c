/**
 * Typed errors of the engine, and the API's error codes with the status each is answered
 * with (API_ERROR_STATUS): the one table the HTTP layer answers from
 * (functions/http/errors.ts) and @weft/client maps answers back from (errorOfApi). Nothing
 * else in core knows about HTTP.
 */
export type ErrorCode =
  | "validation"
  | "not_found"
  | "conflict"
  | "payload_too_large"
  | "unauthorized"
  | "rate_limited"
  | "unavailable";

export class WeftError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Dotted path of the offending input field, e.g. `nodes[3].deps[0]`. */
    readonly field?: string,
    /** Extra context for the caller, e.g. the current state on a conflict. */
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class ValidationError extends WeftError {
  constructor(message: string, field?: string, details?: Record<string, unknown>) {
    super("validation", message, field, details);
  }
}

/**
 * Input that does not have the shape asked for: a wrong type, a missing field, a value out
 * of bounds, malformed text (HTTP 400). A plain ValidationError is input of the right shape
 * the engine cannot accept: a cycle, an unknown dependency, a state no machine allows (422).
 */
export class SchemaError extends ValidationError {}

export class PayloadTooLargeError extends WeftError {
  constructor(message: string, field?: string) {
    super("payload_too_large", message, field);
  }
}

export class NotFoundError extends WeftError {
  constructor(message: string) {
    super("not_found", message);
  }
}

/** A transition that the current state does not allow; `details.current` says what the state is. */
export class ConflictError extends WeftError {
  constructor(message: string, details?: Record<string, unknown>) {
    super("conflict", message, undefined, details);
  }
}

/** Over a tenant's limit: retry after `retryAfterSeconds` (HTTP 429 with Retry-After). */
export class RateLimitedError extends WeftError {
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterMs: number, details?: Record<string, unknown>) {
    super("rate_limited", message, undefined, { retryAfterMs, ...details });
    this.retryAfterSeconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  }
}

export class UnavailableError extends WeftError {
  constructor(message: string) {
    super("unavailable", message);
  }
}

/**
 * Every `error.code` the API answers with (README.md, "Errors") and its HTTP status. The
 * engine's codes (ErrorCode) and the HTTP layer's own. `validation` is 422, or 400 for a
 * SchemaError (malformed input); `bad_request` is a 4xx the framework raised that no other
 * code names; `internal` is a bug (logged), never an answer to bad input.
 */
export const API_ERROR_STATUS = {
  validation: 422,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unauthorized: 401,
  rate_limited: 429,
  unavailable: 503,
  method_not_allowed: 405,
  unsupported_media_type: 415,
  bad_request: 400,
  internal: 500,
} as const satisfies Record<ErrorCode, number> & Record<string, number>;

export type ApiErrorCode = keyof typeof API_ERROR_STATUS;

/**
 * The code of an answer whose body names none (a proxy's 502 page, an empty 404, a 400 the
 * framework raised): 400 is `validation` (malformed input), a status of the table its code,
 * any other 4xx `bad_request`, any other 5xx `unavailable`.
 */
export function codeOfStatus(status: number): ApiErrorCode {
  if (status === 400) return "validation";
  const code = (Object.keys(API_ERROR_STATUS) as ApiErrorCode[]).find((c) => API_ERROR_STATUS[c] === status);
  return code ?? (status < 500 ? "bad_request" : "unavailable");
}

/**
 * The typed error a client makes of an API error: chosen by `error.code`, by the status only
 * when the body has no code. A code this side does not know yet is UnavailableError (like
 * `internal`: the same request may succeed later), so callers retry rather than give up.
 */
export function errorOfApi(
  status: number,
  error: { code?: string; message?: string; field?: string; details?: Record<string, unknown> } = {},
): WeftError {
  const message = error.message ?? `HTTP ${status}`;
  const code = (error.code ?? codeOfStatus(status)) as ApiErrorCode;
  switch (code) {
    case "conflict":
      return new ConflictError(message, error.details);
    case "not_found":
      return new NotFoundError(message);
    case "payload_too_large":
      return new PayloadTooLargeError(message, error.field);
    case "validation":
    case "unsupported_media_type":
    case "method_not_allowed":
    case "bad_request":
      return new ValidationError(message, error.field, error.details);
    case "unauthorized":
    case "rate_limited":
      return new WeftError(code, message, error.field, error.details);
    default:
      // "unavailable", "internal", or a code this client does not know yet.
      return new UnavailableError(message);
  }
}
