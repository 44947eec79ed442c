import { getRuntime } from "./config.js";
import { errorFields, logger } from "./log.js";
import { invocation } from "./invocation.js";

/** Relays the outbox of every shard (or of `event.shard`) to the event bus on demand. */
export const handler = invocation("outbox-relay", async (event: { shard?: number; maxBatches?: number } | void) => {
  const rt = getRuntime();
  try {
    const result = await rt.relay({
      maxBatches: event?.maxBatches ?? 50,
      ...(typeof event?.shard === "number" ? { shard: event.shard } : {}),
    });
    if (result.failed > 0) logger.warn("outbox events not published; reconcile retries", { failed: result.failed });
    return result;
  } catch (err) {
    logger.error("relay failed", { ...(typeof event?.shard === "number" ? { shard: event.shard } : {}), ...errorFields(err) });
    throw err;
  }
});
