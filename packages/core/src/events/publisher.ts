import type { OutboxEvent, OutboxEventType } from "../engine/types.js";

/** Where the outbox relay sends events: EventBridge in AWS, in-process subscribers locally. */
export interface EventPublisher {
  /**
   * Publishes every event it can. The ones returned in `failed` were not published and
   * must stay in the outbox (the relay will send them again later).
   */
  publish(events: OutboxEvent[]): Promise<{ failed: OutboxEvent[] }>;
}

/** The `source` of every event Weft puts on a bus; subscription rules match on it. */
export const EVENT_SOURCE = "weft";

/**
 * The `detail` of an event: references only, never inputs or outputs, so an entry stays
 * far below EventBridge's 256 KB limit and a subscriber reads the payload from the API.
 * `agent` is top-level so a rule can route NodeReady to one agent's function.
 */
export type EventDetail = Pick<OutboxEvent, "tenant" | "dagId" | "nodeId" | "agent" | "attempt" | "at" | "signalToken" | "signalUrl" | "traceparent"> & {
  /** Unique per outbox entry (`<shard>:<outbox id>`): subscribers dedupe at-least-once delivery with it. */
  eventId: string;
};

export function toDetail(event: OutboxEvent): EventDetail {
  const detail: EventDetail = { eventId: `${event.shard}:${event.id}`, tenant: event.tenant, dagId: event.dagId, at: event.at };
  if (event.nodeId !== undefined) detail.nodeId = event.nodeId;
  if (event.agent !== undefined) detail.agent = event.agent;
  if (event.attempt !== undefined) detail.attempt = event.attempt;
  // NodeWaiting: how to end the wait without the tenant's key (a chat button, a webhook).
  if (event.signalToken !== undefined) detail.signalToken = event.signalToken;
  if (event.signalUrl !== undefined) detail.signalUrl = event.signalUrl;
  // NodeReady of a traced run: a push-mode agent's span joins the run's trace.
  if (event.traceparent !== undefined) detail.traceparent = event.traceparent;
  return detail;
}

/** An event as EventBridge hands it to a target (the shape a subscriber Lambda receives). */
export interface BusEvent {
  version: "0";
  id: string;
  "detail-type": OutboxEventType;
  source: typeof EVENT_SOURCE;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: EventDetail;
}
