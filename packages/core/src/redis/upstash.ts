import { Redis, errors } from "@upstash/redis";
import { UnavailableError, ValidationError } from "../errors.js";
import { ScriptCallError, UNAVAILABLE_REPLY, type LuaScript, type RedisPort } from "./port.js";
import { isNoScript } from "./tcp.js";

export interface UpstashRedisOptions {
  /** UPSTASH_REDIS_REST_URL, `https://<db>.upstash.io` (http:// for a local bridge). */
  url: string;
  /** UPSTASH_REDIS_REST_TOKEN. */
  token: string;
  /** Retries of a request that failed at the network level (default 2; the client's own default is 5 with exponential backoff, ~4 s). */
  retries?: number;
}

/**
 * REST adapter (@upstash/redis): one HTTPS request per batch of scripts. The client's
 * auto-pipelining folds scripts started in the same tick into one `/pipeline` request.
 * Upstash is a single logical Redis as far as hash slots go, so `cluster` is false.
 */
export class UpstashRedis implements RedisPort {
  readonly client: Redis;
  readonly cluster = false;
  calls = 0;

  constructor(opts: UpstashRedisOptions) {
    if (!/^https?:\/\/\S+$/.test(opts.url ?? "")) {
      throw new ValidationError("upstashUrl must be an http(s):// URL (UPSTASH_REDIS_REST_URL)", "upstashUrl");
    }
    if (!opts.token || /\s/.test(opts.token)) {
      throw new ValidationError("upstashToken must be a non-empty token without spaces (UPSTASH_REDIS_REST_TOKEN)", "upstashToken");
    }
    const retries = opts.retries ?? 2;
    this.client = new Redis({
      url: opts.url,
      token: opts.token,
      // Scripts return one JSON string; the engine parses it. Letting the client parse
      // would turn "123" into a number and nested JSON into objects.
      automaticDeserialization: false,
      enableTelemetry: false,
      retry: retries > 0 ? { retries, backoff: (n) => 50 * 2 ** n } : false,
    });
  }

  async run(script: LuaScript, keys: string[], args: string[]): Promise<string> {
    this.calls++;
    try {
      return asString(await this.client.evalsha(script.sha, keys, args));
    } catch (err) {
      if (!isNoScript(err)) throw toPortError(err, script);
    }
    try {
      return asString(await this.client.eval(script.source, keys, args));
    } catch (err) {
      throw toPortError(err, script);
    }
  }

  async close(): Promise<void> {
    // HTTP: nothing to close; keep-alive sockets are released by the agent.
  }
}

function asString(reply: unknown): string {
  return typeof reply === "string" ? reply : JSON.stringify(reply);
}

/** Statuses and bodies that mean "the service, not the script, failed". */
const UNAVAILABLE = /unauthori[sz]ed|WRONGPASS|NOAUTH|invalid or missing auth token|rate limit|max (daily )?request|too many requests|LOADING|service unavailable|bad gateway/i;

export function toPortError(err: unknown, script: LuaScript): Error {
  if (err instanceof errors.UpstashError && !(err instanceof errors.UpstashJSONParseError)) {
    const msg = redisMessage(err.message);
    if (UNAVAILABLE.test(msg) || UNAVAILABLE_REPLY.test(msg)) return new UnavailableError(`Upstash unavailable running ${script.name}: ${msg}`);
    // Same shape as a TCP reply error, without the client's prefix and the echoed command
    // (which would carry the whole script source and its arguments).
    return new ScriptCallError(script.name, msg);
  }
  // fetch() itself failed (refused, DNS, TLS, reset) after the client's retries, or a
  // proxy answered with something that is not Upstash JSON.
  const msg = err instanceof Error ? `${err.message}${causeOf(err)}` : String(err);
  return new UnavailableError(`Upstash unavailable running ${script.name}: ${msg}`);
}

function redisMessage(message: string): string {
  return message
    .replace(/, command was: [\s\S]*$/, "")
    .replace(/^Command (\d+ \[ \S+ \] )?failed: /, "");
}

function causeOf(err: Error): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause ? ` (${cause.code ?? cause.message ?? "unknown cause"})` : "";
}
