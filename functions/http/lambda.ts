import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from "aws-lambda";
import { handle } from "hono/aws-lambda";
import { getRuntime, type Runtime } from "../config.js";
import { createApp } from "./app.js";

type HttpHandler = (event: APIGatewayProxyEventV2, context?: Context) => Promise<APIGatewayProxyResultV2>;

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
    if (built?.rt !== rt) {
      const app = createApp({
        engine: rt.engine,
        auth: rt.config.auth,
        ...(rt.config.bodyLimitBytes ? { bodyLimitBytes: rt.config.bodyLimitBytes } : {}),
        afterWrite: rt.relayRun,
      });
      built = { rt, serve: handle(app) as HttpHandler };
    }
    return built.serve(event, context);
  };
}
