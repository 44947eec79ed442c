import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags } from "@opentelemetry/api";
import { formatTraceparent, parseTraceparent, type Task } from "@weft/core/sdk";

/**
 * An agent's span joins its run's trace: a task claimed from a traced Weft (WEFT_TRACING)
 * carries the run's `traceparent`, and the attempt runs inside a consumer span child of it,
 * so the agent's own spans (model calls, tools) and the client's reports (sent with the
 * span's `traceparent` header) land in the run's trace. Uses whatever OpenTelemetry
 * TracerProvider the agent's process registered; with none, or a task without a
 * traceparent, nothing is started.
 */
const tracer = () => trace.getTracer("@weft/client");

export function inTaskSpan<R>(task: Task, fn: () => Promise<R>, outcomeOf: (r: R) => string): Promise<R> {
  const p = parseTraceparent(task.traceparent);
  if (!p) return fn();
  const parent = trace.setSpanContext(ROOT_CONTEXT, { traceId: p.traceId, spanId: p.spanId, traceFlags: p.traceFlags & TraceFlags.SAMPLED, isRemote: true });
  const span = tracer().startSpan(
    `weft.agent ${task.agent}`,
    { kind: SpanKind.CONSUMER, attributes: { "weft.run_id": task.dagId, "weft.node_id": task.nodeId, "weft.agent": task.agent, "weft.attempt": task.attempt } },
    parent,
  );
  return context.with(trace.setSpan(parent, span), fn).then(
    (r) => {
      const outcome = outcomeOf(r);
      span.setAttribute("weft.outcome", outcome);
      if (outcome === "failed" || outcome === "lost") span.setStatus({ code: SpanStatusCode.ERROR, message: outcome });
      span.end();
      return r;
    },
    (err: unknown) => {
      span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
      throw err;
    },
  );
}

/** The active span as a `traceparent` header value (the API's request span is then its child), if there is a real one. */
export function activeTraceparent(): string | undefined {
  const sc = trace.getActiveSpan()?.spanContext();
  return sc && trace.isSpanContextValid(sc) ? formatTraceparent(sc) : undefined;
}
