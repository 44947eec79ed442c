/**
 * The HTTP API's routes as plain data: SST builds API Gateway routes from this table
 * (infra/stack/index.ts) and the local emulator serves the very same table, so a route
 * exists in both places or in neither. functions/test/http/routes.test.ts checks that the
 * routes served by functions/api.handler are exactly what the app serves and documents,
 * route by route, so the table and the app cannot disagree.
 *
 * `path` is API Gateway style: `{name}` is one path segment, `{proxy+}` the rest of the
 * path, `$default` anything no other route matches (its `method` is ignored). `handler`
 * is `<module path from the repo root>.<export>`, as SST and Lambda take it.
 */
export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "ANY";

export interface Route {
  method: HttpMethod;
  path: string;
  handler: string;
}

/** The app of functions/http/app.ts: every Weft route. */
export const API_HANDLER = "functions/api.handler";

const api = (method: HttpMethod, path: string): Route => ({ method, path, handler: API_HANDLER });

/** Shared state, run-scoped or in a namespace: the same six operations under each base. */
const stateRoutes = (base: string): Route[] => [
  api("GET", base),
  api("PUT", base),
  api("PATCH", base),
  api("DELETE", base),
  api("GET", `${base}/history`),
  api("POST", `${base}/transition`),
];

export const routes: readonly Route[] = [
  api("GET", "/openapi.json"),
  api("GET", "/health"),

  api("POST", "/v1/dags"),
  api("GET", "/v1/dags"),
  api("GET", "/v1/dags/{dagId}"),
  api("GET", "/v1/dags/{dagId}/events"),
  api("GET", "/v1/dags/{dagId}/history"),
  api("POST", "/v1/dags/{dagId}/watch-token"),
  api("POST", "/v1/dags/{dagId}/cancel"),
  api("POST", "/v1/dags/{dagId}/redrive"),
  api("POST", "/v1/dags/{dagId}/rewind"),

  api("GET", "/v1/agents"),
  api("GET", "/v1/agents/{agent}"),
  api("POST", "/v1/agents/{agent}/claim"),
  api("POST", "/v1/dags/{dagId}/nodes/{nodeId}/claim"),
  api("POST", "/v1/dags/{dagId}/nodes/{nodeId}/complete"),
  api("POST", "/v1/dags/{dagId}/nodes/{nodeId}/fail"),
  api("POST", "/v1/dags/{dagId}/nodes/{nodeId}/heartbeat"),
  api("POST", "/v1/dags/{dagId}/nodes/{nodeId}/release"),
  api("GET", "/v1/dags/{dagId}/nodes/{nodeId}/parents"),
  api("POST", "/v1/dags/{dagId}/nodes/{nodeId}/extend"),
  api("POST", "/v1/dags/{dagId}/nodes"),
  api("POST", "/v1/dags/{dagId}/nodes/{nodeId}/signal"),
  api("POST", "/v1/dags/{dagId}/nodes/{nodeId}/suspend"),
  api("POST", "/v1/dags/{dagId}/nodes/{nodeId}/uploads"),
  api("POST", "/v1/dags/{dagId}/pause"),
  api("POST", "/v1/dags/{dagId}/resume"),
  api("POST", "/v1/signals"),
  api("POST", "/v1/signals/{token}"),

  ...stateRoutes("/v1/dags/{dagId}/state/{key}"),
  ...stateRoutes("/v1/state/{namespace}/{key}"),
  api("GET", "/v1/dags/{dagId}/state"),
  api("GET", "/v1/state/{namespace}"),
  api("GET", "/v1/state"),
  api("PUT", "/v1/machines/{name}"),
  api("GET", "/v1/machines/{name}"),

  // Everything else (an unknown path, a method a path does not serve) reaches the app,
  // which answers 404 or 405 with `Allow` in its error envelope, not API Gateway's bare 404.
  api("ANY", "$default"),
];

/**
 * Server-Sent Events, served by a response-streaming function behind API Gateway's REST API
 * (infra/stack/stream.ts): the HTTP API above cannot stream a response. Locally the same
 * gateway serves both tables (functions/local/streaming.ts).
 */
export const STREAM_HANDLER = "functions/stream.handler";
/** The stream paths, once: these routes, the Stream function's app (functions/live/routes.ts) and a watch token's `streamUrl` use them. */
export const STREAM_PATHS = { run: "/v1/dags/{dagId}/events/stream", tenant: "/v1/events/stream" } as const;
export const streamRoutes: readonly Route[] = [
  { method: "GET", path: STREAM_PATHS.run, handler: STREAM_HANDLER },
  { method: "GET", path: STREAM_PATHS.tenant, handler: STREAM_HANDLER },
];

/**
 * CORS of both APIs: the deployed dashboard is a static site on CloudFront, another origin
 * than the HTTP API and the Stream REST API. Any origin: the API authenticates by a bearer key
 * or a watch token a page sends on purpose, never by cookies, so an origin gains nothing from
 * being allowed. The request headers are named: a `*` in Access-Control-Allow-Headers does
 * not cover Authorization. The HTTP API answers preflights itself (infra/stack/index.ts); the
 * REST API routes them to the Stream function, which answers them (and adds the headers to
 * its replies) from this same table (functions/live/routes.ts). The local gateway does both
 * the same way (functions/local/gateway.ts).
 */
export const CORS = {
  allowOrigins: ["*"],
  allowMethods: ["GET", "POST", "PUT", "PATCH", "DELETE"],
  /** What the dashboard and @weft/client send: the key, JSON, a state version, the writer, and EventSource's resume point. */
  allowHeaders: ["authorization", "content-type", "if-match", "if-none-match", "last-event-id", "x-weft-agent", "x-weft-run", "x-weft-node", "x-weft-attempt"],
  /** Read by pages: a state value's version, when to retry a 429 / 503. */
  exposeHeaders: ["etag", "retry-after"],
  maxAgeSeconds: 600,
} as const;
export type Cors = typeof CORS;

/** `"POST /v1/dags"` (or `$default`): the route key API Gateway (and `sst.aws.ApiGatewayV2.route`) uses. */
export function routeKey(route: Route): string {
  return route.path === "$default" ? "$default" : `${route.method} ${route.path}`;
}
