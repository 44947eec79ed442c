import { METRICS, METRICS_NAMESPACE, METRICS_SERVICE, type MetricDef } from "../functions/metrics/definitions.js";

/**
 * The CloudWatch alarms Weft deploys (infra/stack/alarms.ts), as plain data over the
 * metrics the functions write as EMF (functions/metrics/definitions.ts): the test checks
 * each exists on the right metric. Every alarm notifies the one SNS topic, on alarm and on
 * recovery; no data (nothing happened) is not breaching.
 */
export interface MetricRef {
  metric: MetricDef;
  stat: "Sum" | "Maximum";
  /** The EMF dimension set the alarm reads (the metric's labels or one of its rollups), service included. */
  dimensions: Record<string, string>;
}

export interface AlarmSpec {
  /** SST name: `<name>Alarm`. */
  name: string;
  description: string;
  periodSeconds: number;
  evaluationPeriods: number;
  threshold: number;
  comparison: "GreaterThanOrEqualToThreshold" | "GreaterThanThreshold";
  /** One metric, or `expression` over the named metrics (CloudWatch metric math). */
  metrics: Record<string, MetricRef>;
  expression?: string;
}

/** Relay lag (the oldest event a relay published) above which the outbox is stuck: writes relay at once, reconcile every minute. */
export const OUTBOX_LAG_THRESHOLD_SECONDS = 180;
/** Share of API requests answered 5xx, in percent over 5 minutes. */
export const API_5XX_PERCENT = 5;

const service = { service: METRICS_SERVICE };

export const alarms: readonly AlarmSpec[] = [
  {
    name: "ReconcileErrors",
    description: "The reconcile cron failed (leases are not expired, retries not promoted, the outbox not relayed); see the Reconcile function's log",
    periodSeconds: 300,
    evaluationPeriods: 1,
    threshold: 2,
    comparison: "GreaterThanOrEqualToThreshold",
    metrics: { errors: { metric: METRICS.reconcileErrors, stat: "Sum", dimensions: service } },
  },
  {
    name: "OutboxLag",
    description: `Outbox events reach the bus more than ${OUTBOX_LAG_THRESHOLD_SECONDS} s after their transition: EventBridge refuses them or the relay is not running`,
    periodSeconds: 60,
    evaluationPeriods: 3,
    threshold: OUTBOX_LAG_THRESHOLD_SECONDS,
    comparison: "GreaterThanThreshold",
    metrics: { lag: { metric: METRICS.relayLag, stat: "Maximum", dimensions: service } },
  },
  {
    name: "ArchiveFlushFailures",
    description: "Finished runs fail to flush to the cold store (they stay in Redis and are retried); see the Archive and Reconcile functions' logs",
    periodSeconds: 300,
    evaluationPeriods: 2,
    threshold: 1,
    comparison: "GreaterThanOrEqualToThreshold",
    metrics: { failures: { metric: METRICS.archiveFlushFailures, stat: "Sum", dimensions: service } },
  },
  {
    name: "Api5xxRate",
    description: `More than ${API_5XX_PERCENT}% of HTTP API requests answered 5xx over 5 minutes`,
    periodSeconds: 300,
    evaluationPeriods: 1,
    threshold: API_5XX_PERCENT,
    comparison: "GreaterThanThreshold",
    metrics: {
      errors: { metric: METRICS.apiRequests, stat: "Sum", dimensions: { ...service, class: "5xx" } },
      all: { metric: METRICS.apiRequests, stat: "Sum", dimensions: service },
    },
    expression: "100 * FILL(errors, 0) / all",
  },
];

/** The EMF namespace of a stage's functions (their POWERTOOLS_METRICS_NAMESPACE): stages sharing an account do not mix. */
export const metricsNamespace = (stage: string) => `${METRICS_NAMESPACE}/${stage}`;
