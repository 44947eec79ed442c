import type { BusEvent } from "@weft/core/events";
import { getRuntime } from "./config.js";
import { errorFields, logger } from "./log.js";

/**
 * DagSucceeded | DagFailed | DagCancelled -> flush the run to the cold store, after which
 * its Redis keys get a TTL. Throws on failure so EventBridge retries the invocation; the
 * reconcile cron flushes whatever is still overdue.
 */
export const handler = async (event: BusEvent) => {
  const rt = getRuntime();
  if (!rt.archiver) {
    logger.warn("no WEFT_TABLE: finished runs stay in Redis, not archived");
    return { flushed: false, released: false, reason: "no cold store" };
  }
  const { tenant, dagId } = event.detail;
  try {
    return await rt.archiver.flush(tenant, dagId);
  } catch (err) {
    logger.error("archive flush failed; EventBridge retries it, then reconcile", { tenant, run: dagId, ...errorFields(err) });
    throw err;
  }
};
