import type { Maintenance, OutboxEvent } from "../engine/types.js";
import type { EventPublisher } from "./publisher.js";

export interface RelayOptions {
  /** Relay one shard only (the one a write just touched); every shard when omitted. */
  shard?: number;
  /** Upper bound on outbox reads, so a request-path relay stays short. Default 10. */
  maxBatches?: number;
  /** Outbox entries per read. Default 100. */
  batchSize?: number;
  /** How published events are acked (default: the engine's ackOutbox). */
  ack?: Ack;
}

/**
 * Acks published events, removing them from the outbox. The engine's ackOutbox by default;
 * a caller may wrap it (count what each ack removed, which is once per event even when two
 * relays race) or coalesce the acks of several writes into one call.
 */
export type Ack = (events: OutboxEvent[]) => Promise<unknown>;

export interface RelayResult {
  published: number;
  /** Entries the publisher could not send; they remain in the outbox for the next relay. */
  failed: number;
}

/**
 * Moves outbox entries to the publisher: read, publish, then ack only what was
 * published. A crash between publish and ack leaves the entries in the outbox, so they
 * are sent again (at-least-once; `detail.eventId` lets subscribers dedupe).
 */
export async function relayOutbox(engine: Maintenance, publisher: EventPublisher, opts: RelayOptions = {}): Promise<RelayResult> {
  const maxBatches = opts.maxBatches ?? 10;
  const limit = opts.batchSize ?? 100;
  const result: RelayResult = { published: 0, failed: 0 };
  for (let batch = 0; batch < maxBatches; batch++) {
    const events = await engine.readOutbox(opts.shard === undefined ? { limit } : { shard: opts.shard, limit });
    if (events.length === 0) break;
    const { published, failed } = await relayEvents(engine, publisher, events, opts.ack);
    result.published += published;
    result.failed += failed;
    // The failed entries are still the oldest in the outbox: reading on would only
    // return them again. Leave them to the next relay (the reconcile cron at the latest).
    if (failed > 0 || events.length < limit) break;
  }
  return result;
}

/**
 * Publishes outbox events already in hand (a write's own, from Engine.takeOutbox) and acks
 * what was published: one ack call per shard instead of a read and an ack. What fails, or
 * what a crash before the ack leaves, stays in the outbox for relayOutbox (the reconcile cron).
 * `ack` replaces the engine's ack (see Ack).
 */
export async function relayEvents(
  engine: Maintenance,
  publisher: EventPublisher,
  events: OutboxEvent[],
  ack: Ack = (acked) => engine.ackOutbox(acked),
): Promise<RelayResult> {
  if (events.length === 0) return { published: 0, failed: 0 };
  const { failed } = await publisher.publish(events);
  const failedIds = new Set(failed.map(key));
  const published = events.filter((e) => !failedIds.has(key(e)));
  if (published.length > 0) await ack(published);
  return { published: published.length, failed: failed.length };
}

const key = (e: Pick<OutboxEvent, "id" | "shard">) => `${e.shard}:${e.id}`;
