import { createRequire } from "node:module";
import type * as Otel from "@opentelemetry/api";
import type { Attributes, Context, Link, Span, SpanKind } from "@opentelemetry/api";
import { formatTraceparent, parseTraceparent } from "@weft/core/sdk";
import type { EventPublisher } from "@weft/core/events";

/**
 * OpenTelemetry traces of the functions: a span per API request, per script call and per
 * relay, with run and node ids as attributes (`weft.tenant`, `weft.run_id`,
 * `weft.node_id`). A run submitted in a traced request keeps that request's span context as
 * its traceparent; its claimed tasks and NodeReady events carry it, so an agent's span
 * (@weft/client starts one from it) joins the run's trace.
 *
 * Off unless WEFT_TRACING is set; off, nothing is installed (no middleware, no script
 * hook, no `tp` argument, no traceparent read or stored): no cost.
 * - WEFT_TRACING=1: spans go to the TracerProvider registered with @opentelemetry/api (an
 *   OpenTelemetry Lambda layer, a `--import` bootstrap, a test's in-memory exporter);
 * - WEFT_TRACING=console: Weft registers a NodeTracerProvider printing finished spans (local debugging).
 */
const TRACER = "weft";
let loaded: typeof Otel | undefined;
/** @opentelemetry/api, loaded on first use: only once tracing is on (off, a cold start does not load it). */
export const otel = (): typeof Otel => (loaded ??= createRequire(import.meta.url)("@opentelemetry/api") as typeof Otel);
const tracer = () => otel().trace.getTracer(TRACER);

let enabled: boolean | undefined;
let registered = false;

export function tracingEnabled(): boolean {
  if (enabled !== undefined) return enabled;
  const v = process.env.WEFT_TRACING?.trim().toLowerCase();
  enabled = !!v && v !== "0" && v !== "off" && v !== "false";
  if (enabled && v === "console" && !registered) {
    registered = true;
    void import("@opentelemetry/sdk-trace-node").then(({ NodeTracerProvider, SimpleSpanProcessor, ConsoleSpanExporter }) =>
      new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(new ConsoleSpanExporter())] }).register(),
    );
  }
  return enabled;
}

/** Sets tracing on or off in process (tests); undefined goes back to WEFT_TRACING. */
export function useTracing(on: boolean | undefined): void {
  enabled = on;
}

/** The span's context as a traceparent, when it is a real (sampled or not) span. */
export function traceparentOf(span: Span | undefined): string | undefined {
  const sc = span?.spanContext();
  if (!sc || !otel().trace.isSpanContextValid(sc)) return undefined;
  return formatTraceparent(sc);
}

/** The active span's traceparent while tracing is on (what a run submitted now keeps); undefined when off. */
export function activeTraceparent(): string | undefined {
  return tracingEnabled() ? traceparentOf(otel().trace.getActiveSpan()) : undefined;
}

/** A remote parent from a traceparent (a request header, a task's field), or the root context. */
export function contextFrom(traceparent: string | undefined, base: Context = otel().ROOT_CONTEXT): Context {
  const p = parseTraceparent(traceparent);
  if (!p) return base;
  return otel().trace.setSpanContext(base, { traceId: p.traceId, spanId: p.spanId, traceFlags: p.traceFlags & otel().TraceFlags.SAMPLED, isRemote: true });
}

/** Runs `fn` in a span; its status is error when `fn` throws (the exception recorded: name and message only). */
export async function inSpan<R>(name: string, opts: { kind?: SpanKind; attributes?: Attributes; links?: Link[]; parent?: Context }, fn: (span: Span) => Promise<R>): Promise<R> {
  const { context, trace, SpanKind: Kind, SpanStatusCode } = otel();
  const parent = opts.parent ?? context.active();
  const span = tracer().startSpan(name, { kind: opts.kind ?? Kind.INTERNAL, attributes: opts.attributes ?? {}, links: opts.links ?? [] }, parent);
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(span));
  } catch (err) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.name : "error" });
    if (err instanceof Error) span.recordException({ name: err.name, message: err.message.slice(0, 300) });
    throw err;
  } finally {
    span.end();
  }
}

/** The ids a script call names (never its other arguments: inputs, outputs, tokens). */
function idsOf(args: Readonly<Record<string, unknown>>): Attributes {
  const a: Attributes = {};
  if (typeof args.tenant === "string") a["weft.tenant"] = args.tenant;
  const run = typeof args.dagId === "string" ? args.dagId : typeof args.id === "string" ? args.id : undefined;
  if (run) a["weft.run_id"] = run;
  if (typeof args.nodeId === "string") a["weft.node_id"] = args.nodeId;
  if (typeof args.agent === "string") a["weft.agent"] = args.agent;
  return a;
}

/** EngineOptions.aroundScript: a client span per script call. */
export function scriptSpan<R>(name: string, args: Readonly<Record<string, unknown>>, run: () => Promise<R>): Promise<R> {
  return inSpan(`weft.script ${name}`, { kind: otel().SpanKind.CLIENT, attributes: { "db.system.name": "redis", "db.operation.name": name, ...idsOf(args) } }, () => run());
}

/** A publisher whose every publish is a producer span linked to the traces of the runs whose events it sends. */
export function tracedPublisher(inner: EventPublisher): EventPublisher {
  return {
    publish: (events) => {
      const links: Link[] = [];
      for (const e of events) {
        if (links.length >= 32) break;
        const p = parseTraceparent(e.traceparent);
        if (p) links.push({ context: { traceId: p.traceId, spanId: p.spanId, traceFlags: p.traceFlags, isRemote: true } });
      }
      const runs = new Set(events.map((e) => e.dagId));
      const attributes: Attributes = { "weft.events": events.length, "messaging.system": "aws_eventbridge" };
      if (runs.size === 1) attributes["weft.run_id"] = events[0]!.dagId;
      return inSpan("weft.relay", { kind: otel().SpanKind.PRODUCER, attributes, links }, async (span) => {
        const result = await inner.publish(events);
        span.setAttribute("weft.failed", result.failed.length);
        return result;
      });
    },
  };
}
