import type { BusEvent } from "@weft/core/events";
import { getRuntime } from "./config.js";
import { errorFields, logger } from "./log.js";
import { invocation } from "./invocation.js";
import { METRICS, metrics } from "./metrics/index.js";

/**
 * DagSucceeded | DagFailed | DagCancelled -> flush the run to the cold store, after which
 * its Redis keys get a TTL (and the run's metrics are recorded: functions/metrics/runs.ts).
 * Throws on failure so EventBridge retries the invocation; the reconcile cron flushes
 * whatever is still overdue.
 */
export const handler = invocation("archive", async (event: BusEvent) => {
  const rt = getRuntime();
  if (!rt.archiver) {
    logger.warn("no WEFT_TABLE: finished runs stay in Redis, not archived");
    return { flushed: false, released: false, reason: "no cold store" };
  }
  const { tenant, dagId } = event.detail;
  try {
    return await rt.archiver.flush(tenant, dagId);
  } catch (err) {
    metrics.count(METRICS.archiveFlushFailures, { trigger: "event" });
    logger.error("archive flush failed; EventBridge retries it, then reconcile", { tenant, run: dagId, ...errorFields(err) });
    throw err;
  }
});
