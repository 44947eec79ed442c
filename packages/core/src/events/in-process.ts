import type { OutboxEvent } from "../engine/types.js";
import { EVENT_SOURCE, toDetail, type BusEvent, type EventPublisher } from "./publisher.js";

/**
 * The subset of EventBridge pattern matching Weft's subscriptions use: each listed field
 * must equal one of its values. `detail-type` is accepted as a synonym of `detailType` so
 * the rules `infra/` declares can be passed as they are.
 */
export interface EventPattern {
  source?: string[];
  detailType?: string[];
  "detail-type"?: string[];
  detail?: Record<string, (string | number)[]>;
}

export type Subscriber = (event: BusEvent) => unknown;

export interface InProcessPublisherOptions {
  /** A subscriber that throws does not fail the publish (as on EventBridge); it is reported here. */
  onError?: (err: unknown, event: BusEvent) => void;
  region?: string;
  account?: string;
}

/**
 * A local stand-in for an EventBridge bus: events go to the registered subscribers whose
 * pattern matches, shaped as EventBridge delivers them. Delivery is asynchronous like the
 * real bus, so a subscriber that calls the API (and so publishes again) does not nest
 * inside the publish that triggered it; `drain()` waits until every delivery is done.
 */
export class InProcessPublisher implements EventPublisher {
  private readonly subscriptions = new Set<{ pattern: EventPattern; subscriber: Subscriber }>();
  private readonly inFlight = new Set<Promise<void>>();
  private seq = 0;

  constructor(private readonly opts: InProcessPublisherOptions = {}) {}

  /** Returns a function that removes the subscription. */
  subscribe(pattern: EventPattern, subscriber: Subscriber): () => void {
    const sub = { pattern, subscriber };
    this.subscriptions.add(sub);
    return () => this.subscriptions.delete(sub);
  }

  async publish(events: OutboxEvent[]): Promise<{ failed: OutboxEvent[] }> {
    for (const e of events) {
      const busEvent = this.toBusEvent(e);
      for (const { pattern, subscriber } of this.subscriptions) {
        if (matches(pattern, busEvent)) this.deliver(subscriber, busEvent);
      }
    }
    return { failed: [] };
  }

  /** Resolves when every delivery started so far, and any they caused, has finished. */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  private deliver(subscriber: Subscriber, event: BusEvent): void {
    const p: Promise<void> = new Promise<void>((res) => setImmediate(res))
      .then(() => subscriber(event))
      .then(
        () => undefined,
        (err: unknown) => this.reportError(err, event),
      )
      .finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  private reportError(err: unknown, event: BusEvent): void {
    if (this.opts.onError) this.opts.onError(err, event);
    else console.error(`weft: subscriber failed on ${event["detail-type"]} ${event.detail.dagId}`, err);
  }

  private toBusEvent(e: OutboxEvent): BusEvent {
    return {
      version: "0",
      id: `local-${++this.seq}`,
      "detail-type": e.type,
      source: EVENT_SOURCE,
      account: this.opts.account ?? "000000000000",
      time: new Date(e.at).toISOString(),
      region: this.opts.region ?? "local",
      resources: [],
      detail: toDetail(e),
    };
  }
}

export function matches(pattern: EventPattern, event: BusEvent): boolean {
  const detailTypes = pattern.detailType ?? pattern["detail-type"];
  if (pattern.source && !pattern.source.includes(event.source)) return false;
  if (detailTypes && !detailTypes.includes(event["detail-type"])) return false;
  for (const [field, allowed] of Object.entries(pattern.detail ?? {})) {
    const value = (event.detail as unknown as Record<string, unknown>)[field];
    if (!allowed.some((a) => a === value)) return false;
  }
  return true;
}
