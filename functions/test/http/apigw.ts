import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";

/**
 * An API Gateway HTTP API (payload format 2.0) event, as AWS delivers it: raw path and
 * query string, lower-cased headers, cookies split out, the body as a string.
 */
export function apiEvent(
  method: string,
  path: string,
  opts: { body?: unknown; rawBody?: string; headers?: Record<string, string>; key?: string; base64?: boolean } = {},
): APIGatewayProxyEventV2 {
  const [rawPath = path, rawQueryString = ""] = path.split("?");
  const body = opts.rawBody ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body));
  const headers: Record<string, string> = {
    accept: "application/json",
    host: "abc123.execute-api.eu-west-1.amazonaws.com",
    "user-agent": "vitest",
    "x-forwarded-proto": "https",
    ...(body !== undefined ? { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) } : {}),
    ...(opts.key ? { authorization: `Bearer ${opts.key}` } : {}),
    ...opts.headers,
  };
  const queryStringParameters = rawQueryString
    ? Object.fromEntries(new URLSearchParams(rawQueryString).entries())
    : undefined;
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath,
    rawQueryString,
    headers,
    ...(queryStringParameters ? { queryStringParameters } : {}),
    requestContext: {
      accountId: "123456789012",
      apiId: "abc123",
      domainName: "abc123.execute-api.eu-west-1.amazonaws.com",
      domainPrefix: "abc123",
      http: { method, path: rawPath, protocol: "HTTP/1.1", sourceIp: "203.0.113.7", userAgent: "vitest" },
      requestId: `req-${Math.random().toString(36).slice(2)}`,
      routeKey: "$default",
      stage: "$default",
      time: new Date().toUTCString(),
      timeEpoch: Date.now(),
    },
    ...(body !== undefined
      ? { body: opts.base64 ? Buffer.from(body).toString("base64") : body, isBase64Encoded: Boolean(opts.base64) }
      : { isBase64Encoded: false }),
  };
}

export interface Reply {
  status: number;
  headers: Record<string, unknown>;
  json: any;
}

export function reply(res: APIGatewayProxyResultV2): Reply {
  const r = res as APIGatewayProxyStructuredResultV2;
  const text = r.isBase64Encoded ? Buffer.from(r.body ?? "", "base64").toString() : (r.body ?? "");
  return { status: r.statusCode ?? 200, headers: r.headers ?? {}, json: text ? JSON.parse(text) : undefined };
}
