/** @weft/core/events - publishing outbox events: EventBridge, in process, and the relay from the outbox. */
export { EVENT_SOURCE, toDetail, type BusEvent, type EventDetail, type EventPublisher } from "./publisher.js";
export { EventBridgePublisher, PUT_EVENTS_MAX_ENTRIES, type EventBridgePublisherOptions } from "./eventbridge.js";
export { relayEvents, relayOutbox, type Ack, type RelayOptions, type RelayResult } from "./relay.js";
export { InProcessPublisher, matches, type EventPattern, type InProcessPublisherOptions, type Subscriber } from "./in-process.js";
