/**
 * Every metric Weft records, defined once: the names, labels and buckets both sinks use
 * (functions/metrics/index.ts): CloudWatch EMF in Lambda, Prometheus text at the local
 * emulator's GET /metrics. infra/stack/alarms.ts alarms on these names and the README
 * lists them. Pure data: infra imports it.
 *
 * Where each number comes from, without any Redis work on the hot path:
 * - node transitions as they happen (functions/metrics/live.ts): ready, succeeded, failed
 *   and runs finished from the outbox events a relay published (counted by the ack that
 *   removed them, so once), started from the tasks claim replies hand out;
 * - what only the run's event log tells (retried, released and skipped per agent: a fail
 *   or release reply names no agent, skips happen inside other scripts; ready-to-started
 *   latency; run duration): when the archiver flushes the finished run, from the log it
 *   holds then (functions/metrics/runs.ts; a redriven run counts its new events only);
 * - outbox: what a relay published (event age = relay lag) and the outbox length the
 *   reconcile cron reads with its health probe (one XLEN per shard per minute);
 * - reconcile repairs and errors, archive flush failures: the results of those calls;
 * - API requests: the HTTP app's middleware (route template, never the raw path).
 */
export type MetricKind = "counter" | "histogram" | "gauge";

export interface MetricDef<L extends string = string> {
  name: string;
  kind: MetricKind;
  help: string;
  labels: readonly L[];
  /** CloudWatch unit; Prometheus gets it in the name (`_seconds`, `_total`). */
  unit: "Count" | "Seconds";
  /** Histogram buckets (Prometheus); EMF sends the values and CloudWatch keeps percentiles. */
  buckets?: readonly number[];
  /**
   * CloudWatch cannot add up across dimensions, so EMF also publishes the metric under these
   * subsets of its labels (`[]`: the service alone), which alarms use. Prometheus sums itself.
   */
  rollups?: readonly (readonly L[])[];
}

const def = <L extends string>(d: MetricDef<L>): MetricDef<L> => d;

/** Node transitions counted (the event log's node.* events of the same names). */
export const TRANSITIONS = ["ready", "started", "succeeded", "failed", "retried", "released", "skipped"] as const;
export type Transition = (typeof TRANSITIONS)[number];

/** The label value for a node without an agent (a wait node). */
export const NO_AGENT = "_wait";

const LATENCY_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15, 60, 300, 1800];
const RUN_BUCKETS = [1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 24 * 3600];

export const METRICS = {
  nodeTransitions: def({
    name: "weft_node_transitions_total",
    kind: "counter",
    help: "Node transitions by kind and agent: ready, started, succeeded, failed as they happen; retried, released, skipped when the run is archived",
    labels: ["transition", "agent"],
    unit: "Count",
    rollups: [["transition"]],
  }),
  readyToStarted: def({
    name: "weft_node_ready_to_started_seconds",
    kind: "histogram",
    help: "Time from a node becoming ready to an attempt starting, per agent (queueing time), counted when the run is archived",
    labels: ["agent"],
    unit: "Seconds",
    buckets: LATENCY_BUCKETS,
  }),
  runsFinished: def({
    name: "weft_runs_finished_total",
    kind: "counter",
    help: "Runs that ended, by outcome (succeeded, failed, cancelled), as their Dag* event is relayed",
    labels: ["outcome"],
    unit: "Count",
  }),
  runDuration: def({
    name: "weft_run_duration_seconds",
    kind: "histogram",
    help: "Run duration from submit to its end, by outcome, when the run is archived",
    labels: ["outcome"],
    unit: "Seconds",
    buckets: RUN_BUCKETS,
  }),
  outboxBacklog: def({
    name: "weft_outbox_backlog",
    kind: "gauge",
    help: "Outbox entries (one script call's events each) not yet relayed, all shards, read by the reconcile cron",
    labels: [],
    unit: "Count",
  }),
  relayLag: def({
    name: "weft_outbox_relay_lag_seconds",
    kind: "histogram",
    help: "Age of the oldest event a relay published: from the transition to the bus",
    labels: [],
    unit: "Seconds",
    buckets: LATENCY_BUCKETS,
  }),
  relayed: def({
    name: "weft_outbox_events_total",
    kind: "counter",
    help: "Outbox events a relay published, or failed to publish (left for the next relay)",
    labels: ["result"],
    unit: "Count",
  }),
  reconcileRepairs: def({
    name: "weft_reconcile_repairs_total",
    kind: "counter",
    help: "What the reconcile cron repaired: leases_expired, retries_promoted, waits_timed_out, runs_flushed",
    labels: ["repair"],
    unit: "Count",
  }),
  reconcileErrors: def({
    name: "weft_reconcile_errors_total",
    kind: "counter",
    help: "Reconcile invocations that failed",
    labels: [],
    unit: "Count",
  }),
  archiveFlushFailures: def({
    name: "weft_archive_flush_failures_total",
    kind: "counter",
    help: "Archive flushes that failed (retried by EventBridge, then reconcile), by trigger (event, reconcile)",
    labels: ["trigger"],
    unit: "Count",
    rollups: [[]],
  }),
  apiRequests: def({
    name: "weft_api_requests_total",
    kind: "counter",
    help: "HTTP API requests by route template, method, status and status class",
    labels: ["route", "method", "status", "class"],
    unit: "Count",
    rollups: [["class"], []],
  }),
  apiDuration: def({
    name: "weft_api_request_duration_seconds",
    kind: "histogram",
    help: "HTTP API request duration by route template and method",
    labels: ["route", "method"],
    unit: "Seconds",
    buckets: LATENCY_BUCKETS,
  }),
} as const;

export type MetricName = keyof typeof METRICS;
export type LabelsOf<D> = D extends MetricDef<infer L> ? { [K in L]: string } : never;

/** The CloudWatch namespace of the EMF metrics (POWERTOOLS_METRICS_NAMESPACE overrides it in a function). */
export const METRICS_NAMESPACE = "Weft";
/** The `service` dimension Powertools adds to every EMF metric. */
export const METRICS_SERVICE = "weft";
