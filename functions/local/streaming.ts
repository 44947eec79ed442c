import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { PassThrough } from "node:stream";
import type { APIGatewayProxyEvent } from "aws-lambda";
import { PRELUDE_END, type StreamingHandler } from "../live/lambda-stream.js";
import { lambdaContext } from "./gateway.js";

/**
 * What API Gateway's REST API does for a route whose integration streams
 * (`responseTransferMode: STREAM`): it sends a payload v1 proxy event, reads the
 * function's metadata prelude (JSON, then 8 NUL bytes) for the status and headers, and
 * passes the rest of the body to the client as it is written. The emulator serves the
 * Stream function's real handler this way.
 */
export function restEvent(req: IncomingMessage, resource: string, pathParameters: Record<string, string>): APIGatewayProxyEvent {
  const url = new URL(req.url ?? "/", "http://localhost");
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined) continue;
    headers[k] = Array.isArray(v) ? v.join(",") : v;
    multiValueHeaders[k] = Array.isArray(v) ? v : [v];
  }
  const query: Record<string, string> = {};
  const multiQuery: Record<string, string[]> = {};
  for (const [k, v] of url.searchParams) {
    query[k] = v;
    (multiQuery[k] ??= []).push(v);
  }
  const now = Date.now();
  return {
    resource,
    path: url.pathname,
    httpMethod: req.method ?? "GET",
    headers,
    multiValueHeaders,
    queryStringParameters: Object.keys(query).length ? query : null,
    multiValueQueryStringParameters: Object.keys(multiQuery).length ? multiQuery : null,
    pathParameters: Object.keys(pathParameters).length ? pathParameters : null,
    stageVariables: null,
    body: null,
    isBase64Encoded: false,
    requestContext: {
      accountId: "000000000000",
      apiId: "local",
      authorizer: null,
      protocol: `HTTP/${req.httpVersion}`,
      httpMethod: req.method ?? "GET",
      identity: { sourceIp: req.socket.remoteAddress ?? "127.0.0.1", userAgent: headers["user-agent"] ?? null } as APIGatewayProxyEvent["requestContext"]["identity"],
      path: `/local${url.pathname}`,
      stage: "local",
      requestId: randomUUID(),
      requestTimeEpoch: now,
      resourceId: "local",
      resourcePath: resource,
    },
  };
}

/** Invokes a streaming handler for one request and relays its stream to the client. */
export async function serveStreaming(handler: StreamingHandler, name: string, req: IncomingMessage, res: ServerResponse, resource: string, params: Record<string, string>): Promise<void> {
  const stream = new PassThrough();
  let head = Buffer.alloc(0);
  let started = false;
  stream.on("data", (chunk: Buffer) => {
    if (started) {
      res.write(chunk);
      return;
    }
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf(PRELUDE_END);
    if (end < 0) return;
    const meta = JSON.parse(head.subarray(0, end).toString("utf8")) as { statusCode?: number; headers?: Record<string, string>; cookies?: string[] };
    const headers: Record<string, string | string[]> = { ...meta.headers };
    if (meta.cookies?.length) headers["set-cookie"] = meta.cookies;
    res.writeHead(meta.statusCode ?? 200, headers);
    res.flushHeaders();
    started = true;
    const rest = head.subarray(end + PRELUDE_END.length);
    if (rest.length) res.write(rest);
  });
  // The client left: close the function's stream, as API Gateway does.
  res.once("close", () => stream.destroy());
  const done = new Promise<void>((resolve) => {
    stream.once("end", resolve);
    stream.once("close", resolve);
  });
  await handler(restEvent(req, resource, params), stream, lambdaContext(name));
  await done;
  if (!started && !res.headersSent) res.writeHead(502, { "content-type": "application/json" }).end(JSON.stringify({ message: "Internal server error" }));
  else res.end();
}
