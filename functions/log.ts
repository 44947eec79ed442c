import { Logger, type LogItem } from "@aws-lambda-powertools/logger";
import { WeftError } from "@weft/core";

/**
 * The functions' one logger (Powertools for AWS Lambda): one JSON object a line with
 * level, message, service, timestamp, the Lambda context where there is one (request id,
 * function, cold start) and the fields a call site adds: tenant, run, node, attempt.
 * Level from WEFT_LOG_LEVEL (debug, info, warn, error, silent; default info).
 * WEFT_LOG_FORMAT=text (set by the local emulator) prints the same record as one readable
 * line instead.
 *
 * Never log inputs, outputs, lease tokens, API keys or request bodies (invariant 9 of
 * docs/architecture.md): log ids, and errors only through errorFields().
 */
class WeftLogger extends Logger {
  protected override printLog(level: number, item: LogItem): void {
    if (process.env.WEFT_LOG_FORMAT !== "text") return super.printLog(level, item);
    item.prepareForPrint();
    const { level: name, message, service: _service, timestamp: _timestamp, sampling_rate: _rate, ...fields } = item.getAttributes();
    const text = Object.entries(fields)
      .map(([k, v]) => `${k}=${typeof v === "string" && !/\s/.test(v) ? v : JSON.stringify(v)}`)
      .join(" ");
    process.stderr.write(`weft ${String(name).toLowerCase().padEnd(5)} ${String(message)}${text ? `  ${text}` : ""}\n`);
  }
}

const LEVELS = new Set(["DEBUG", "INFO", "WARN", "ERROR", "SILENT"]);

function levelFrom(env: Record<string, string | undefined>): "DEBUG" | "INFO" | "WARN" | "ERROR" | "SILENT" {
  const raw = env.WEFT_LOG_LEVEL?.trim().toUpperCase();
  return raw && LEVELS.has(raw) ? (raw as "INFO") : "INFO";
}

export const logger = new WeftLogger({ serviceName: "weft", logLevel: levelFrom(process.env) });

/** Longest error message a log line keeps (Redis errors can quote a script's source). */
const MAX_MESSAGE = 300;

/**
 * What a log line says about an error: its kind, the command (the Redis script or AWS
 * operation) and its message, never the command's arguments (a script's JSON argument
 * holds node inputs, outputs and lease tokens), a request, or a key.
 */
export function errorFields(err: unknown): { error: { name: string; message: string; code?: string; command?: string } } {
  if (!(err instanceof Error)) return { error: { name: typeof err, message: "non-Error thrown" } };
  const error: { name: string; message: string; code?: string; command?: string } = {
    name: err.name,
    message: err.message.length > MAX_MESSAGE ? `${err.message.slice(0, MAX_MESSAGE)}...` : err.message,
  };
  if (err instanceof WeftError) error.code = err.code;
  const command = (err as { command?: unknown; script?: unknown }).command ?? (err as { script?: unknown }).script;
  if (typeof command === "string") error.command = command;
  else if (command && typeof command === "object" && typeof (command as { name?: unknown }).name === "string") {
    error.command = (command as { name: string }).name;
  }
  // AWS SDK errors name the operation in their metadata-free `$fault`/`name`; keep only that.
  const code = (err as { code?: unknown }).code;
  if (error.code === undefined && typeof code === "string" && /^[A-Z_a-z]{1,40}$/.test(code)) error.code = code;
  return { error };
}
