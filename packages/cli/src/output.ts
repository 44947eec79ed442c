import { WeftError, type RunStatus } from "@weft/core/sdk";

/**
 * What the CLI prints and the exit codes it returns, in one place. With `--json` stdout
 * carries exactly JSON (one document, or one object per line when following), errors
 * included, so a script never has to parse prose.
 */

export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** A problem with what the user typed (bad file, bad JSON, wrong arguments): exit 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/** One JSON document, indented (a command's answer). */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** One JSON value on one line (a followed stream's events: NDJSON). */
export function printJsonLine(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/** Exit code for a run: 1 when it ended failed or cancelled, 0 when it succeeded or is still running. */
export function exitForRun(status: RunStatus): number {
  return status === "failed" || status === "cancelled" ? EXIT.failed : EXIT.ok;
}

interface ErrorJson {
  code: string;
  message: string;
  field?: string;
  details?: Record<string, unknown>;
}

function describe(err: unknown, baseUrl: string): { body: ErrorJson; exit: number } {
  if (err instanceof UsageError) {
    return { body: { code: "usage", message: err.message, ...(err.field ? { field: err.field } : {}) }, exit: EXIT.usage };
  }
  if (err instanceof WeftError) {
    const body: ErrorJson = { code: err.code, message: err.message };
    if (err.field) body.field = err.field;
    if (err.details) body.details = err.details;
    return { body, exit: err.code === "validation" || err.code === "payload_too_large" ? EXIT.usage : EXIT.failed };
  }
  // fetch() failing to connect: name the URL and the socket error, not "fetch failed".
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
  if (err instanceof TypeError && cause) {
    return { body: { code: "unreachable", message: `cannot reach the API at ${baseUrl}: ${cause.code ?? cause.message}` }, exit: EXIT.failed };
  }
  return { body: { code: "error", message: err instanceof Error ? err.message : String(err) }, exit: EXIT.failed };
}

/** Prints the error (`error: <message> (field: x)` on stderr, or `{ error }` JSON on stdout) and returns the exit code. */
export function reportError(err: unknown, o: { json: boolean; baseUrl: string }): number {
  const { body, exit } = describe(err, o.baseUrl);
  if (o.json) printJson({ error: body });
  else {
    const field = body.field ? ` (field: ${body.field})` : "";
    const now = body.details?.current as { value?: unknown; version?: number; state?: string } | undefined;
    const current = now ? `\n  current: version ${now.version}: ${JSON.stringify(now.value)}` : "";
    process.stderr.write(`error: ${body.message}${field}${current}\n`);
  }
  return exit;
}
