/**
 * The HTTP API's routes as plain data: SST builds API Gateway routes from this table
 * (infra/stack/api.ts) and the local emulator serves the very same table, so a route
 * exists in both places or in neither.
 *
 * `path` is API Gateway style: `{name}` is one path segment, `{proxy+}` the rest of the
 * path. `handler` is `<module path from the repo root>.<export>`, as SST and Lambda take it.
 */
export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "ANY";

export interface Route {
  method: HttpMethod;
  path: string;
  handler: string;
}

const dispatch = "functions/dispatch.handler";
const read = "functions/read.handler";
const claim = "functions/claim.handler";
const node = "functions/node.handler";
const cancel = "functions/cancel.handler";
const state = "functions/state.handler";

export const routes: readonly Route[] = [
  { method: "POST", path: "/v1/dags", handler: dispatch },
  { method: "GET", path: "/v1/dags", handler: dispatch },

  { method: "GET", path: "/v1/dags/{dagId}", handler: read },
  { method: "GET", path: "/v1/dags/{dagId}/events", handler: read },
  { method: "GET", path: "/v1/dags/{dagId}/history", handler: read },
  { method: "GET", path: "/openapi.json", handler: read },

  { method: "POST", path: "/v1/agents/{agent}/claim", handler: claim },
  { method: "POST", path: "/v1/dags/{dagId}/nodes/{nodeId}/claim", handler: claim },

  { method: "POST", path: "/v1/dags/{dagId}/nodes/{nodeId}/complete", handler: node },
  { method: "POST", path: "/v1/dags/{dagId}/nodes/{nodeId}/fail", handler: node },
  { method: "POST", path: "/v1/dags/{dagId}/nodes/{nodeId}/heartbeat", handler: node },
  { method: "POST", path: "/v1/dags/{dagId}/nodes/{nodeId}/release", handler: node },
  { method: "GET", path: "/v1/dags/{dagId}/nodes/{nodeId}/parents", handler: read },

  { method: "POST", path: "/v1/dags/{dagId}/cancel", handler: cancel },
  { method: "POST", path: "/v1/dags/{dagId}/redrive", handler: cancel },
  { method: "POST", path: "/v1/dags/{dagId}/rewind", handler: cancel },

  { method: "ANY", path: "/v1/state/{proxy+}", handler: state },
  { method: "ANY", path: "/v1/dags/{dagId}/state/{proxy+}", handler: state },
  { method: "PUT", path: "/v1/machines/{name}", handler: state },
];

/** `"POST /v1/dags"`: the route key API Gateway (and `sst.aws.ApiGatewayV2.route`) uses. */
export function routeKey(route: Route): string {
  return `${route.method} ${route.path}`;
}
