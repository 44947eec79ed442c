import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from "aws-lambda";
import { handle } from "hono/aws-lambda";
import { createApp } from "./app.js";
import type { WeftApp } from "./routes/deps.js";
import { stateRoutes } from "./routes/state.js";
import { getRuntime, type Runtime } from "../config.js";

type HttpHandler = (event: APIGatewayProxyEventV2, context?: Context) => Promise<APIGatewayProxyResultV2>;

/** The full HTTP API (engine routes and shared-state routes) over a runtime. */
export function appFor(rt: Runtime): WeftApp {
  return createApp({
    engine: rt.engine,
    runs: rt.runs,
    auth: rt.config.auth,
    ...(rt.config.bodyLimitBytes ? { bodyLimitBytes: rt.config.bodyLimitBytes } : {}),
    afterWrite: rt.relayRun,
    extra: (app) => app.route("/", stateRoutes({ state: rt.state, tenantOf: (c) => c.get("tenant") as string })),
  });
}

/**
 * An API Gateway (HTTP API, payload v2) handler serving the whole app. Each HTTP
 * function wraps the same app; API Gateway decides which paths reach which function.
 * The app is built on first invocation so the Redis connection is opened once per
 * container, and rebuilt if the runtime was reset (tests, the local emulator).
 */
export function httpHandler(): HttpHandler {
  let built: { rt: Runtime; serve: HttpHandler } | undefined;
  return async (event, context) => {
    const rt = getRuntime();
    if (built?.rt !== rt) built = { rt, serve: handle(appFor(rt)) as HttpHandler };
    return built.serve(event, context);
  };
}
