import { NotFoundError } from "@weft/core";
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from "aws-lambda";
import { handle } from "hono/aws-lambda";
import { allowedMethods, createApp } from "./app.js";
import { MethodNotAllowedError, toErrorResponse } from "./errors.js";
import type { WeftApp } from "./routes/deps.js";
import { getRuntime, type Runtime } from "../config.js";
import { logger } from "../log.js";
import { metrics } from "../metrics/index.js";

type HttpHandler = (event: APIGatewayProxyEventV2, context?: Context) => Promise<APIGatewayProxyResultV2>;

/** The full HTTP API (engine routes and shared-state routes) over a runtime. */
export function appFor(rt: Runtime): WeftApp {
  return createApp({
    engine: rt.engine,
    runs: rt.runs,
    auth: rt.config.auth,
    ...(rt.config.bodyLimitBytes ? { bodyLimitBytes: rt.config.bodyLimitBytes } : {}),
    state: rt.state,
    signals: rt.signals,
    ...(rt.cold ? { cold: rt.cold } : {}),
    values: rt.values,
    afterWrite: rt.relayRun,
    ...(rt.config.relayAfterResponse ? { relayAfterResponse: true } : {}),
    watch: { tokens: rt.tokens, ...(rt.config.streamUrl ? { streamBaseUrl: rt.config.streamUrl } : {}) },
    ...(rt.limiter && rt.config.rateLimits ? { rateLimits: { limiter: rt.limiter, rules: rt.config.rateLimits } } : {}),
  });
}

/**
 * An API Gateway (HTTP API, payload v2) handler serving the whole app (functions/api.ts).
 * The app is built on first invocation so the Redis connection is opened once per
 * container, and rebuilt if the runtime was reset (tests, the local emulator).
 */
export function httpHandler(): HttpHandler {
  let built: { rt: Runtime; app: WeftApp; serve: HttpHandler } | undefined;
  return async (event, context) => {
    const rt = getRuntime();
    if (built?.rt !== rt) {
      const app = appFor(rt);
      built = { rt, app, serve: handle(app) as HttpHandler };
    }
    logger.resetKeys();
    if (context) logger.addContext(context);
    if (event.requestContext?.requestId) logger.appendKeys({ request_id: event.requestContext.requestId });
    const method = event.requestContext?.http?.method?.toUpperCase() ?? "";
    if (UNFETCHABLE.has(method)) return refuseMethod(built.app, method, event.rawPath);
    try {
      return await built.serve(wellFormedHeaders(event), context);
    } finally {
      metrics.flush();
    }
  };
}

/**
 * A header value with a lone UTF-16 surrogate, NUL, CR or LF makes the adapter throw (a
 * plain-text 500). No such value was a valid header on the wire: the character is replaced
 * by U+FFFD, as a UTF-8 decoder does, and the header's own check then refuses it.
 */
function wellFormedHeaders(event: APIGatewayProxyEventV2): APIGatewayProxyEventV2 {
  const headers = event.headers ?? {};
  if (Object.values(headers).every((v) => v === undefined || !LONE_SURROGATE.test(v))) return event;
  const fixed = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, v?.replace(LONE_SURROGATE_ALL, "\ufffd")]));
  return { ...event, headers: fixed };
}

// Lone surrogates, and the NUL, CR and LF a fetch Headers object refuses.
const LONE_SURROGATE = /[\p{Cs}\0\r\n]/u;
const LONE_SURROGATE_ALL = /[\p{Cs}\0\r\n]/gu;

/** Methods a fetch Request cannot carry: the adapter would answer a plain-text 400. */
const UNFETCHABLE = new Set(["CONNECT", "TRACE", "TRACK"]);

function refuseMethod(app: WeftApp, method: string, path: string): APIGatewayProxyResultV2 {
  const allow = allowedMethods(app, path);
  const { status, body, headers } = toErrorResponse(
    allow.length ? new MethodNotAllowedError(method, path, allow) : new NotFoundError(`no route ${method} ${path}`),
  );
  return { statusCode: status, headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) };
}
