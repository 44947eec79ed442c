import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from "@aws-sdk/client-eventbridge";
import type { OutboxEvent } from "../engine/types.js";
import { EVENT_SOURCE, toDetail, type EventPublisher } from "./publisher.js";

export interface EventBridgePublisherOptions {
  /** Bus name or ARN. */
  eventBusName: string;
  client?: EventBridgeClient;
  /** Extra attempts for entries PutEvents reports as failed (or for a call that throws). Default 3. */
  retries?: number;
  /** First backoff in ms, doubled per retry, with jitter. Default 100. */
  backoffMs?: number;
  /** Injected so tests need not wait. */
  sleep?: (ms: number) => Promise<void>;
}

/** PutEvents accepts at most 10 entries per call. */
export const PUT_EVENTS_MAX_ENTRIES = 10;

/**
 * Publishes outbox events to an EventBridge bus, in batches of <= 10 entries.
 * PutEvents is not all-or-nothing: it answers 200 with `FailedEntryCount > 0` and an
 * `ErrorCode` on the failed entries (same order as the request), so only those are
 * retried. Whatever still fails after the retries is returned and stays in the outbox.
 */
export class EventBridgePublisher implements EventPublisher {
  readonly client: EventBridgeClient;
  private readonly bus: string;
  private readonly retries: number;
  private readonly backoffMs: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(opts: EventBridgePublisherOptions) {
    this.client = opts.client ?? new EventBridgeClient({});
    this.bus = opts.eventBusName;
    this.retries = opts.retries ?? 3;
    this.backoffMs = opts.backoffMs ?? 100;
    this.sleep = opts.sleep ?? ((ms) => new Promise((res) => setTimeout(res, ms)));
  }

  async publish(events: OutboxEvent[]): Promise<{ failed: OutboxEvent[] }> {
    const failed: OutboxEvent[] = [];
    for (let i = 0; i < events.length; i += PUT_EVENTS_MAX_ENTRIES) {
      failed.push(...(await this.publishBatch(events.slice(i, i + PUT_EVENTS_MAX_ENTRIES))));
    }
    return { failed };
  }

  private async publishBatch(batch: OutboxEvent[]): Promise<OutboxEvent[]> {
    let pending = batch;
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > 0) {
        if (attempt > this.retries) break;
        const base = this.backoffMs * 2 ** (attempt - 1);
        await this.sleep(base / 2 + Math.random() * (base / 2));
      }
      pending = await this.putOnce(pending);
    }
    return pending;
  }

  /** One PutEvents call; returns the entries that did not make it. */
  private async putOnce(batch: OutboxEvent[]): Promise<OutboxEvent[]> {
    try {
      const out = await this.client.send(new PutEventsCommand({ Entries: batch.map((e) => this.entry(e)) }));
      if (!out.FailedEntryCount) return [];
      const results = out.Entries ?? [];
      // A result list that does not line up with the request tells us nothing: retry all.
      if (results.length !== batch.length) return batch;
      return batch.filter((_, i) => results[i]?.ErrorCode !== undefined || results[i]?.EventId === undefined);
    } catch {
      // Throttling, network, expired credentials: the whole call failed, nothing was put.
      return batch;
    }
  }

  private entry(e: OutboxEvent): PutEventsRequestEntry {
    return {
      EventBusName: this.bus,
      Source: EVENT_SOURCE,
      DetailType: e.type,
      Detail: JSON.stringify(toDetail(e)),
      Time: new Date(e.at),
    };
  }
}
