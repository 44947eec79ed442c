import type { MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import { METRICS, metrics } from "../metrics/index.js";
import { contextFrom, inSpan, otel } from "../tracing.js";

/**
 * The route template a request matched, in API Gateway's notation (`/v1/dags/{dagId}`),
 * never the raw path: ids would make a label value per run. `unmatched` for a 404/405.
 */
export function routeTemplate(c: Parameters<MiddlewareHandler>[0]): string {
  const routes = matchedRoutes(c);
  for (let i = routes.length - 1; i >= 0; i--) {
    const r = routes[i]!;
    if (r.method !== "ALL") return r.path.replace(/:(\w+)/g, "{$1}");
  }
  return "unmatched";
}

/** Counts and times every request by route template, method and status (functions/metrics). */
export function requestMetrics(): MiddlewareHandler {
  return async (c, next) => {
    const started = performance.now();
    await next();
    const route = routeTemplate(c);
    const method = c.req.method;
    const status = c.res.status;
    metrics.count(METRICS.apiRequests, { route, method, status: String(status), class: `${Math.floor(status / 100)}xx` });
    metrics.observe(METRICS.apiDuration, { route, method }, (performance.now() - started) / 1000);
  };
}

/**
 * A server span per request (functions/tracing.ts), child of the caller's `traceparent`
 * header when it sends one: named by method and route template, with the run and node ids
 * of the path and the tenant as attributes.
 */
export function requestSpan(): MiddlewareHandler {
  return async (c, next) => {
    const method = c.req.method;
    const parent = contextFrom(c.req.header("traceparent"));
    await inSpan(method, { kind: otel().SpanKind.SERVER, parent, attributes: { "http.request.method": method } }, async (span) => {
      await next();
      const route = routeTemplate(c);
      span.updateName(`${method} ${route}`);
      span.setAttribute("http.route", route);
      span.setAttribute("http.response.status_code", c.res.status);
      const { dagId, nodeId, agent } = c.req.param() as Record<string, string | undefined>;
      if (dagId) span.setAttribute("weft.run_id", dagId);
      if (nodeId) span.setAttribute("weft.node_id", nodeId);
      if (agent) span.setAttribute("weft.agent", agent);
      const tenant = (c.var as { tenant?: unknown }).tenant;
      if (typeof tenant === "string") span.setAttribute("weft.tenant", tenant);
      if (c.res.status >= 500) span.setStatus({ code: otel().SpanStatusCode.ERROR });
    });
  };
}
