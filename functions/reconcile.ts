import { getRuntime } from "./config.js";
import { errorFields, logger } from "./log.js";
import { invocation } from "./invocation.js";
import { METRICS, metrics } from "./metrics/index.js";

/**
 * Every minute (EventBridge schedule): expire lost leases and make due retries ready,
 * then relay every shard's outbox - the backstop that delivers events a write handler
 * could not (it died after the Redis write, or EventBridge failed) - and flush finished
 * runs whose archive is overdue. A failure is logged (command and error, never arguments),
 * counted (weft_reconcile_errors_total) and rethrown, so the invocation counts as failed
 * and the next one starts over. With metrics on, it also reads the outbox backlog (one
 * XLEN per shard, the health probe's).
 */
export const handler = invocation("reconcile", async (_event: void) => {
  const rt = getRuntime();
  try {
    const reconciled = await rt.engine.reconcile();
    const relayed = await rt.relay({ maxBatches: 50 });
    if (relayed.failed > 0) logger.warn("outbox events not published; the next reconcile retries", { failed: relayed.failed });
    const archived = rt.archiver ? await rt.archiver.flushOverdue() : { flushed: 0, failed: 0 };
    const result = { ...reconciled, ...relayed, archived };
    if (metrics.enabled) {
      const repairs = METRICS.reconcileRepairs;
      metrics.count(repairs, { repair: "leases_expired" }, reconciled.expiredLeases);
      metrics.count(repairs, { repair: "retries_promoted" }, reconciled.retriesDue);
      metrics.count(repairs, { repair: "waits_timed_out" }, reconciled.waitsDue);
      metrics.count(repairs, { repair: "runs_flushed" }, archived.flushed);
      metrics.count(METRICS.archiveFlushFailures, { trigger: "reconcile" }, archived.failed);
      const health = await rt.signals.redisHealth();
      if (health.ok) metrics.set(METRICS.outboxBacklog, {}, health.outbox);
    }
    logger.debug("reconciled", result);
    return result;
  } catch (err) {
    metrics.count(METRICS.reconcileErrors, {});
    logger.error("reconcile failed", errorFields(err));
    throw err;
  }
});
