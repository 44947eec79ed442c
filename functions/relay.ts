import { getRuntime } from "./config.js";

/** Relays the outbox of every shard (or of `event.shard`) to the event bus on demand. */
export const handler = async (event?: { shard?: number; maxBatches?: number }) => {
  const rt = getRuntime();
  return rt.relay({
    maxBatches: event?.maxBatches ?? 50,
    ...(typeof event?.shard === "number" ? { shard: event.shard } : {}),
  });
};
