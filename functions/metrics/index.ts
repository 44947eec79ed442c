import { Metrics as EmfMetrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { createRequire } from "node:module";
import type { Counter, Gauge, Histogram, Registry } from "prom-client";
import { METRICS, METRICS_NAMESPACE, METRICS_SERVICE, type LabelsOf, type MetricDef } from "./definitions.js";

export * from "./definitions.js";

/**
 * The functions' metrics (names and labels: ./definitions.ts), recorded into one sink:
 * - `emf`: CloudWatch Embedded Metric Format through Powertools Metrics, one JSON line a
 *   dimension set on stdout when the invocation ends (flushMetrics); the default in Lambda;
 * - `prometheus`: a prom-client registry the local emulator serves at GET /metrics;
 * - `off`: nothing recorded (the default elsewhere).
 * WEFT_METRICS=emf|prometheus|off overrides the default; useMetrics() sets it in process.
 */
export type SinkKind = "emf" | "prometheus" | "off";
type Labels = Record<string, string>;

interface Sink {
  kind: SinkKind;
  add(def: MetricDef, labels: Labels, value: number): void;
  flush(): void;
}

/**
 * prom-client is loaded only for this sink (the local emulator): a Lambda, which writes EMF,
 * does not pay for it at cold start (and its bundle need not hold it).
 */
const promClient = () => createRequire(import.meta.url)("prom-client") as typeof import("prom-client");

class PrometheusSink implements Sink {
  readonly kind = "prometheus";
  readonly registry: Registry;
  private readonly byName = new Map<string, Counter | Gauge | Histogram>();
  constructor() {
    const { Counter, Gauge, Histogram, Registry } = promClient();
    this.registry = new Registry();
    for (const d of Object.values(METRICS) as MetricDef[]) {
      const common = { name: d.name, help: d.help, labelNames: [...d.labels], registers: [this.registry] };
      const m =
        d.kind === "counter" ? new Counter(common) : d.kind === "gauge" ? new Gauge(common) : new Histogram({ ...common, buckets: [...(d.buckets ?? [])] });
      this.byName.set(d.name, m);
    }
  }
  add(def: MetricDef, labels: Labels, value: number): void {
    const m = this.byName.get(def.name)!;
    if (def.kind === "counter") (m as Counter).inc(labels, value);
    else if (def.kind === "gauge") (m as Gauge).set(labels, value);
    else (m as Histogram).observe(labels, value);
  }
  flush(): void {}
}

/**
 * Powertools' own notices: a rollup's labels are also in the full dimension set, which is
 * what rollups are, so its "defined as both" warnings say nothing; errors still show.
 */
const QUIET = { debug() {}, info() {}, warn() {}, error: (...args: unknown[]) => console.error(...args) };

/** EMF allows at most 100 values of one metric in one record. */
const EMF_MAX_VALUES = 100;

class EmfSink implements Sink {
  readonly kind = "emf";
  // Per dimension set (labels and rollups): per metric, its values in this invocation.
  private pending = new Map<string, { labels: Labels; rollups: readonly (readonly string[])[]; values: Map<MetricDef, number[]> }>();
  add(def: MetricDef, labels: Labels, value: number): void {
    const key = `${JSON.stringify(labels)}|${JSON.stringify(def.rollups ?? [])}`;
    let group = this.pending.get(key);
    if (!group) this.pending.set(key, (group = { labels, rollups: def.rollups ?? [], values: new Map() }));
    const values = group.values.get(def) ?? [];
    if (def.kind === "gauge") values.length = 0; // the last value set wins
    values.push(value);
    group.values.set(def, values);
  }
  flush(): void {
    const groups = [...this.pending.values()];
    this.pending.clear();
    for (const g of groups) {
      const longest = Math.max(...[...g.values.values()].map((v) => v.length));
      for (let from = 0; from < longest; from += EMF_MAX_VALUES) {
        const emf = new EmfMetrics({ namespace: process.env.POWERTOOLS_METRICS_NAMESPACE || METRICS_NAMESPACE, serviceName: METRICS_SERVICE, logger: QUIET });
        for (const [name, value] of Object.entries(g.labels)) emf.addDimension(name, value);
        for (const subset of g.rollups) emf.addDimensions(Object.fromEntries(subset.map((l) => [l, g.labels[l]!])));
        for (const [def, values] of g.values) {
          for (const v of values.slice(from, from + EMF_MAX_VALUES)) emf.addMetric(def.name, def.unit === "Seconds" ? MetricUnit.Seconds : MetricUnit.Count, v);
        }
        emf.publishStoredMetrics();
      }
    }
  }
}

const OFF: Sink = { kind: "off", add() {}, flush() {} };

let sink: Sink | undefined;

function sinkFor(kind: SinkKind): Sink {
  return kind === "emf" ? new EmfSink() : kind === "prometheus" ? new PrometheusSink() : OFF;
}

function fromEnv(env: NodeJS.ProcessEnv): SinkKind {
  const v = env.WEFT_METRICS?.trim().toLowerCase();
  if (v === "emf" || v === "prometheus" || v === "off") return v;
  return env.AWS_LAMBDA_FUNCTION_NAME ? "emf" : "off";
}

const current = (): Sink => (sink ??= sinkFor(fromEnv(process.env)));

/** Picks the sink for this process (the local emulator: prometheus); undefined goes back to the env's choice. */
export function useMetrics(kind: SinkKind | undefined): void {
  sink = kind === undefined ? undefined : sinkFor(kind);
}

export const metrics = {
  /** Whether anything is recorded: callers skip their own work (timers, label building) when not. */
  get enabled(): boolean {
    return current() !== OFF;
  },
  get kind(): SinkKind {
    return current().kind;
  },
  count<D extends MetricDef>(def: D, labels: LabelsOf<D>, n = 1): void {
    if (n !== 0) current().add(def, labels as Labels, n);
  },
  observe<D extends MetricDef>(def: D, labels: LabelsOf<D>, value: number): void {
    current().add(def, labels as Labels, value);
  },
  set<D extends MetricDef>(def: D, labels: LabelsOf<D>, value: number): void {
    current().add(def, labels as Labels, value);
  },
  /** EMF: writes what this invocation recorded (the handlers call it as they return). */
  flush(): void {
    current().flush();
  },
  /** The Prometheus text exposition, when the sink is prometheus. */
  async prometheus(): Promise<{ contentType: string; body: string } | undefined> {
    const s = current();
    if (!(s instanceof PrometheusSink)) return undefined;
    return { contentType: s.registry.contentType, body: await s.registry.metrics() };
  },
};
