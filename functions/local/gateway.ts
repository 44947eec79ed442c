import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { errorFields, logger } from "../log.js";
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from "aws-lambda";
import type { Cors } from "../../infra/routes.js";
import type { StreamingHandler } from "../live/lambda-stream.js";
import { serveStreaming } from "./streaming.js";

export type HttpHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyResultV2>;

export interface GatewayRoute {
  method: string;
  /** API Gateway route path: `/v1/dags/{dagId}`, `/v1/state/{proxy+}`, or `$default`. */
  path: string;
  handler: HttpHandler | StreamingHandler;
  name: string;
  /** A REST API route whose integration streams the response (functions/local/streaming.ts). */
  streaming?: boolean;
}

interface Compiled extends GatewayRoute {
  regex: RegExp | null;
  params: string[];
}

const MAX_BODY_BYTES = 10 * 1024 * 1024; // API Gateway's own payload limit
/**
 * An oversized body is still read (and dropped) up to this much, so the client, which is
 * still sending it, sees the 413 instead of a reset; past it the connection is cut.
 */
const MAX_DRAIN_BYTES = 64 * 1024 * 1024;

function compile(route: GatewayRoute): Compiled {
  if (route.path === "$default") return { ...route, regex: null, params: [] };
  const params: string[] = [];
  const pattern = route.path.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\\?\{(\w+)(\\\+)?\}/g, (_m, name: string, greedy?: string) => {
    params.push(name);
    return greedy ? "(.+)" : "([^/]+)";
  });
  return { ...route, regex: new RegExp(`^${pattern}$`), params };
}

export function lambdaContext(name: string): Context {
  const started = Date.now();
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: name,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${name}`,
    memoryLimitInMB: "1024",
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${name}`,
    logStreamName: "local",
    getRemainingTimeInMillis: () => Math.max(0, 30_000 - (Date.now() - started)),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

/** The body, or how an oversized one ended: fully drained, or cut off past MAX_DRAIN_BYTES. */
async function readBody(req: IncomingMessage): Promise<Buffer | "too_large" | "too_large_cut"> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_DRAIN_BYTES) return "too_large_cut";
    if (size <= MAX_BODY_BYTES) chunks.push(chunk as Buffer);
  }
  return size > MAX_BODY_BYTES ? "too_large" : Buffer.concat(chunks);
}

/** Gateway-level errors carry the same `{ error: { code, message } }` envelope as the app's. */
function gatewayError(status: number, code: string, message: string, headers: Record<string, string> = {}): APIGatewayProxyResultV2 {
  return { statusCode: status, headers: { "content-type": "application/json", ...headers }, body: JSON.stringify({ error: { code, message } }) };
}

/** Builds the payload v2 event API Gateway would send for this request. */
export function toEvent(req: IncomingMessage, body: Buffer, route: Compiled, pathParameters: Record<string, string>): APIGatewayProxyEventV2 {
  const url = new URL(req.url ?? "/", "http://localhost");
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(",") : v;
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = k in query ? `${query[k]},${v}` : v;
  const method = req.method ?? "GET";
  const routeKey = route.path === "$default" ? "$default" : `${route.method} ${route.path}`;
  const now = new Date();
  const textual = /json|text|xml|urlencoded/.test(headers["content-type"] ?? "json");
  return {
    version: "2.0",
    routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    ...(Object.keys(query).length ? { queryStringParameters: query } : {}),
    ...(Object.keys(pathParameters).length ? { pathParameters } : {}),
    requestContext: {
      accountId: "000000000000",
      apiId: "local",
      domainName: headers.host ?? "localhost",
      domainPrefix: "localhost",
      http: { method, path: url.pathname, protocol: `HTTP/${req.httpVersion}`, sourceIp: req.socket.remoteAddress ?? "127.0.0.1", userAgent: headers["user-agent"] ?? "" },
      requestId: randomUUID(),
      routeKey,
      stage: "$default",
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    ...(body.length ? { body: textual ? body.toString("utf8") : body.toString("base64") } : {}),
    isBase64Encoded: body.length > 0 && !textual,
  };
}

/**
 * The HTTP API's CORS, as API Gateway applies a CORS configuration: it answers every
 * preflight itself (the integration never sees it) and adds the headers to the integration's
 * replies to a request from an origin.
 */
function preflight(cors: Cors): Record<string, string> {
  return {
    "access-control-allow-origin": cors.allowOrigins.join(","),
    "access-control-allow-methods": cors.allowMethods.join(","),
    "access-control-allow-headers": cors.allowHeaders.join(","),
    "access-control-max-age": String(cors.maxAgeSeconds),
  };
}
const corsReply = (cors: Cors): Record<string, string> => ({
  "access-control-allow-origin": cors.allowOrigins.join(","),
  "access-control-expose-headers": cors.exposeHeaders.join(","),
});

function send(res: ServerResponse, result: APIGatewayProxyResultV2, extra: Record<string, string> = {}): void {
  if (typeof result === "string") {
    res.writeHead(200, { "content-type": "application/json", ...extra }).end(result);
    return;
  }
  const headers: Record<string, string | string[]> = { ...extra };
  for (const [k, v] of Object.entries(result.headers ?? {})) headers[k] = String(v);
  if (result.cookies?.length) headers["set-cookie"] = result.cookies;
  const body = result.body ?? "";
  res.writeHead(result.statusCode ?? 200, headers).end(result.isBase64Encoded ? Buffer.from(body, "base64") : body);
}

/**
 * A local HTTP server shaped like API Gateway (HTTP API, payload v2): it matches the
 * routes infra declares, builds the v2 event and invokes the same Lambda handler.
 */
export function startGateway(
  routes: GatewayRoute[],
  port: number,
  host = "127.0.0.1",
  /** Served before any route when it answers true (the dashboard's static files). */
  site?: (req: IncomingMessage, res: ServerResponse) => boolean,
  /** The HTTP API's CORS configuration (infra/routes.ts CORS); the streaming routes answer their own, as the Stream function does behind the REST API. */
  cors?: Cors,
): Promise<Server> {
  const compiled = routes.map(compile);
  const fallback = compiled.find((r) => r.regex === null);
  const server = createServer(async (req, res) => {
    let match: { route: Compiled; params: Record<string, string> } | undefined;
    let extra: Record<string, string> = {};
    if (site?.(req, res)) return;
    try {
      const path = new URL(req.url ?? "/", "http://localhost").pathname;
      try {
        decodeURIComponent(path);
      } catch {
        // API Gateway refuses such a path too, before any route or integration.
        await readBody(req);
        send(res, gatewayError(400, "validation", "the request path has a malformed percent-escape"));
        return;
      }
      const isPreflight = req.method === "OPTIONS" && req.headers.origin !== undefined && req.headers["access-control-request-method"] !== undefined;
      for (const route of compiled) {
        // The REST API routes a stream path's preflight (OPTIONS) to the Stream function too.
        const method = route.streaming && req.method === "OPTIONS" ? route.method : req.method;
        if (!route.regex || (route.method !== "ANY" && route.method !== method)) continue;
        const m = route.regex.exec(path);
        if (m) {
          match = { route, params: Object.fromEntries(route.params.map((p, i) => [p, decodeURIComponent(m[i + 1]!)])) };
          break;
        }
      }
      if (!match && fallback) match = { route: fallback, params: {} };
      const http = cors && !match?.route.streaming ? cors : undefined;
      const body = await readBody(req);
      if (http && isPreflight) {
        res.writeHead(204, preflight(http)).end();
        return;
      }
      extra = http && req.headers.origin !== undefined ? corsReply(http) : {};
      if (!match) {
        send(res, gatewayError(404, "not_found", `no route ${req.method} ${path}`));
        return;
      }
      if (match.route.streaming && typeof body !== "string") {
        await serveStreaming(match.route.handler as StreamingHandler, match.route.name, req, res, match.route.path, match.params);
        return;
      }
      if (body === "too_large" || body === "too_large_cut") {
        // Connection: close, so the client's next request opens a fresh connection; the
        // body was read to its end (unless it was absurdly large), so nothing is reset.
        res.shouldKeepAlive = false;
        send(res, gatewayError(413, "payload_too_large", `request body exceeds ${MAX_BODY_BYTES} bytes`, { connection: "close" }), extra);
        if (body === "too_large_cut") res.once("finish", () => req.destroy());
        return;
      }
      const event = toEvent(req, body, match.route, match.params);
      send(res, await (match.route.handler as HttpHandler)(event, lambdaContext(match.route.name)), extra);
    } catch (err) {
      // What API Gateway answers when the integration throws.
      logger.error("handler threw", { handler: match?.route.name, ...errorFields(err) });
      if (res.headersSent) return void res.end();
      send(res, gatewayError(500, "internal", "internal error"), extra);
    }
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve(server));
  });
}
