import { getRuntime } from "./config.js";
import { errorFields, logger } from "./log.js";

/**
 * Every minute (EventBridge schedule): expire lost leases and make due retries ready,
 * then relay every shard's outbox - the backstop that delivers events a write handler
 * could not (it died after the Redis write, or EventBridge failed) - and flush finished
 * runs whose archive is overdue. A failure is logged (command and error, never arguments)
 * and rethrown, so the invocation counts as failed and the next one starts over.
 */
export const handler = async () => {
  const rt = getRuntime();
  try {
    const reconciled = await rt.engine.reconcile();
    const relayed = await rt.relay({ maxBatches: 50 });
    if (relayed.failed > 0) logger.warn("outbox events not published; the next reconcile retries", { failed: relayed.failed });
    const archived = rt.archiver ? await rt.archiver.flushOverdue() : { flushed: 0, failed: 0 };
    const result = { ...reconciled, ...relayed, archived };
    logger.debug("reconciled", result);
    return result;
  } catch (err) {
    logger.error("reconcile failed", errorFields(err));
    throw err;
  }
};
