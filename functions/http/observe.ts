import type { MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import { METRICS, metrics } from "../metrics/index.js";

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
