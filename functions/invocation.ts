import type { Context } from "aws-lambda";
import { logger } from "./log.js";
import { metrics } from "./metrics/index.js";
import { inSpan, tracingEnabled } from "./tracing.js";

/**
 * A Lambda handler's frame: its log records carry this invocation's context (request id,
 * function, cold start) and no keys a previous invocation appended; its metrics are
 * written (EMF) as it returns or throws; traced (WEFT_TRACING), it is one span `weft.<name>`
 * (its script calls and relays inside it).
 */
export function invocation<E, R>(name: string, fn: (event: E) => Promise<R>): (event: E, context?: Context) => Promise<R> {
  return async (event, context) => {
    logger.resetKeys();
    if (context) logger.addContext(context);
    try {
      return tracingEnabled() ? await inSpan(`weft.${name}`, {}, () => fn(event)) : await fn(event);
    } finally {
      metrics.flush();
    }
  };
}
