import { errorFields, logger } from "../log.js";

/**
 * Work a request starts but does not wait for: the relay of the outbox events its writes
 * replied (publish, then the ack). It starts at once, so a push subscriber hears of a ready
 * node as early as when the request waited for it, but the response (and a pull worker's
 * next hop) no longer waits for the publish and the ack. Only where the process keeps
 * running once a response is out: the local emulator (WEFT_RELAY_AFTER_RESPONSE, which
 * `npm start` sets). A deployed Lambda is frozen as soon as its handler returns, so there
 * the relay stays in the request. Either way the events are in the outbox from the write on
 * until acked: work that never finishes (the process died, the publish failed) is the
 * reconcile cron's (invariant 6).
 */
const running = new Set<Promise<unknown>>();
// The flush of every coalesced() batcher (declared below).
const batches = new Set<() => void>();

/** Runs `work` without the caller waiting; its failure is logged (the outbox keeps what was not acked). */
export function inBackground(work: () => Promise<unknown>): void {
  const p = work()
    .catch((err: unknown) => logger.warn("relay after the response failed; reconcile will retry", errorFields(err)))
    .finally(() => running.delete(p));
  running.add(p);
}

/** Resolves when every piece of background work started so far has finished (the emulator's stop, tests). */
export async function settleBackground(): Promise<void> {
  // Finished work may hand items to a batcher (a relay's acks): flush until nothing is left.
  for (;;) {
    for (const flush of batches) flush();
    if (running.size === 0) return;
    await Promise.all([...running]);
  }
}

/**
 * Coalesces what several requests hand over within `delayMs` (or until `max` items) into one
 * call of `flush`, in the background: the acks of several writes' events in one Redis call
 * instead of one per write. Items not yet flushed are flushed by settleBackground().
 */
export function coalesced<T>(flush: (items: T[]) => Promise<unknown>, o: { delayMs: number; max: number }): ((items: T[]) => void) & { close(): void } {
  let pending: T[] = [];
  let timer: NodeJS.Timeout | undefined;
  const now = () => {
    clearTimeout(timer);
    timer = undefined;
    const items = pending;
    pending = [];
    if (items.length > 0) inBackground(() => flush(items));
  };
  batches.add(now);
  const add = (items: T[]) => {
    pending.push(...items);
    if (pending.length >= o.max) now();
    else timer ??= setTimeout(now, o.delayMs);
  };
  // Flushes what is pending and forgets this batcher (its runtime is being let go); items
  // handed over later are flushed at once.
  const close = () => {
    now();
    batches.delete(now);
    o = { ...o, max: 1 };
  };
  return Object.assign(add, { close });
}
