import type { BusEvent } from "@weft/core";
import { getRuntime } from "./config.js";

/**
 * DagSucceeded | DagFailed | DagCancelled -> flush the run to the cold store, after which
 * its Redis keys get a TTL. Throws on failure so EventBridge retries the invocation; the
 * reconcile cron flushes whatever is still overdue.
 */
export const handler = async (event: BusEvent) => {
  const rt = getRuntime();
  if (!rt.archiver) {
    console.warn("weft: no WEFT_TABLE: finished runs stay in Redis, not archived");
    return { flushed: false, released: false, reason: "no cold store" };
  }
  const { tenant, dagId } = event.detail;
  return rt.archiver.flush(tenant, dagId);
};
