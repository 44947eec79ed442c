import { getRuntime } from "./config.js";

/**
 * Every minute (EventBridge schedule): expire lost leases and make due retries ready,
 * then relay every shard's outbox - the backstop that delivers events a write handler
 * could not (it died after the Redis write, or EventBridge failed) - and flush finished
 * runs whose archive is overdue.
 */
export const handler = async () => {
  const rt = getRuntime();
  const reconciled = await rt.engine.reconcile();
  const relayed = await rt.relay({ maxBatches: 50 });
  if (relayed.failed > 0) console.warn(`weft: ${relayed.failed} outbox events not published; next reconcile retries`);
  const archived = rt.archiver ? await rt.archiver.flushOverdue() : { flushed: 0, failed: 0 };
  return { ...reconciled, ...relayed, archived };
};
