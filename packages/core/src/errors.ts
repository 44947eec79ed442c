/**
 * Typed errors of the engine. The HTTP layer maps each `code` to a status once
 * (functions/http/errors.ts); nothing else in core knows about HTTP.
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
