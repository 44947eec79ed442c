import type { Context } from "aws-lambda";
import { logger } from "./log.js";
import { metrics } from "./metrics/index.js";

/**
 * A Lambda handler's frame: its log records carry this invocation's context (request id,
 * function, cold start) and no keys a previous invocation appended; its metrics are
 * written (EMF) as it returns or throws.
 */
export function invocation<E, R>(fn: (event: E) => Promise<R>): (event: E, context?: Context) => Promise<R> {
  return async (event, context) => {
    logger.resetKeys();
    if (context) logger.addContext(context);
    try {
      return await fn(event);
    } finally {
      metrics.flush();
    }
  };
}
